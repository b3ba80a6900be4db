/**
 * `gigastt watch INPUT_DIR [OUTPUT_DIR]`: transcribe audio files as they
 * appear in a folder (polled; see src/batch/watch.ts), one transcript per
 * format, next to the file unless an output folder is given. SIGINT/SIGTERM
 * stop it cleanly (the files in progress finish; a second signal cancels
 * them). Exit 0, or 1 when some file failed (as the Rust gigastt).
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { prepareFolders } from "../batch/process.ts";
import { runWatch } from "../batch/watch.ts";
import { EXIT, GigasttError } from "../errors.ts";
import { BATCH_ARGS, type BatchArgValues, count, parseBatchSetup, stderrLog } from "./batch-args.ts";
import { type BatchDeps, withBatchEngine } from "./transcribe-batch.ts";

export const WATCH_ARGS = {
  "poll-interval-ms": { type: "string", description: "How often the folder is scanned (default 1000; GIGASTT_WATCH_POLL_INTERVAL_MS)", valueHint: "MS" },
  "settle-polls": { type: "string", description: "Scans in a row a new file must keep its size and mtime before it is taken (default 2; GIGASTT_WATCH_SETTLE_POLLS)", valueHint: "N" },
} as const;

export async function runWatchCommand(input: string, outputDir: string | undefined, args: BatchArgValues & { "poll-interval-ms"?: unknown; "settle-polls"?: unknown }, deps: BatchDeps & { onScan?: () => void } = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const log = deps.log ?? stderrLog();
  const setup = parseBatchSetup(args, env, { retries: 2 });
  let isDir = false;
  try {
    isDir = statSync(input).isDirectory();
  } catch {}
  if (!isDir) throw new GigasttError("usage", existsSync(input) ? `${input} is not a folder` : `no such folder: ${input}`);
  const setting = (flag: "poll-interval-ms" | "settle-polls", name: string, fallback: number, min: number, max: number) => {
    const f = typeof args[flag] === "string" ? { value: args[flag] as string, where: `--${flag}` } : env[name]?.trim() ? { value: env[name]!, where: name } : null;
    return f ? count(f, min, max) : fallback;
  };
  const pollMs = setting("poll-interval-ms", "GIGASTT_WATCH_POLL_INTERVAL_MS", 1000, 10, 3_600_000);
  const settlePolls = setting("settle-polls", "GIGASTT_WATCH_SETTLE_POLLS", 2, 1, 1000);
  const out = outputDir ?? setup.outputDir;
  const ctx0 = { ...setup, outputDir: out === null || out === undefined ? null : resolve(out) };
  for (const n of setup.notes) log.warn(n);
  prepareFolders(ctx0);
  return withBatchEngine(setup, env, log, deps, async (engine, signals) => {
    const s = await runWatch(
      { ...ctx0, transcribe: engine.transcribe, log },
      { root: resolve(input), pollMs, settlePolls, concurrency: engine.workers, ...(deps.onScan ? { onScan: deps.onScan } : {}) },
      signals.stop,
      signals.abort,
    );
    log.info(`watch stopped: ${s.processed} transcribed, ${s.failed} failed`);
    return s.failed > 0 ? EXIT.runtime : EXIT.ok;
  });
}

export default defineCommand({
  meta: { name: "watch", description: "Watch a folder and transcribe new audio files as they appear (next to them, or into OUTPUT_DIR)" },
  args: {
    input: { type: "positional", description: "Folder to watch (files already there are left alone)", required: true, valueHint: "INPUT_DIR" },
    output: { type: "positional", description: "Folder for the transcripts (default: next to each file)", required: false, valueHint: "OUTPUT_DIR" },
    ...BATCH_ARGS,
    ...WATCH_ARGS,
  },
  run: ({ args }) => runWatchCommand(args.input, args.output, args as never),
});
