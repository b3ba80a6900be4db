/**
 * What a model dir holds, file by file, judged against the catalog and the lock file
 * (the model-dir rules; no hashing and no network here):
 * - `locked`:   listed in the lock with the size on disk → use (the lock is authoritative: a file it
 *               records from another origin, e.g. `download --manifest` of a mirror or a newer
 *               revision, is used too; `otherVersion` marks it so the caller can say so)
 * - `stale`:    listed in the lock but the size on disk differs → re-download (never used)
 * - `unlocked`: not in the lock, catalog name and catalog size → hash once, then lock
 * - `foreign`:  not in the lock and no catalog size to match → used as is, unverified (one warning)
 * - `missing`:  absent → download
 */
import { regularFile } from "../model/files.ts";
import { join } from "node:path";
import type { Catalog, CatalogFile } from "./catalog.ts";
import { type LockEntry, type ModelLock, readLock } from "./lockfile.ts";

export type FileState =
  | { readonly kind: "locked"; readonly file: CatalogFile; readonly entry: LockEntry; readonly otherVersion?: true }
  | { readonly kind: "stale"; readonly file: CatalogFile; readonly why: string }
  | { readonly kind: "unlocked"; readonly file: CatalogFile; readonly size: number }
  | { readonly kind: "foreign"; readonly file: CatalogFile; readonly path: string; readonly size: number }
  | { readonly kind: "missing"; readonly file: CatalogFile };

export interface DirState {
  readonly dir: string;
  readonly lock: ModelLock | null;
  readonly files: readonly FileState[];
}

function fileSize(p: string): number | undefined {
  return regularFile(p)?.size;
}

export function inspectFile(dir: string, file: CatalogFile, lock: ModelLock | null): FileState {
  const size = fileSize(join(dir, file.name));
  const entry = lock?.files[file.name];
  if (size === undefined) {
    for (const alias of file.aliases ?? []) {
      const s = fileSize(join(dir, alias));
      if (s !== undefined) return { kind: "foreign", file, path: join(dir, alias), size: s };
    }
    return { kind: "missing", file };
  }
  if (entry) {
    if (entry.size !== size) return { kind: "stale", file, why: `size on disk ${size} bytes, the lock file says ${entry.size}` };
    const other = (file.sha256 !== undefined && file.sha256 !== entry.sha256) || (file.size !== undefined && file.size !== entry.size);
    return { kind: "locked", file, entry, ...(other ? { otherVersion: true as const } : {}) };
  }
  if (file.size !== undefined && file.size === size && file.sha256) return { kind: "unlocked", file, size };
  return { kind: "foreign", file, path: join(dir, file.name), size };
}

export function inspectDir(dir: string, catalog: Catalog): DirState {
  const lock = readLock(dir);
  return { dir, lock, files: catalog.files.map((f) => inspectFile(dir, f, lock)) };
}

/** Files that must be fetched (missing or stale). */
export function toDownload(state: DirState): CatalogFile[] {
  return state.files.filter((f) => f.kind === "missing" || f.kind === "stale").map((f) => f.file);
}
