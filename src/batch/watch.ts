/**
 * `watch`: poll a folder and transcribe audio files as they appear or change.
 * As the Rust gigastt: files already there at start are left alone (the
 * backlog is `transcribe-batch`'s), a file is taken once its size and mtime
 * stayed the same for `settlePolls` polls in a row (a copy still being written
 * is not read half-way), a file that changes while it is transcribed is done
 * again once it settles, and a file that fails is logged and left until it
 * changes. A new file whose transcripts are already there and newer is
 * skipped. On a stop request no new file is started; the running ones finish.
 */
import { statSync } from "node:fs";
import { collectAudioFiles, upToDate } from "./files.ts";
import { describeError, outputsOf, type ProcessContext, processFile } from "./process.ts";

export interface WatchOptions {
  readonly root: string;
  readonly pollMs: number;
  readonly settlePolls: number;
  readonly concurrency: number;
  /** called after every scan (tests) */
  readonly onScan?: () => void;
}

export interface WatchSummary {
  processed: number;
  failed: number;
}

type Status = "pending" | "inflight" | "done" | "failed";

interface Entry {
  sig: string;
  stable: number;
  status: Status;
  /** changed while in flight: settle again and redo */
  dirty: boolean;
}

function signature(path: string): string | null {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return null;
  }
}

function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      stop.removeEventListener("abort", done);
      resolve();
    }
    stop.addEventListener("abort", done, { once: true });
  });
}

export async function runWatch(ctx: ProcessContext, o: WatchOptions, stop: AbortSignal, abort: AbortSignal = new AbortController().signal): Promise<WatchSummary> {
  const summary: WatchSummary = { processed: 0, failed: 0 };
  const known = new Map<string, Entry>();
  const running = new Set<Promise<void>>();
  const scan = () => collectAudioFiles(o.root, ctx.moveTo);
  for (const f of scan()) {
    const sig = signature(f);
    if (sig) known.set(f, { sig, stable: 0, status: "done", dirty: false });
  }
  ctx.log.info(`watching ${o.root} (${known.size} file(s) already there are left alone; new ones are transcribed once they stop changing)`);

  const start = (path: string, e: Entry) => {
    e.status = "inflight";
    const p = processFile(path, ctx, abort).then((r) => {
      running.delete(p);
      if (e.dirty) {
        e.dirty = false;
        e.stable = 0;
        e.status = "pending";
        return;
      }
      if (r.ok) {
        summary.processed++;
        e.status = "done";
        ctx.log.info(`done ${path} → ${r.outputs.join(", ")}`);
      } else {
        summary.failed++;
        e.status = "failed";
        ctx.log.error(`failed ${path}: ${describeError(r.error)} (left in place; it is tried again when it changes)`);
      }
    });
    running.add(p);
  };

  while (!stop.aborted) {
    await pause(o.pollMs, stop);
    if (stop.aborted) break;
    let files: string[];
    try {
      files = scan();
    } catch (e) {
      ctx.log.warn(`scan failed, retrying at the next poll: ${describeError(e)}`);
      o.onScan?.();
      continue;
    }
    const present = new Set(files);
    for (const [p, e] of known) if (e.status !== "inflight" && !present.has(p)) known.delete(p);
    for (const f of files) {
      const sig = signature(f);
      if (!sig) continue;
      const e = known.get(f);
      if (!e) {
        known.set(f, { sig, stable: 0, status: "pending", dirty: false });
        continue;
      }
      if (e.sig !== sig) {
        e.sig = sig;
        e.stable = 0;
        if (e.status === "inflight") e.dirty = true;
        else e.status = "pending";
        continue;
      }
      if (e.status !== "pending") continue;
      e.stable++;
      if (e.stable < o.settlePolls) continue;
      if (upToDate(f, outputsOf(f, ctx))) {
        e.status = "done";
        ctx.log.info(`skipped ${f}: its transcripts are already there`);
        continue;
      }
      if (running.size < Math.max(1, o.concurrency)) start(f, e);
    }
    o.onScan?.();
  }
  await Promise.all([...running]);
  return summary;
}
