/**
 * `ensureModel`: make the model dir hold a verified model of the chosen precision, then
 * select its files. Verifies/locks what is there, downloads only what is missing (or stale),
 * under an exclusive per-dir lock, with progress on stderr.
 */
import { existsSync, mkdirSync, readdirSync, statfsSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join, resolve } from "node:path";
import { GigasttError, isGigasttError } from "../errors.ts";
import { MODEL_FILE_NAMES, type ModelFiles, selectModelFiles } from "../model/files.ts";
import type { Precision } from "../types.ts";
import { type Catalog, type CatalogFile, builtinCatalog, fileUrl, INT8_FILES, loadManifest, modelSizeText } from "./catalog.ts";
import { type DirLock, acquireDirLock } from "./dirlock.ts";
import { DEFAULT_NET, type NetOptions, downloadFile, interruptedError, partialPath, sha256File } from "./download.ts";
import { type Env, hfEndpoint, hfToken } from "./env.ts";
import { NoRouteError } from "./http.ts";
import { type DirState, inspectDir, toDownload } from "./inspect.ts";
import { LOCK_FILE, type LockEntry, recordInLock } from "./lockfile.ts";
import { leanInt8Encoder, otherHeadsNote } from "./rust-folder.ts";
import { createLogProgress, createProgress, formatBytes, type ProgressSink } from "./progress.ts";

/** Structured output (e.g. `serve`'s logger): warnings, notices and progress become log events. */
export interface StoreLog {
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
}

export interface EnsureOptions {
  readonly modelDir: string;
  readonly precision: Precision;
  readonly offline?: boolean;
  /** path of a manifest JSON replacing the built-in catalog */
  readonly manifest?: string;
  readonly quiet?: boolean;
  readonly env?: Env;
  /** a ready catalog (wins over `manifest`) */
  readonly catalog?: Catalog;
  /** network timeouts/retry policy overrides (tests use short ones) */
  readonly net?: Partial<NetOptions>;
  /** stderr writer (progress, notices, warnings) when there is no `log` */
  readonly stderr?: (s: string) => void;
  /** log events instead of stderr text (`serve`: one JSON object per line in JSON mode, levels apply) */
  readonly log?: StoreLog;
  /** text mode: print `warning:` lines (default true; the CLI passes false for --log-level error|silent) */
  readonly warnings?: boolean;
  /** draw a live progress bar (default: stderr is a TTY) */
  readonly tty?: boolean;
  readonly freeBytes?: (dir: string) => number;
  readonly lockPollMs?: number;
  /** stops waiting and downloading (a partial is kept for the next run); e.g. `serve` on SIGTERM */
  readonly signal?: AbortSignal;
}

export interface SyncReport {
  readonly dir: string;
  readonly catalog: Catalog;
  /** files fetched in this run */
  readonly downloaded: readonly string[];
  /** files hashed against the catalog in this run (and added to the lock, unless the dir is not writable) */
  readonly adopted: readonly string[];
  /** files used as is without verification */
  readonly unverified: readonly string[];
}

export function defaultFreeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export function catalogFor(opts: Pick<EnsureOptions, "catalog" | "manifest" | "precision">): Catalog {
  return opts.catalog ?? (opts.manifest ? loadManifest(opts.manifest) : builtinCatalog(opts.precision));
}

function listing(dir: string, catalog: Catalog, base: string, files: readonly CatalogFile[]): string {
  const lines = files.map((f) => {
    const size = f.size ?? f.approxSize;
    return `  ${f.name}${size !== undefined ? ` (${f.size === undefined ? "~" : ""}${formatBytes(size)})` : ""}\n    ${fileUrl(base, catalog, f.name)}`;
  });
  return `missing model files (download each URL into ${dir}):\n${lines.join("\n")}`;
}

/** What else a user without the network (or behind a firewall) can do. */
function offlineOptions(catalog: Catalog): string {
  const lines = [`or set HF_ENDPOINT to a Hugging Face mirror you can reach (files are {HF_ENDPOINT}/${catalog.repo}/resolve/${catalog.revision}/{file})`];
  if (catalog.source === "builtin" && catalog.files !== INT8_FILES)
    lines.push(`or use the smaller int8 set (${modelSizeText("int8")} instead of ${modelSizeText("fp32")}): --precision int8 (GIGASTT_PRECISION=int8)`);
  return lines.map((l) => `  ${l}`).join("\n");
}

function offlineError(dir: string, catalog: Catalog, base: string, files: readonly CatalogFile[], why: string): GigasttError {
  return new GigasttError("offline", `${why}\n${listing(dir, catalog, base, files)}\n${offlineOptions(catalog)}`, {
    details: { dir, missing: files.map((f) => f.name), urls: files.map((f) => fileUrl(base, catalog, f.name)) },
  });
}

