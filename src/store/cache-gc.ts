/**
 * `gigastt cache-gc`: reclaim disk in a model folder without touching a model
 * file. What the Rust gigastt prunes (2.15 `cache-gc`: stale ONNX Runtime
 * optimized graphs under `optimized_cache/`, `--dedupe` hardlinks of identical
 * files, `--dry-run`), plus what this server derives itself:
 *
 * - mapped layouts (`x.mapped.onnx` + `.data`, ./mapped.ts) whose source changed,
 *   is gone, or that an older layout version wrote, and a `.data` without its graph;
 * - staging files (`*.partial`: a download, a quantized encoder, a mapped layout)
 *   older than an hour: a crashed or killed writer's;
 * - `optimized_cache/*_optimized.onnx` of a Rust install, except the one Rust
 *   would open for the head it detects (nothing when it detects none).
 *
 * Never removed: an original model file, an int8 encoder, a fresh mapped layout,
 * the lock file, anything else. The run holds the folder's download lock, so no
 * download or other cache-gc runs meanwhile; a live holder stops it. Removed
 * files listed in `.gigastt-lock.json` leave it too.
 */
import { type Dirent, existsSync, linkSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { GigasttError, isGigasttError } from "../errors.ts";
import { RUST_HEADS } from "../model/head.ts";
import { builtinFileNames } from "./catalog.ts";
import { acquireDirLock } from "./dirlock.ts";
import { sha256File } from "./download.ts";
import { readLock, writeLock } from "./lockfile.ts";
import { mappedState, STALE_PARTIAL_MS } from "./mapped.ts";

export interface GcItem {
  readonly path: string;
  readonly bytes: number;
  readonly why: string;
}

export interface GcReport {
  readonly dryRun: boolean;
  readonly removed: GcItem[];
  /** derived files kept because they are in use or current */
  readonly kept: string[];
  /** things seen and deliberately not touched, with why */
  readonly leftAlone: GcItem[];
  dedupe: { groups: number; hardlinked: number; freedBytes: number } | null;
  readonly failed: GcItem[];
}

export interface GcOptions {
  readonly dryRun?: boolean;
  readonly dedupe?: boolean;
  readonly now?: () => number;
  /** wait this long for a download lock held by another process (default 0: refuse at once) */
  readonly lockWaitMs?: number;
}

const sizeOf = (p: string) => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};

const ORIGINALS = new Set<string>([...builtinFileNames(), ...RUST_HEADS.flatMap((h) => [h.encoder, h.encoderInt8, h.decoder, h.joint, h.vocab].filter((n): n is string => !!n))]);

export async function cacheGc(dir: string, opts: GcOptions = {}): Promise<GcReport> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new GigasttError("usage", `no model folder at ${dir}`);
  const now = opts.now ?? Date.now;
  const lock = await acquireDirLock(dir, { waitTimeoutMs: opts.lockWaitMs ?? 0, pollMs: 50 }).catch((e: unknown) => {
    throw new GigasttError("usage", `${dir} is in use by another gigastt (a download or another cache-gc): run cache-gc when it has finished${isGigasttError(e) ? ` (${e.message})` : ""}`);
  });
  const report: GcReport = { dryRun: opts.dryRun === true, removed: [], kept: [], leftAlone: [], dedupe: null, failed: [] };
  try {
    const remove = (path: string, why: string) => {
      if (ORIGINALS.has(basename(path))) return; // a model file is never removed, whatever its state
      const bytes = sizeOf(path);
      if (!report.dryRun) {
        try {
          rmSync(path, { force: true });
        } catch (e) {
          report.failed.push({ path, bytes, why: (e as NodeJS.ErrnoException).code ?? String(e) });
          return;
        }
      }
      report.removed.push({ path, bytes, why });
    };
    const names = readdirSync(dir);
    mappedLayouts(dir, names, report, remove);
    partials(dir, names, now(), report, remove);
    optimizedCache(dir, report, remove);
    if (existsSync(join(dir, "coreml_cache")))
      report.leftAlone.push({ path: join(dir, "coreml_cache"), bytes: 0, why: "the Rust server's Core ML cache: which version is current only that build knows (its own cache-gc prunes it)" });
    if (!report.dryRun) forgetInLock(dir, report.removed);
    if (opts.dedupe) report.dedupe = await dedupeDir(dir, report.dryRun);
  } finally {
    lock.release();
  }
  return report;
}

