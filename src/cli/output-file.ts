/** `transcribe -o FILE`: the transcript appears whole or not at all (a temporary file beside it, fsync, rename). */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { GigasttError } from "../errors.ts";

export function writeFileAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, "wx", 0o644);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOSPC") throw new GigasttError("disk_full", `not enough disk space to write ${path}`);
    throw new GigasttError("usage", `cannot write --output ${path}: ${code ?? (e instanceof Error ? e.message : String(e))}`);
  }
}