interface Output {
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** progress-like notices (verifying, resuming, retrying); silenced by `quiet` */
  notice(msg: string, fields?: Record<string, unknown>): void;
  /** waiting for another process's download (shown even with `quiet`: the wait could look like a hang) */
  waiting(msg: string, fields?: Record<string, unknown>): void;
  progress(): ProgressSink;
}

function outputOf(opts: EnsureOptions): Output {
  const quiet = opts.quiet ?? false;
  const log = opts.log;
  if (log) {
    return {
      warn: (m, f) => log.warn(m, f),
      notice: quiet ? () => {} : (m, f) => log.info(m, f),
      waiting: (m, f) => log.info(m, f),
      progress: () => (quiet ? createProgress({ write: () => {}, tty: false, quiet: true }) : createLogProgress(log)),
    };
  }
  const stderr = opts.stderr ?? ((s: string) => void process.stderr.write(s));
  const warnings = opts.warnings ?? true;
  return {
    warn: warnings ? (m) => stderr(`warning: ${m}\n`) : () => {},
    notice: quiet ? () => {} : (m) => stderr(`${m}\n`),
    waiting: (m) => stderr(`${m}\n`),
    progress: () => createProgress({ write: stderr, tty: opts.tty ?? Boolean(process.stderr.isTTY), quiet }),
  };
}

/** Removes `<file>.partial.<pid>.<nanos>` staging files left by a crashed Rust gigastt. */
function removeForeignPartials(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /\.partial\.(\d+)\.\d+$/.exec(n);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === "EPERM";
    }
    if (!alive) {
      try {
        unlinkSync(join(dir, n));
      } catch {}
    }
  }
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new GigasttError(code === "ENOSPC" || code === "EDQUOT" ? "disk_full" : "model_invalid", `cannot create the model directory ${dir}: ${code ?? (e as Error).message}`);
  }
}

/** Fails with the numbers when the files still to fetch (less their partials) do not fit. */
function checkFreeSpace(dir: string, fetch: readonly CatalogFile[], freeBytes: (dir: string) => number): void {
  let need = 0;
  for (const f of fetch) {
    const size = f.size ?? f.approxSize ?? 0;
    const part = Bun.file(partialPath(dir, f.name)).size;
    need += Math.max(0, size - (part <= size ? part : 0));
  }
  const free = freeBytes(dir);
  if (need > free)
    throw new GigasttError(
      "disk_full",
      `not enough disk space in ${dir}: the model needs ${formatBytes(need)} (${need} bytes) more, ${formatBytes(free)} (${free} bytes) free`,
      { details: { dir, needBytes: need, freeBytes: free } },
    );
}

const READ_ONLY = new Set(["EROFS", "EACCES", "EPERM"]);

/** The dir lock, or the errno code when the model dir is not writable (read-only mount, other owner). */
async function lockUnlessReadOnly(dir: string, opts: Parameters<typeof acquireDirLock>[1]): Promise<DirLock | string> {
  try {
    return await acquireDirLock(dir, opts);
  } catch (e) {
    const code = isGigasttError(e) ? e.details.errno : undefined;
    if (typeof code === "string" && READ_ONLY.has(code)) return code;
    throw e;
  }
}

/**
 * A model dir this process cannot write to (e.g. a folder the Rust server filled, mounted
 * read-only): nothing can be downloaded or locked, but catalog-sized files are still hashed
 * against the catalog (on every start, since the result cannot be recorded) and then used.
 */
async function verifyReadOnly(dir: string, catalog: Catalog, base: string, state: DirState, code: string, notice: (s: string) => void, signal?: AbortSignal): Promise<string[]> {
  const fetch = toDownload(state);
  if (fetch.length > 0) throw new GigasttError("model_invalid", `cannot download into ${dir}: the directory is not writable (${code})\n${listing(dir, catalog, base, fetch)}`);
  const verified: string[] = [];
  for (const f of state.files) {
    if (f.kind !== "unlocked") continue;
    if (signal?.aborted) throw interruptedError(f.file.name);
    notice(`verifying ${f.file.name} (${formatBytes(f.size)}) against the pinned SHA-256 (${dir} is not writable (${code}), so this is not recorded and happens on every start)...`);
    const digest = await sha256File(join(dir, f.file.name));
    if (digest !== f.file.sha256)
      throw new GigasttError("checksum_mismatch", `${f.file.name} in ${dir} does not match the pinned SHA-256 (got ${digest}) and the directory is not writable (${code}) to download it again`, {
        details: { file: f.file.name, dir },
      });
    verified.push(f.file.name);
  }
  return verified;
}

