/**
 * `models verify`: full SHA-256 of every file the lock lists, and of the catalog's files the
 * lock does not list (against the catalog's hash). Read-only.
 */
import { regularFile } from "../model/files.ts";
import { join, resolve } from "node:path";
import type { Catalog } from "./catalog.ts";
import { sha256File } from "./download.ts";
import { readLock } from "./lockfile.ts";

export type VerifyStatus = "ok" | "mismatch" | "missing" | "unverifiable";

export interface VerifyEntry {
  readonly name: string;
  readonly status: VerifyStatus;
  /** where the expected hash came from */
  readonly against?: "lock" | "catalog";
  readonly expected?: string;
  readonly actual?: string;
  readonly size?: number;
  readonly expectedSize?: number;
  /** the other name the file is present under (catalog alias) */
  readonly alias?: string;
}

export interface VerifyResult {
  readonly dir: string;
  readonly ok: boolean;
  readonly entries: readonly VerifyEntry[];
}

function sizeOf(p: string): number | undefined {
  return regularFile(p)?.size;
}

export async function verifyModel(modelDir: string, catalog: Catalog, onFile?: (name: string) => void): Promise<VerifyResult> {
  const dir = resolve(modelDir);
  const lock = readLock(dir);
  const names = [...new Set([...Object.keys(lock?.files ?? {}), ...catalog.files.map((f) => f.name)])];
  const entries: VerifyEntry[] = [];
  for (const name of names) {
    const p = join(dir, name);
    const size = sizeOf(p);
    const locked = lock?.files[name];
    const cat = catalog.files.find((f) => f.name === name);
    const expected = locked?.sha256 ?? cat?.sha256;
    const expectedSize = locked?.size ?? cat?.size;
    const against = locked ? "lock" : "catalog";
    const alias = size === undefined && !locked ? cat?.aliases?.find((a) => sizeOf(join(dir, a)) !== undefined) : undefined;
    if (alias !== undefined) {
      // e.g. the Rust server's own int8 encoder: used in place of the catalog's file, but nothing to check it against
      entries.push({ name, status: "unverifiable", size: sizeOf(join(dir, alias)), alias });
      continue;
    }
    if (size === undefined) {
      entries.push({ name, status: "missing", against, ...(expected ? { expected } : {}), ...(expectedSize !== undefined ? { expectedSize } : {}) });
      continue;
    }
    if (!expected) {
      entries.push({ name, status: "unverifiable", size });
      continue;
    }
    onFile?.(name);
    const actual = await sha256File(p);
    const good = actual === expected && (expectedSize === undefined || expectedSize === size);
    entries.push({ name, status: good ? "ok" : "mismatch", against, expected, actual, size, ...(expectedSize !== undefined ? { expectedSize } : {}) });
  }
  return { dir, ok: entries.every((e) => e.status === "ok"), entries };
}
