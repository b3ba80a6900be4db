/**
 * Native files embedded in the single executable (onnxruntime's addon and
 * its shared library), extracted once to a versioned cache folder and loaded
 * with `process.dlopen`.
 *
 * `bun build --compile` embeds the addon but not the library it links
 * (RUNPATH `$ORIGIN` / `@loader_path`), so both are embedded as files and
 * written side by side. The build (scripts/compile.ts) generates a module
 * per target that lists the embedded files with their SHA-256 and swaps
 * onnxruntime-node's `dist/binding.js` `require` for `loadNativeAddon`.
 * Under `bun src/main.ts` none of this runs: onnxruntime-node loads from
 * node_modules as usual.
 *
 * Folder, first that works: `$GIGASTT_RUNTIME_DIR`, `$XDG_CACHE_HOME/gigastt/runtime`,
 * `$HOME/.cache/gigastt/runtime`, then a private temp folder (`<tmp>/gigastt-runtime-<uid>`
 * if it is ours and 0700, else a fresh mkdtemp one).
 * Inside it `<bundle id>/` holds the files. Existing files are used only when
 * their SHA-256 matches; new ones are written under a unique temp name and
 * renamed into place, so concurrent first runs never see a partial file. A
 * read-only, missing or empty HOME falls through to the next folder, and so
 * does a folder the addon cannot be loaded from (a `noexec` mount). Workers
 * in the same process find the folder through `GIGASTT_RUNTIME_DIR`, which
 * the first successful load sets. When no folder works the error is the
 * catalogue's `runtime_unavailable` (exit 1), naming every folder tried.
 *
 * Synchronous on purpose: onnxruntime-node requires its binding at import time.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir as osTmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { GigasttError } from "../errors.ts";

export interface EmbeddedFile {
  /** file name in the extraction folder (the name the addon links against) */
  readonly name: string;
  /** where the bytes are: a `/$bunfs/...` path inside the executable (any readable path in tests) */
  readonly path: string;
  /** lowercase hex SHA-256 of the bytes */
  readonly sha256: string;
  readonly size: number;
}

export interface NativeBundle {
  /** versioned folder name, e.g. `ort-1.30.0-linux-x64-<hash>` */
  readonly id: string;
  /** name of the addon among `files` */
  readonly addon: string;
  readonly files: readonly EmbeddedFile[];
}

export interface ExtractOptions {
  readonly env?: Record<string, string | undefined>;
  /** base for the last-resort private folder (default os.tmpdir()) */
  readonly tmpdir?: () => string;
  /**
   * Called with each folder once its files are in place (loadNativeAddon
   * dlopens the addon here); when it throws, the next folder is tried.
   */
  readonly use?: (dir: string) => void;
}

/** Env var naming the runtime root; set after the first successful extraction so Workers reuse it. */
export const RUNTIME_DIR_ENV = "GIGASTT_RUNTIME_DIR";

/** The executable's onnxruntime files cannot be extracted or loaded: `runtime_unavailable` (exit 1). */
export class NativeLoadError extends GigasttError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("runtime_unavailable", message, options);
  }
}

/** Candidate runtime roots in order of preference (the bundle folder goes inside). */
export function runtimeRoots(env: Record<string, string | undefined> = process.env): string[] {
  const roots: string[] = [];
  const usable = (p: string | undefined): p is string => typeof p === "string" && p.length > 0 && isAbsolute(p);
  if (usable(env[RUNTIME_DIR_ENV])) roots.push(env[RUNTIME_DIR_ENV]!);
  if (usable(env.XDG_CACHE_HOME)) roots.push(join(env.XDG_CACHE_HOME!, "gigastt", "runtime"));
  if (usable(env.HOME)) roots.push(join(env.HOME!, ".cache", "gigastt", "runtime"));
  return [...new Set(roots)];
}

/**
 * Private temp roots: `<tmp>/gigastt-runtime-<uid>` (reused across runs and
 * Workers, accepted only if it is a real folder owned by us with mode 0700),
 * else a fresh `mkdtemp` folder (always last).
 */
function privateTempRoots(tmp: () => string): (() => string)[] {
  const uid = typeof process.getuid === "function" ? process.getuid() : -1;
  const shared = () => {
    const root = join(tmp(), `gigastt-runtime-${uid}`);
    try {
      mkdirSync(root, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const st = lstatSync(root);
    if (!st.isDirectory() || st.isSymbolicLink() || (uid >= 0 && st.uid !== uid) || (st.mode & 0o077) !== 0)
      throw new NativeLoadError(`${root} is not a private folder of this user`);
    return root;
  };
  const fresh = () => mkdtempSync(join(tmp(), "gigastt-runtime-"));
  return uid >= 0 ? [shared, fresh] : [fresh];
}

/** Bundle id from the files' names and hashes (what the build embeds as `id`'s hash part). */
export function bundleHash(files: readonly Pick<EmbeddedFile, "name" | "sha256">[]): string {
  const h = createHash("sha256");
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) h.update(`${f.name}\0${f.sha256}\n`);
  return h.digest("hex").slice(0, 16);
}

function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function fileMatches(path: string, f: EmbeddedFile): boolean {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size !== f.size) return false;
    return sha256Of(readFileSync(path)) === f.sha256;
  } catch {
    return false;
  }
}