function mappedLayouts(dir: string, names: readonly string[], report: GcReport, remove: (p: string, why: string) => void): void {
  for (const n of names) {
    if (n.endsWith(".mapped.onnx")) {
      const source = join(dir, n.replace(/\.mapped\.onnx$/, ".onnx"));
      const state = mappedState(source);
      if (state.kind === "stale") {
        remove(state.paths.graph, `mapped layout: ${state.why}`);
        remove(state.paths.data, `mapped layout data: ${state.why}`);
      } else report.kept.push(join(dir, n));
    } else if (n.endsWith(".mapped.onnx.data") && !names.includes(n.slice(0, -".data".length))) {
      remove(join(dir, n), "mapped layout data without its graph");
    }
  }
}

function partials(dir: string, names: readonly string[], nowMs: number, report: GcReport, remove: (p: string, why: string) => void): void {
  for (const n of names) {
    if (!n.endsWith(".partial")) continue;
    const p = join(dir, n);
    let age: number;
    try {
      age = nowMs - statSync(p).mtimeMs;
    } catch {
      continue;
    }
    if (age >= STALE_PARTIAL_MS) remove(p, `unfinished write, untouched for ${Math.round(age / 60_000)} min`);
    else report.leftAlone.push({ path: p, bytes: sizeOf(p), why: "written in the last hour: another process may still be writing it" });
  }
}

/** Rust: keep `{stem of the encoder it would load}_optimized.onnx` for the head it detects (rnnt first, int8 preferred) */
function optimizedCache(dir: string, report: GcReport, remove: (p: string, why: string) => void): void {
  const cache = join(dir, "optimized_cache");
  let entries: Dirent[];
  try {
    entries = readdirSync(cache, { withFileTypes: true });
  } catch {
    return;
  }
  const head = RUST_HEADS.find((h) => existsSync(join(dir, h.encoder)) || existsSync(join(dir, h.encoderInt8)));
  const encoder = head ? (existsSync(join(dir, head.encoderInt8)) ? head.encoderInt8 : head.encoder) : null;
  if (!encoder) {
    report.leftAlone.push({ path: cache, bytes: 0, why: "no Rust head detected in the folder (as Rust: a half-installed folder's cache is kept)" });
    return;
  }
  const keep = `${encoder.replace(/\.onnx$/, "")}_optimized.onnx`;
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith("_optimized.onnx")) continue;
    if (e.name === keep) report.kept.push(join(cache, e.name));
    else remove(join(cache, e.name), `ONNX Runtime optimized graph the Rust server no longer opens (it opens ${keep})`);
  }
}

function forgetInLock(dir: string, removed: readonly GcItem[]): void {
  const lock = readLock(dir);
  if (!lock) return;
  const gone = new Set(removed.map((r) => basename(r.path)));
  const files = Object.fromEntries(Object.entries(lock.files).filter(([n]) => !gone.has(n)));
  if (Object.keys(files).length !== Object.keys(lock.files).length) writeLock(dir, { ...lock, files });
}

/** as Rust's `--dedupe`: identical files (SHA-256) under the folder become hardlinks of the first (sorted) */
async function dedupeDir(dir: string, dryRun: boolean): Promise<{ groups: number; hardlinked: number; freedBytes: number }> {
  const byHash = new Map<string, string[]>();
  const walk = async (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(".") || e.name.includes(".partial") || e.name.endsWith(".lock")) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const h = `${sizeOf(p)}:${await sha256File(p)}`;
        byHash.set(h, [...(byHash.get(h) ?? []), p]);
      }
    }
  };
  await walk(dir);
  const out = { groups: 0, hardlinked: 0, freedBytes: 0 };
  for (const paths of byHash.values()) {
    if (paths.length < 2) continue;
    paths.sort();
    out.groups++;
    const keep = paths[0]!;
    const k = statSync(keep);
    for (const other of paths.slice(1)) {
      const o = statSync(other);
      if (o.dev === k.dev && o.ino === k.ino) continue;
      if (!dryRun) {
        const tmp = `${other}.dedupe-${process.pid}`;
        renameSync(other, tmp);
        try {
          linkSync(keep, other);
          unlinkSync(tmp);
        } catch {
          renameSync(tmp, other); // another filesystem: keep the copy
          continue;
        }
      }
      out.hardlinked++;
      out.freedBytes += k.size;
    }
  }
  return out;
}
