/**
 * The files beside the jobs database, each written atomically:
 *
 *   <dir>/jobs.db              state (see db.ts)
 *   <dir>/audio/<id>           the upload, exactly as received
 *   <dir>/results/<id>.json    the finished transcript
 *   <dir>/tmp/                 uploads and results being written
 *
 * An upload is streamed into tmp/ (never held in memory) while its SHA-256 is
 * computed, fsynced, renamed into audio/ and the directory fsynced, all before
 * its row is committed; a crash in between leaves only files without a row,
 * which the next start deletes. Out of space (ENOSPC/EDQUOT) is `disk_full`
 * and the partial file is removed.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { GigasttError, isGigasttError } from "../errors.ts";

/** the part of a node FileHandle an upload needs (tests inject a full disk) */
export interface WritableFile {
  write(chunk: Uint8Array): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface JobsFs {
  create(path: string): Promise<WritableFile>;
}

export const NODE_FS: JobsFs = {
  async create(path) {
    const h = await open(path, "wx", 0o600);
    return {
      write: (chunk) => h.write(chunk),
      sync: () => h.sync(),
      close: () => h.close(),
    };
  },
};

export class JobsLayout {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }
  get audioDir(): string {
    return join(this.dir, "audio");
  }
  get resultsDir(): string {
    return join(this.dir, "results");
  }
  get tmpDir(): string {
    return join(this.dir, "tmp");
  }
  audio(id: string): string {
    return join(this.audioDir, id);
  }
  result(id: string): string {
    return join(this.resultsDir, `${id}.json`);
  }
  tmp(name: string): string {
    return join(this.tmpDir, name);
  }

  /** create the folders (0700: transcripts are private) */
  ensure(): void {
    try {
      for (const d of [this.dir, this.audioDir, this.resultsDir, this.tmpDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw fsError(e, `cannot create the jobs directory '${this.dir}'`);
    }
  }

  /** delete what a crash left: every tmp file, and audio/results without a row */
  sweep(known: ReadonlySet<string>): number {
    let removed = 0;
    for (const name of safeList(this.tmpDir)) removed += removeQuiet(join(this.tmpDir, name));
    for (const name of safeList(this.audioDir)) if (!known.has(name)) removed += removeQuiet(join(this.audioDir, name));
    for (const name of safeList(this.resultsDir)) if (!known.has(name.replace(/\.json$/, ""))) removed += removeQuiet(join(this.resultsDir, name));
    return removed;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** 1 when something was removed */
export function removeQuiet(path: string): number {
  try {
    rmSync(path, { force: true });
    return 1;
  } catch {
    return 0;
  }
}

export function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

function fsError(e: unknown, what: string): GigasttError {
  if (isGigasttError(e)) return e;
  if (isDiskFull(e)) return new GigasttError("disk_full", "Not enough disk space to store the job", { cause: e });
  return new GigasttError("internal", `${what}: ${(e as Error)?.message ?? e}`, { cause: e });
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // some filesystems cannot fsync a directory; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface Received {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Streams `chunks` into `tmpPath`, fsynced; on any failure (the client's,
 * the body cap's, a full disk) the file is removed and the error rethrown
 * (`disk_full` for ENOSPC/EDQUOT).
 */
export async function receiveToFile(chunks: AsyncIterable<Uint8Array>, tmpPath: string, fs: JobsFs = NODE_FS): Promise<Received> {
  const hash = new Bun.CryptoHasher("sha256");
  let bytes = 0;
  let file: WritableFile | null = null;
  try {
    file = await fs.create(tmpPath);
    for await (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.length;
      await file.write(chunk);
    }
    await file.sync();
    const f = file;
    file = null;
    await f.close();
    return { bytes, sha256: hash.digest("hex") };
  } catch (e) {
    if (file) await file.close().catch(() => {});
    removeQuiet(tmpPath);
    throw fsError(e, "cannot store the upload");
  }
}

/** tmp → final name, then the folder fsynced */
export function publish(tmpPath: string, finalPath: string, finalDir: string): void {
  try {
    renameSync(tmpPath, finalPath);
  } catch (e) {
    removeQuiet(tmpPath);
    throw fsError(e, "cannot store the upload");
  }
  fsyncDir(finalDir);
}

/** `data` written to `tmpPath`, fsynced, renamed to `finalPath` (readers see the old file or the whole new one) */
export async function writeAtomic(finalPath: string, finalDir: string, tmpPath: string, data: string, fs: JobsFs = NODE_FS): Promise<void> {
  await receiveToFile(
    (async function* () {
      yield new TextEncoder().encode(data);
    })(),
    tmpPath,
    fs,
  );
  publish(tmpPath, finalPath, finalDir);
}