/** True when every file of the bundle is present in `dir` with the right hash. */
export function isExtracted(dir: string, bundle: NativeBundle): boolean {
  return bundle.files.every((f) => fileMatches(join(dir, f.name), f));
}

function readEmbedded(f: EmbeddedFile): Uint8Array {
  const bytes = readFileSync(f.path);
  if (bytes.length !== f.size || sha256Of(bytes) !== f.sha256)
    throw new NativeLoadError(`embedded ${f.name} is corrupt (hash mismatch): the executable is damaged, download it again`);
  return bytes;
}

function writeAtomic(dir: string, name: string, bytes: Uint8Array): void {
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, "wx", 0o755);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, join(dir, name));
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes the missing or damaged files of `bundle` into `dir` (created 0700). Throws on any fs error. */
function extractInto(dir: string, bundle: NativeBundle, cache: Map<string, Uint8Array>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of bundle.files) {
    const target = join(dir, f.name);
    if (fileMatches(target, f)) continue;
    let bytes = cache.get(f.name);
    if (!bytes) {
      bytes = readEmbedded(f);
      cache.set(f.name, bytes);
    }
    writeAtomic(dir, f.name, bytes);
    if (!fileMatches(target, f)) throw new NativeLoadError(`${target} does not match after writing`);
  }
}

/** An errno code (`EACCES`) when there is one, else the first line of the message (dlopen errors). */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === "string" && /^E[A-Z0-9]+$/.test(err.code)) return err.code;
  return String(err?.message ?? e).split("\n")[0]!;
}

/**
 * Makes sure the bundle's files exist, verified, in a runtime folder and
 * returns that folder (`<root>/<bundle id>`). Throws `runtime_unavailable`
 * when no folder can hold them (or, with `use`, load them).
 */
export function extractNative(bundle: NativeBundle, opts: ExtractOptions = {}): string {
  const env = opts.env ?? process.env;
  const cache = new Map<string, Uint8Array>();
  const failures: string[] = [];
  const attempt = (dir: () => string, label: (d: string | null) => string): string | null => {
    let d: string | null = null;
    try {
      d = dir();
      if (!isExtracted(d, bundle)) extractInto(d, bundle, cache);
      opts.use?.(d);
      return d;
    } catch (e) {
      if (e instanceof NativeLoadError && e.message.startsWith("embedded")) throw e;
      const why = reason(e);
      failures.push(why.startsWith(`${label(d)}/`) ? why : `${label(d)}: ${why}`);
      return null;
    }
  };
  for (const root of runtimeRoots(env)) {
    const dir = join(root, bundle.id);
    const got = attempt(() => dir, () => dir);
    if (got) return got;
  }
  // last resort: a private folder of our own under the temp dir
  const roots = privateTempRoots(opts.tmpdir ?? osTmpdir);
  for (const [i, root] of roots.entries()) {
    let made: string | null = null;
    const got = attempt(() => join((made = root()), bundle.id), (d) => d ?? "temp");
    if (got) return got;
    // a fresh mkdtemp folder that did not work is not left behind
    if (made && i === roots.length - 1) rmSync(made, { recursive: true, force: true });
  }
  throw new NativeLoadError(
    `cannot extract and load the onnxruntime native files in any folder (${failures.join("; ")}); set ${RUNTIME_DIR_ENV} to a writable folder that allows executables`,
  );
}

/**
 * Extracts (if needed) and loads the bundle's addon with `process.dlopen`;
 * returns its exports. Sets `GIGASTT_RUNTIME_DIR` so Workers started later
 * in this process reuse the same folder.
 */
export function loadNativeAddon(bundle: NativeBundle, opts: ExtractOptions = {}): unknown {
  const env = opts.env ?? process.env;
  const mod: { exports: unknown } = { exports: {} };
  const dir = extractNative(bundle, {
    ...opts,
    env,
    use: (d) => process.dlopen(mod as Parameters<typeof process.dlopen>[0], join(d, bundle.addon)),
  });
  const root = join(dir, "..");
  if (env === process.env && process.env[RUNTIME_DIR_ENV] !== root) process.env[RUNTIME_DIR_ENV] = root;
  return mod.exports;
}
