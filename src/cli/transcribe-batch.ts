/**
 * `gigastt transcribe-batch INPUT_DIR OUTPUT_DIR` (the Rust form) or
 * `gigastt transcribe-batch PATH… [-o DIR]`: every audio file of the folders
 * (recursively) and files given, one transcript per format, files in parallel
 * across the Workers. Without an output folder a transcript goes next to its
 * source. Exit 0 when every file was transcribed, 1 when some failed, 130
 * when interrupted (SIGINT/SIGTERM: the running files finish first; a second
 * signal cancels them).
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { collectAudioFiles, isAudioFile, within } from "../batch/files.ts";
import { type BatchLog, outputsOf, prepareFolders } from "../batch/process.ts";
import { runBatch } from "../batch/run.ts";
import { EXIT, GigasttError } from "../errors.ts";
import type { Env } from "../store/env.ts";
import { BATCH_ARGS, type BatchArgValues, type BatchEngine, type BatchSetup, loadBatchEngine, parseBatchSetup, stderrLog } from "./batch-args.ts";
import { variadic } from "./run.ts";

/** SIGINT's conventional exit status (the Rust gigastt exits 130 on an interrupted batch) */
export const EXIT_INTERRUPTED = 130;

export interface BatchDeps {
  readonly env?: Env;
  readonly log?: BatchLog;
  readonly signals?: Pick<NodeJS.Process, "on" | "off">;
  /** the engine (tests: a scripted one) */
  readonly engine?: (s: BatchSetup, env: Env, log: BatchLog) => Promise<BatchEngine>;
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * The files and the output folder. Two arguments, the first a folder and the second not an
 * existing file, without --output-dir: Rust's `INPUT_DIR OUTPUT_DIR`. Otherwise every argument
 * is an input: a folder (walked recursively) or a file.
 */
export function resolveInputs(paths: readonly string[], s: Pick<BatchSetup, "outputDir" | "moveTo">): { files: string[]; outputDir: string | null } {
  if (paths.length === 0) throw new GigasttError("usage", "missing argument INPUT for 'gigastt transcribe-batch': a folder and an output folder, or audio files and folders (see --help)");
  let inputs = paths;
  let outputDir = s.outputDir;
  if (outputDir === null && paths.length === 2 && isDir(paths[0]!) && !(existsSync(paths[1]!) && !isDir(paths[1]!))) {
    inputs = [paths[0]!];
    outputDir = paths[1]!;
  }
  const seen = new Set<string>();
  const files: string[] = [];
  for (const p of inputs) {
    if (!existsSync(p)) throw new GigasttError("usage", `no such file or folder: ${p}`);
    const found = isDir(p) ? collectAudioFiles(p, s.moveTo) : [resolve(p)];
    for (const f of found) {
      if (s.moveTo && within(f, s.moveTo)) continue;
      if (!seen.has(f)) files.push(f);
      seen.add(f);
    }
  }
  return { files, outputDir: outputDir === null ? null : resolve(outputDir) };
}

/** SIGINT/SIGTERM: the first stops scheduling, the second cancels what runs */
export function stopSignals(signals: Pick<NodeJS.Process, "on" | "off">, log: BatchLog): { stop: AbortSignal; abort: AbortSignal; dispose(): void } {
  const stop = new AbortController();
  const abort = new AbortController();
  const on = (sig: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      log.info(`${sig}: finishing the files in progress (again to cancel them)`);
      stop.abort();
    } else abort.abort();
  };
  signals.on("SIGINT", on);
  signals.on("SIGTERM", on);
  return {
    stop: stop.signal,
    abort: abort.signal,
    dispose: () => {
      signals.off("SIGINT", on);
      signals.off("SIGTERM", on);
    },
  };
}

export async function runTranscribeBatch(paths: readonly string[], args: BatchArgValues, deps: BatchDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const log = deps.log ?? stderrLog();
  const setup = parseBatchSetup(args, env, { retries: 0 });
  const { files, outputDir } = resolveInputs(paths, setup);
  for (const n of setup.notes) log.warn(n);
  const ctx0 = { ...setup, outputDir };
  const outs = new Map<string, string>();
  for (const f of files)
    for (const o of outputsOf(f, ctx0)) {
      if (outs.has(o)) log.warn(`${f} and ${outs.get(o)} both write ${o}: the later one wins (equal file names in different folders)`);
      outs.set(o, f);
    }
  if (files.length === 0) {
    log.info("no audio files found");
    return EXIT.ok;
  }
  for (const f of files) if (!isAudioFile(f)) log.warn(`${f} has no audio file extension; trying it anyway`);
  prepareFolders(ctx0);
  return withBatchEngine(setup, env, log, deps, async (engine, signals) => {
    const s = await runBatch(files, { ...ctx0, transcribe: engine.transcribe, log, concurrency: engine.workers }, signals.stop, signals.abort);
    log.info(`batch finished: ${s.processed} transcribed, ${s.failed} failed, ${s.upToDate} already done, ${s.notStarted} not started`);
    if (s.interrupted) return EXIT_INTERRUPTED;
    return s.failed > 0 ? EXIT.runtime : EXIT.ok;
  });
}

/**
 * The part `transcribe-batch` and `watch` share: SIGINT/SIGTERM handlers (first: finish running files,
 * second: abort), the engine loaded, `run`, then the engine closed and the handlers removed, whatever happened.
 */
export async function withBatchEngine(
  setup: BatchSetup,
  env: Env,
  log: BatchLog,
  deps: BatchDeps,
  run: (engine: BatchEngine, signals: { stop: AbortSignal; abort: AbortSignal }) => Promise<number>,
): Promise<number> {
  const signals = stopSignals(deps.signals ?? process, log);
  try {
    const engine = await (deps.engine ?? loadBatchEngine)(setup, env, log);
    try {
      return await run(engine, signals);
    } finally {
      await engine.close();
    }
  } finally {
    signals.dispose();
  }
}

export default defineCommand({
  meta: { name: "transcribe-batch", description: "Transcribe every audio file of a folder (INPUT_DIR OUTPUT_DIR, as the Rust gigastt) or of the files and folders given" },
  args: {
    inputs: variadic({ type: "positional", description: "INPUT_DIR OUTPUT_DIR, or audio files and folders (walked recursively)", required: true, valueHint: "PATH…" } as const),
    ...BATCH_ARGS,
  },
  run: ({ args }) => runTranscribeBatch((args._ as string[]) ?? [], args as BatchArgValues),
});
