/**
 * `gigastt transcribe FILE`: transcribe one audio file (or stdin with `-`) and
 * print the transcript as text, JSON, SRT or VTT on stdout.
 */
import { availableParallelism } from "node:os";
import { availableMemory, chooseWorkers } from "../server/workers.ts";
import { namingInput, withInputName } from "../audio/input-name.ts";
import { defineCommand } from "citty";
import { type AudioLoadOptions, decodeAudioStream, decodeChannels, openAudioSource } from "../audio/load.ts";
import { Transcriber } from "../engine/transcriber.ts";
import { GigasttError } from "../errors.ts";
import { mergeChannels, parseChannels } from "../format/channels.ts";
import { formatResult, type OutputFormat } from "../format/index.ts";
import { type ModelFiles, resolveModelDir } from "../model/files.ts";
import { ensureModel } from "../store/ensure.ts";
import { useMappedLayout } from "../store/mapped-model.ts";
import { warningsOn } from "../log.ts";
import { prepareMainInt8Encoder } from "./partial-encoder.ts";
import { type Env, parseBoolEnv, resolveOffline, resolvePrecision } from "../store/env.ts";
import type { Precision } from "../types.ts";

export interface TranscribeArgs {
  readonly file: string;
  readonly modelDir?: string;
  readonly format?: OutputFormat;
  readonly precision?: string;
  readonly offline?: boolean;
  readonly workers?: string;
  readonly threads?: string;
  /** "mix" (default): one transcript of the channel mean; "split": each channel on its own */
  readonly channels?: string;
  /** shorten long pauses before the encoder (default true; also GIGASTT_COMPACT_PAUSES) */
  readonly compactPauses?: boolean;
}

export interface TranscribeDeps {
  readonly env?: Env;
  readonly stdout?: (s: string) => void;
  readonly stderr?: (s: string) => void;
}

/**
 * The one place the CLI obtains model files: the model store verifies what is on disk and
 * downloads what is missing (progress on stderr), or fails with `offline` / `checksum_mismatch` /
 * `network_error` / `disk_full`.
 */
export async function obtainModel(opts: { modelDir: string; precision: Precision; offline: boolean; env: Env }): Promise<ModelFiles> {
  // --log-level error|silent silences the store's warnings too
  return ensureModel({ modelDir: opts.modelDir, precision: opts.precision, offline: opts.offline, env: opts.env, warnings: warningsOn() });
}

/** Default Worker count for one file: each Worker holds its own copy of the model (~0.9 GB fp32). */
export const MAX_DEFAULT_WORKERS = 4;

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 256)
    throw new GigasttError("usage", `invalid value '${v}' for '${flag}': expected an integer from 1 to 256`);
  return n;
}

export async function runTranscribe(args: TranscribeArgs, deps: TranscribeDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const stdout = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const format: OutputFormat = args.format ?? "text";
  const precision = resolvePrecision(args.precision, env);
  const offline = resolveOffline(args.offline, env);
  const modelDir = resolveModelDir(args.modelDir, env);
  const workers =
    args.workers === undefined
      ? chooseWorkers({ cores: Math.min(availableParallelism(), MAX_DEFAULT_WORKERS), availableBytes: availableMemory(), precision }).workers
      : positiveInt(args.workers, "--workers");
  const threadsPerWorker = args.threads === undefined ? 1 : positiveInt(args.threads, "--threads");
  const channels = parseChannels(args.channels, "--channels");
  const compactPauses = args.compactPauses ?? parseBoolEnv("GIGASTT_COMPACT_PAUSES", env.GIGASTT_COMPACT_PAUSES, true);
  let warnings: readonly string[] = [];
  const stderr = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const loadOpts: AudioLoadOptions = {
    onWarnings: (w) => {
      warnings = w;
      stderr(`warning: damaged audio, the valid part was transcribed: ${w.join("; ")}\n`);
    },
  };
  if (channels === "split") return runSplit(args, { workers, threadsPerWorker, compactPauses, modelDir, precision, offline, env, format, stdout, loadOpts, warnings: () => warnings });
  // conversion hints name the user's file, not a placeholder
  const audio = namingInput(decodeAudioStream(openAudioSource(args.file), loadOpts), args.file);
  try {
    // a file that cannot be read or is not usable audio fails before the model is looked for
    // (no download for a typo); stdin is not waited for, so a missing model still fails at once
    const first = args.file === "-" ? undefined : await audio.next();
    // --precision int8: an int8 encoder that would clip on this CPU is replaced by an exact copy
    const files = await prepareMainInt8Encoder({
      files: await obtainModel({ modelDir, precision, offline, env }),
      skipQuantize: parseBoolEnv("GIGASTT_SKIP_QUANTIZE", env.GIGASTT_SKIP_QUANTIZE),
      log: { info: (m) => void process.stderr.write(`${m}\n`), warn: (m) => void (warningsOn() && process.stderr.write(`warning: ${m}\n`)) },
    });
    // the Workers map the weights from one shared file per graph (derived once beside the originals)
    const mapped = await useMappedLayout({ files, log: { info: () => {}, warn: (m) => void (warningsOn() && process.stderr.write(`warning: ${m}\n`)) } });
    const transcriber = await Transcriber.fromFiles(mapped.files, { workers, threadsPerWorker, compactPauses });
    try {
      const result = await transcriber.transcribeStream(resume(first, audio));
      const out = formatResult(warnings.length ? { ...result, warnings } : result, format);
      stdout(out.endsWith("\n") ? out : `${out}\n`);
      return 0;
    } finally {
      await transcriber.close();
    }
  } finally {
    await audio.return(undefined);
  }
}

