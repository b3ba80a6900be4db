/**
 * `.gigastt-lock.json` beside the model: `{ repo, revision, files: { name: { size, sha256 } } }`.
 * Authoritative for the files it lists: their size is checked at load, their hash by `models verify`.
 * Written atomically (temp file, fsync, rename).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { GigasttError } from "../errors.ts";

export const LOCK_FILE = ".gigastt-lock.json";

export interface LockEntry {
  readonly size: number;
  readonly sha256: string;
}

export interface ModelLock {
  readonly repo: string;
  readonly revision: string;
  readonly files: Readonly<Record<string, LockEntry>>;
}

export function lockPath(dir: string): string {
  return join(dir, LOCK_FILE);
}

/** The lock of a model dir, or null when there is none. A corrupt lock is an error naming the file. */
export function readLock(dir: string): ModelLock | null {
  const p = lockPath(dir);
  let text: string;
  try {
    text = readFileSync(p, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new GigasttError("model_invalid", `cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const invalid = (why: string) =>
    new GigasttError("model_invalid", `${p} is not a valid lock file (${why}); delete it and run 'gigastt models verify' or 'gigastt download'`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid("not JSON");
  }
  const o = raw as Record<string, unknown>;
  if (typeof o !== "object" || o === null || typeof o.repo !== "string" || typeof o.revision !== "string" || typeof o.files !== "object" || o.files === null)
    throw invalid("expected repo, revision and files");
  const files: Record<string, LockEntry> = {};
  for (const [name, v] of Object.entries(o.files as Record<string, unknown>)) {
    const e = v as Record<string, unknown>;
    if (typeof e !== "object" || e === null || typeof e.size !== "number" || typeof e.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.sha256))
      throw invalid(`bad entry for ${name}`);
    files[name] = Object.freeze({ size: e.size, sha256: e.sha256 });
  }
  return Object.freeze({ repo: o.repo, revision: o.revision, files: Object.freeze(files) });
}

/** Atomically writes the lock (keys sorted, so diffs are stable). */
export function writeLock(dir: string, lock: ModelLock): void {
  const p = lockPath(dir);
  const tmp = `${p}.${process.pid}.tmp`;
  const files: Record<string, LockEntry> = {};
  for (const name of Object.keys(lock.files).sort()) files[name] = { size: lock.files[name]!.size, sha256: lock.files[name]!.sha256 };
  const text = `${JSON.stringify({ repo: lock.repo, revision: lock.revision, files }, null, 2)}\n`;
  try {
    const fd = openSync(tmp, "w", 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, p);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EDQUOT")
      throw new GigasttError("disk_full", `cannot write ${p}: no space left on the device`, { details: { dir, errno: code } });
    throw new GigasttError("model_invalid", `cannot write ${p}: ${code ?? (e as Error).message}`, { details: { dir, errno: code } });
  }
  fsyncDir(dir);
}

/** Records verified files (merging with what the lock already lists). */
export function recordInLock(dir: string, origin: { repo: string; revision: string }, entries: Record<string, LockEntry>): ModelLock {
  const prev = readLock(dir);
  const next: ModelLock = { repo: origin.repo, revision: origin.revision, files: { ...(prev?.files ?? {}), ...entries } };
  writeLock(dir, next);
  return next;
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some platforms/filesystems cannot fsync a directory; the rename is still atomic
  }
}