/**
 * Offline, an int8 graph whose file is missing falls back to its fp32 file when that one is
 * present (the model loader picks per graph: `X.int8.onnx` when present, else `X.onnx`), e.g. a
 * folder the Rust gigastt filled (fp32 graphs + its own int8 encoder). One warning line names them.
 * Online the int8 files are downloaded instead.
 */
function withFp32Fallbacks(dir: string, state: DirState, warn: Output["warn"]): DirState {
  const fallback = state.files.filter(
    (f) => f.kind === "missing" && f.file.name.endsWith(".int8.onnx") && existsSync(join(dir, f.file.name.replace(/\.int8\.onnx$/, ".onnx"))),
  );
  if (fallback.length === 0) return state;
  const names = fallback.map((f) => f.file.name);
  warn(`offline and ${names.join(", ")} not in ${dir}: using the fp32 file of ${names.length === 1 ? "that graph" : "those graphs"} instead`, { dir, files: names });
  return { ...state, files: state.files.filter((f) => !names.includes(f.file.name)) };
}

/** Verifies, locks and downloads; returns what happened. Does not pick the files to load. */
export async function syncModel(opts: EnsureOptions): Promise<SyncReport> {
  const env = opts.env ?? process.env;
  const dir = resolve(opts.modelDir);
  const catalog = catalogFor(opts);
  const base = hfEndpoint(env);
  const out = outputOf(opts);
  const notice = (s: string) => out.notice(s);
  const freeBytes = opts.freeBytes ?? defaultFreeBytes;
  const net: NetOptions = { ...DEFAULT_NET, ...opts.net };

  let state: DirState = inspectDir(dir, catalog);
  if (opts.offline) state = withFp32Fallbacks(dir, state, out.warn);
  const downloaded: string[] = [];
  const adopted: string[] = [];
  const needsWork = (s: DirState) => s.files.some((f) => f.kind !== "locked" && f.kind !== "foreign");

  if (needsWork(state)) {
    const missing = toDownload(state);
    if (missing.length > 0 && opts.offline)
      throw offlineError(dir, catalog, base, missing, `the model is not installed in ${dir} and downloads are disabled (--offline / GIGASTT_OFFLINE)`);
    ensureDir(dir);
    // free-space check for everything still to fetch, before the first byte (and before the lock)
    if (missing.length > 0) checkFreeSpace(dir, missing, freeBytes);
    const lock = await lockUnlessReadOnly(dir, {
      pollMs: opts.lockPollMs,
      signal: opts.signal,
      onAbort: () => interruptedError(catalog.repo),
      onWait: (o) =>
        out.waiting(
          `another gigastt process${o ? ` (pid ${o.pid}${o.host !== hostname() ? ` on ${o.host}` : ""})` : ""} is downloading the model into ${dir}; waiting for it to finish...`,
          { dir, ...(o ? { pid: o.pid, host: o.host } : {}) },
        ),
    });
    if (typeof lock === "string") {
      adopted.push(...(await verifyReadOnly(dir, catalog, base, state, lock, notice, opts.signal)));
      state = { ...state, files: state.files.filter((f) => !(f.kind === "unlocked" && adopted.includes(f.file.name))) };
    } else {
      try {
        state = inspectDir(dir, catalog); // another process may have done the work meanwhile
        removeForeignPartials(dir);
        const redo: CatalogFile[] = [];
        // catalog-sized files without a lock entry: hash once against the catalog, then lock
        for (const f of state.files) {
          if (f.kind !== "unlocked") continue;
          if (opts.signal?.aborted) throw interruptedError(f.file.name);
          notice(`verifying ${f.file.name} (${formatBytes(f.size)}) against the pinned SHA-256...`);
          const digest = await sha256File(join(dir, f.file.name));
          if (digest === f.file.sha256) {
            recordInLock(dir, catalog, { [f.file.name]: { size: f.size, sha256: digest } });
            adopted.push(f.file.name);
          } else {
            out.warn(`${f.file.name} in ${dir} does not match the pinned SHA-256 (got ${digest}); it will be downloaded again`, { file: f.file.name, dir });
            redo.push(f.file);
          }
        }
        for (const f of state.files) if (f.kind === "stale") notice(`${f.file.name}: ${f.why}; downloading it again`);
        const fetch = [...toDownload(state), ...redo];
        if (fetch.length > 0 && opts.offline) {
          const bad = redo.map((f) => f.name);
          if (bad.length > 0 && fetch.length === bad.length)
            throw new GigasttError("checksum_mismatch", `${bad.join(", ")} in ${dir} failed the SHA-256 check and downloads are disabled (--offline)`);
          throw offlineError(dir, catalog, base, fetch, `the model is not complete in ${dir} and downloads are disabled (--offline / GIGASTT_OFFLINE)`);
        }
        if (fetch.length > 0) {
          checkFreeSpace(dir, fetch, freeBytes); // again: the files adopted or fetched by another process meanwhile
          const progress = out.progress();
          const authOrigin = new URL(base).origin;
          const token = hfToken(env);
          const waited = { ms: 0 }; // one retry-waiting budget for the whole run
          for (let i = 0; i < fetch.length; i++) {
            const f = fetch[i]!;
            const url = fileUrl(base, catalog, f.name);
            let result: { size: number; sha256: string };
            try {
              result = await downloadFile({
                url,
                dir,
                name: f.name,
                size: f.size,
                sha256: f.sha256,
                env,
                token,
                authOrigin,
                net,
                progress,
                freeBytes,
                notice,
                waited,
                signal: opts.signal,
              });
            } catch (e) {
              if (e instanceof NoRouteError)
                throw offlineError(dir, catalog, base, fetch.slice(i), `cannot download the model: ${e.message}`);
              throw e;
            }
            const entry: LockEntry = { size: result.size, sha256: result.sha256 };
            recordInLock(dir, catalog, { [f.name]: entry });
            downloaded.push(f.name);
          }
        }
        state = inspectDir(dir, catalog);
      } finally {
        lock.release();
      }
    }
  }
  const other = state.files.filter((f) => f.kind === "locked" && f.otherVersion).map((f) => f.file.name);
  if (other.length > 0)
    out.warn(
      `using ${other.join(", ")} as recorded in ${join(dir, LOCK_FILE)}, another version than the ${catalog.source === "builtin" ? "built-in catalog's" : `one in ${catalog.source}`} (delete them to download that one)`,
      { dir, files: other, lock: join(dir, LOCK_FILE) },
    );
  const unverified = state.files.filter((f) => f.kind === "foreign");
  if (unverified.length > 0)
    out.warn(`using unverified model files in ${dir} (no lock entry, not the catalog's size): ${unverified.map((f) => (f.kind === "foreign" ? basename(f.path) : "")).join(", ")}`, {
      dir,
      files: unverified.map((f) => (f.kind === "foreign" ? basename(f.path) : f.file.name)),
    });
  const left = state.files.filter((f) => f.kind !== "locked" && f.kind !== "foreign");
  if (left.length > 0) throw new GigasttError("model_invalid", `model files still not ready in ${dir}: ${left.map((f) => f.file.name).join(", ")}`);
  return { dir, catalog, downloaded, adopted, unverified: unverified.map((f) => (f.kind === "foreign" ? basename(f.path) : f.file.name)) };
}

