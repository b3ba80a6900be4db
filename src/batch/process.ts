/**
 * One source file of `transcribe-batch` / `watch`: transcribe it, write one
 * transcript per format (each through `<out>.partial` + rename, so a crash
 * never leaves a half transcript that looks finished), then move or delete
 * the source when asked. A failure is retried `retries` times with a short
 * linear backoff (as the Rust gigastt), except where retrying cannot help
 * (audio that cannot be decoded). A failed source is always left in place.
 */
import { copyFileSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { EXIT, GigasttError, isGigasttError } from "../errors.ts";
import { formatResult, type RenderOptions } from "../format/index.ts";
import type { TranscriptResult } from "../types.ts";
import type { BatchFormat } from "./formats.ts";
import { outputPathFor } from "./files.ts";

/** the one offline pipeline for a file (production: Transcriber.transcribeStream of its decoded audio) */
export type TranscribeFile = (path: string, signal: AbortSignal) => Promise<TranscriptResult>;

export interface BatchLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface ProcessContext {
  /** null: next to each source */
  readonly outputDir: string | null;
  readonly formats: readonly BatchFormat[];
  /** line limits, the Markdown word table */
  readonly render?: RenderOptions;
  /** move a transcribed source into this folder */
  readonly moveTo: string | null;
  /** delete a transcribed source */
  readonly deleteSource: boolean;
  /** extra attempts after a failure */
  readonly retries: number;
  readonly transcribe: TranscribeFile;
  readonly log: BatchLog;
  /** backoff between attempts (tests pass a fast one) */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type FileOutcome = { readonly ok: true; readonly outputs: readonly string[] } | { readonly ok: false; readonly error: unknown };

export function outputsOf(path: string, ctx: Pick<ProcessContext, "outputDir" | "formats">): string[] {
  return ctx.formats.map((f) => outputPathFor(path, ctx.outputDir, f.ext));
}

/** "error[invalid_audio]: The audio could not be decoded" (the code where there is one) */
export function describeError(e: unknown): string {
  if (isGigasttError(e)) return `error[${e.code}]: ${e.message}`;
  return `error: ${e instanceof Error ? e.message : String(e)}`;
}

/** deterministic failures: another attempt gives the same answer */
function retryable(e: unknown): boolean {
  return !(isGigasttError(e) && (e.exitCode === EXIT.badAudio || e.exitCode === EXIT.usage));
}

export async function processFile(path: string, ctx: ProcessContext, signal: AbortSignal): Promise<FileOutcome> {
  const sleep = ctx.sleep ?? ((ms: number) => Bun.sleep(ms));
  for (let attempt = 0; ; attempt++) {
    try {
      return { ok: true, outputs: await attemptOnce(path, ctx, signal) };
    } catch (e) {
      if (signal.aborted || attempt >= ctx.retries || !retryable(e)) return { ok: false, error: e };
      ctx.log.warn(`retrying ${path} (attempt ${attempt + 2} of ${ctx.retries + 1}): ${describeError(e)}`);
      await sleep(200 * (attempt + 1));
    }
  }
}

async function attemptOnce(path: string, ctx: ProcessContext, signal: AbortSignal): Promise<string[]> {
  const result = await ctx.transcribe(path, signal);
  const outputs: string[] = [];
  for (const f of ctx.formats) {
    const out = outputPathFor(path, ctx.outputDir, f.ext);
    writeAtomic(out, formatResult(result, f.format, ctx.render));
    outputs.push(out);
  }
  if (ctx.moveTo) moveFile(path, join(ctx.moveTo, basename(path)));
  else if (ctx.deleteSource) rmSync(path, { force: true });
  return outputs;
}

function writeAtomic(out: string, text: string): void {
  const tmp = `${out}.partial`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, out);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw new GigasttError("usage", `cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** rename, else (another filesystem) copy + remove */
function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
    return;
  } catch {}
  try {
    copyFileSync(from, to);
    unlinkSync(from);
  } catch (e) {
    throw new GigasttError("usage", `cannot move ${from} to ${to}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** create the output and move-to folders */
export function prepareFolders(ctx: Pick<ProcessContext, "outputDir" | "moveTo">): void {
  for (const d of [ctx.outputDir, ctx.moveTo]) {
    if (!d) continue;
    try {
      mkdirSync(d, { recursive: true });
    } catch (e) {
      throw new GigasttError("usage", `cannot create the folder ${d}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}