interface SplitRun {
  workers: number;
  threadsPerWorker: number;
  compactPauses: boolean;
  modelDir: string;
  precision: Precision;
  offline: boolean;
  env: Env;
  format: OutputFormat;
  stdout: (s: string) => void;
  loadOpts: AudioLoadOptions;
  warnings: () => readonly string[];
}

/** `--channels split`: every channel transcribed on its own, words tagged and merged by time. */
async function runSplit(args: TranscribeArgs, r: SplitRun): Promise<number> {
  const pending = decodeChannels(openAudioSource(args.file), r.loadOpts).catch((e: unknown) => {
    throw withInputName(e, args.file);
  });
  pending.catch(() => {}); // awaited below; a model error first must not leave it unhandled
  // as for mix: a bad file fails before the model is looked for; stdin is not waited for
  const streams = args.file === "-" ? null : await pending;
  try {
    const files = await obtainModel({ modelDir: r.modelDir, precision: r.precision, offline: r.offline, env: r.env });
    const transcriber = await Transcriber.fromFiles(files, { workers: r.workers, threadsPerWorker: r.threadsPerWorker, compactPauses: r.compactPauses });
    try {
      const all = streams ?? (await pending);
      const results = await Promise.all(all.map((s) => transcriber.transcribeStream(s)));
      const merged = mergeChannels(results);
      const w = r.warnings();
      const out = formatResult(w.length ? { ...merged, warnings: w } : merged, r.format);
      r.stdout(out.endsWith("\n") ? out : `${out}\n`);
      return 0;
    } finally {
      await transcriber.close();
    }
  } finally {
    for (const s of streams ?? []) await s.return(undefined);
  }
}

/** The chunk already taken from `rest` (if any), then the rest of it. */
async function* resume(first: IteratorResult<Float32Array> | undefined, rest: AsyncGenerator<Float32Array>): AsyncGenerator<Float32Array> {
  if (first && !first.done) yield first.value;
  yield* rest;
}

export default defineCommand({
  meta: { name: "transcribe", description: "Transcribe an audio file (WAV; '-' reads stdin) and print the transcript" },
  args: {
    file: { type: "positional", description: "Audio file, or '-' for stdin", required: true, valueHint: "FILE" },
    "model-dir": { type: "string", description: "Model directory (default $GIGASTT_MODEL_DIR or ~/.gigastt/models)", valueHint: "DIR" },
    format: { type: "enum", options: ["text", "json", "srt", "vtt"], description: "Output format (default text)", valueHint: "FORMAT" },
    precision: { type: "enum", options: ["fp32", "int8"], description: "Model precision (default $GIGASTT_PRECISION or fp32)", valueHint: "PRECISION" },
    offline: { type: "boolean", description: "Never download; fail at once if the model is missing (also GIGASTT_OFFLINE=1)" },
    workers: { type: "string", description: `Inference Workers, each with its own model copy (default: CPU cores, at most ${MAX_DEFAULT_WORKERS}, fewer when the available memory holds fewer)`, valueHint: "N" },
    threads: { type: "string", description: "onnxruntime intra-op threads per Worker (default 1)", valueHint: "N" },
    channels: { type: "enum", options: ["mix", "split"], description: "mix: one transcript of all channels (default); split: each channel on its own, words tagged with their channel", valueHint: "MODE" },
    "compact-pauses": { type: "boolean", description: "Shorten pauses over 600 ms to 300 ms before the encoder (default on; --no-compact-pauses, GIGASTT_COMPACT_PAUSES=0: off)" },
  },
  run: ({ args }) =>
    runTranscribe({
      file: args.file,
      modelDir: args["model-dir"],
      format: args.format as OutputFormat | undefined,
      precision: args.precision,
      offline: args.offline,
      workers: args.workers,
      threads: args.threads,
      channels: args.channels,
      ...(args["compact-pauses"] !== undefined ? { compactPauses: args["compact-pauses"] } : {}),
    }),
});
