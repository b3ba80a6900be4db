/**
 * `transcribe-batch`: every source once, up to `concurrency` at a time (the
 * Workers run them in parallel). A source whose every transcript is already
 * there and newer than it is skipped (a re-run after an interruption resumes;
 * `--overwrite` redoes it). On a stop request (SIGINT/SIGTERM) no new file is
 * started and the ones running finish; `abort` (a second signal) cancels them.
 */
import { describeError, type FileOutcome, outputsOf, type ProcessContext, processFile } from "./process.ts";
import { upToDate } from "./files.ts";

export interface BatchSummary {
  /** transcribed and written */
  processed: number;
  /** failed after every attempt */
  failed: number;
  /** left alone: their transcripts were up to date */
  upToDate: number;
  /** never started because of a stop request */
  notStarted: number;
  interrupted: boolean;
}

export async function runBatch(files: readonly string[], ctx: ProcessContext & { readonly overwrite: boolean; readonly concurrency: number }, stop: AbortSignal, abort: AbortSignal = new AbortController().signal): Promise<BatchSummary> {
  const summary: BatchSummary = { processed: 0, failed: 0, upToDate: 0, notStarted: 0, interrupted: false };
  const queue = files.filter((f) => {
    if (ctx.overwrite || !upToDate(f, outputsOf(f, ctx))) return true;
    summary.upToDate++;
    return false;
  });
  if (summary.upToDate > 0) ctx.log.info(`${summary.upToDate} file(s) already transcribed (use --overwrite to redo them)`);
  ctx.log.info(`transcribing ${queue.length} file(s), ${Math.max(1, ctx.concurrency)} at a time`);
  let next = 0;
  const lane = async () => {
    while (!stop.aborted && next < queue.length) {
      const path = queue[next++]!;
      report(path, await processFile(path, ctx, abort), summary, ctx);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(ctx.concurrency, queue.length)) }, lane));
  summary.notStarted = queue.length - next;
  summary.interrupted = stop.aborted;
  return summary;
}

function report(path: string, r: FileOutcome, s: BatchSummary, ctx: Pick<ProcessContext, "log">): void {
  if (r.ok) {
    s.processed++;
    ctx.log.info(`done ${path} → ${r.outputs.join(", ")}`);
  } else {
    s.failed++;
    ctx.log.error(`failed ${path}: ${describeError(r.error)}`);
  }
}