/**
 * Ensures the model (verify/lock/download), then selects the files of `precision` to load.
 * A folder the Rust gigastt filled (./rust-folder.ts): its lean INT8 e2e_rnnt set runs on its
 * int8 encoder (the other graphs as they are there, fp32 or int8) instead of fetching the fp32
 * encoder; its other heads are named in one line (a warning before a download, or in the
 * offline error).
 */
export async function ensureModel(opts: EnsureOptions): Promise<ModelFiles> {
  const dir = resolve(opts.modelDir);
  const catalog = catalogFor(opts);
  const lean = opts.precision === "fp32" && catalog.files.some((f) => f.name === MODEL_FILE_NAMES.encoder) ? leanInt8Encoder(dir) : null;
  if (lean) {
    outputOf(opts).warn(`${dir} holds the int8 encoder ${lean} without the fp32 one (the Rust gigastt's lean set): using it, as --precision int8 would (\`gigastt download\` fetches the fp32 encoder, ${modelSizeText("fp32")} in all)`, { dir, encoder: lean });
    await syncModel({ ...opts, catalog: { ...catalog, files: catalog.files.filter((f) => f.name !== MODEL_FILE_NAMES.encoder) } });
    return selectModelFiles(dir, "int8");
  }
  const note = otherHeadsNote(dir);
  if (note && !opts.offline) outputOf(opts).warn(`${note}; downloading the e2e_rnnt head now`, { dir });
  try {
    await syncModel(opts);
  } catch (e) {
    if (note && isGigasttError(e) && e.code === "offline") throw new GigasttError("offline", `${note}.\n${e.message}`, { details: e.details, cause: e });
    throw e;
  }
  return selectModelFiles(dir, opts.precision);
}
