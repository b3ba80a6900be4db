/**
 * `gigastt transcribe FILE`: transcribe one audio file (or stdin with `-`) and
 * print the transcript as text, JSON, SRT, VTT or Markdown on stdout (or into
 * `-o FILE`), with the Rust gigastt's flags (see transcribe-options.ts).
 */
import { availableParallelism } from "node:os";
import { availableMemory, chooseWorkers } from "../server/workers.ts";
import { namingInput, withInputName } from "../audio/input-name.ts";
import { defineCommand } from "citty";
import { type AudioLoadOptions, decodeAudioStream, decodeChannels, openAudioSource } from "../audio/load.ts";
import { Transcriber } from "../engine/transcriber.ts";
import { GigasttError } from "../errors.ts";
import { mergeChannels } from "../format/channels.ts";
import { formatResult } from "../format/index.ts";
import { rawAsWav } from "../audio/raw.ts";
import type { TranscriptResult } from "../types.ts";
import { writeFileAtomic } from "./output-file.ts";
import { resolveTranscribeOutput, type RustTranscribeArgs, type TranscribeOutput, UNAVAILABLE_FLAGS } from "./transcribe-options.ts";
import { type ModelFiles, resolveModelDir } from "../model/files.ts";
import { ensureModel } from "../store/ensure.ts";
import { useMappedLayout } from "../store/mapped-model.ts";
import { warningsOn } from "../log.ts";
import { prepareMainInt8Encoder } from "./partial-encoder.ts";
import { type Env, parseBoolEnv, resolveOffline, resolvePrecision } from "../store/env.ts";
import type { Precision } from "../types.ts";
import type { HotwordList } from "../decode/hotwords.ts";
import { parseHotwordsConfig } from "../server/hotwords-config.ts";

export interface TranscribeArgs extends RustTranscribeArgs {
  readonly file: string;
  readonly modelDir?: string;
  readonly precision?: string;
  readonly offline?: boolean;
  readonly workers?: string;
  /** shorten long pauses before the encoder (default true; also GIGASTT_COMPACT_PAUSES) */
  readonly compactPauses?: boolean;
  /** hotwords (the Rust flags; also GIGASTT_HOTWORDS_FILE / _DEFAULT / _BOOST) */
  readonly hotwordsFile?: string;
  readonly hotwordsDefault?: boolean;
  readonly hotwordsBoost?: string;
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
  const out = resolveTranscribeOutput(args, env);
  const precision = resolvePrecision(args.precision, env);
  const offline = resolveOffline(args.offline, env);
  const modelDir = resolveModelDir(args.modelDir, env);
  const workers =
    args.workers === undefined
      ? chooseWorkers({ cores: Math.min(availableParallelism(), MAX_DEFAULT_WORKERS), availableBytes: availableMemory(), precision }).workers
      : positiveInt(args.workers, "--workers");
  const threadsPerWorker = out.threads === undefined ? 1 : positiveInt(out.threads, args.threads === undefined ? "--encoder-intra-threads" : "--threads");
  const compactPauses = args.compactPauses ?? parseBoolEnv("GIGASTT_COMPACT_PAUSES", env.GIGASTT_COMPACT_PAUSES, true);
  let warnings: readonly string[] = [];
  const stderr = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  for (const w of out.warnings) if (warningsOn()) stderr(`warning: ${w}\n`);
  const hotwords = transcribeHotwords(args, env, stderr);
  const emit = (result: TranscriptResult) => {
    const text = formatResult(warnings.length ? { ...result, warnings } : result, out.format, out.render);
    const whole = text.endsWith("\n") ? text : `${text}\n`;
    if (out.output === null) stdout(whole);
    else writeFileAtomic(out.output, whole);
  };
  const loadOpts: AudioLoadOptions = {
    onWarnings: (w) => {
      warnings = w;
      stderr(`warning: damaged audio, the valid part was transcribed: ${w.join("; ")}\n`);
    },
  };
  if (out.channels === "split") return runSplit(args, { workers, threadsPerWorker, compactPauses, hotwords, modelDir, precision, offline, env, out, emit, loadOpts });
  // conversion hints name the user's file, not a placeholder
  const audio = namingInput(decodeAudioStream(sourceOf(args.file, out), loadOpts), args.file);
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
    const transcriber = await Transcriber.fromFiles(mapped.files, { workers, threadsPerWorker, compactPauses, hotwords });
    try {
      emit(await transcriber.transcribeStream(resume(first, audio)));
      return 0;
    } finally {
      await transcriber.close();
    }
  } finally {
    await audio.return(undefined);
  }
}

/** `--hotwords-file`/`--hotwords-default`/`--hotwords-boost` (flag > env), as `serve` reads them */
function transcribeHotwords(args: TranscribeArgs, env: Env, stderr: (s: string) => void): HotwordList | null {
  const sourced = (flag: string | undefined, name: string, envName: string) =>
    flag !== undefined ? { value: flag, from: `--${name}` } : env[envName]?.trim() ? { value: env[envName]!.trim(), from: envName } : undefined;
  const warnings: string[] = [];
  const list = parseHotwordsConfig(
    {
      file: sourced(args.hotwordsFile, "hotwords-file", "GIGASTT_HOTWORDS_FILE"),
      withDefaults: args.hotwordsDefault ?? parseBoolEnv("GIGASTT_HOTWORDS_DEFAULT", env.GIGASTT_HOTWORDS_DEFAULT, false),
      boost: sourced(args.hotwordsBoost, "hotwords-boost", "GIGASTT_HOTWORDS_BOOST"),
    },
    undefined,
    warnings,
  );
  if (warningsOn()) for (const w of warnings) stderr(`warning: ${w}\n`);
  return list;
}

interface SplitRun {
  workers: number;
  threadsPerWorker: number;
  compactPauses: boolean;
  hotwords: HotwordList | null;
  modelDir: string;
  precision: Precision;
  offline: boolean;
  env: Env;
  out: TranscribeOutput;
  emit: (result: TranscriptResult) => void;
  loadOpts: AudioLoadOptions;
}

/** the file's (or stdin's) bytes; a raw telephone stream (`--codec`) wrapped as WAV */
function sourceOf(file: string, out: TranscribeOutput): AsyncGenerator<Uint8Array> {
  return out.raw ? rawAsWav(openAudioSource(file), out.raw) : openAudioSource(file);
}

/** `--channels split`: every channel transcribed on its own, words tagged and merged by time. */
async function runSplit(args: TranscribeArgs, r: SplitRun): Promise<number> {
  const pending = decodeChannels(sourceOf(args.file, r.out), r.loadOpts).catch((e: unknown) => {
    throw withInputName(e, args.file);
  });
  pending.catch(() => {}); // awaited below; a model error first must not leave it unhandled
  // as for mix: a bad file fails before the model is looked for; stdin is not waited for
  const streams = args.file === "-" ? null : await pending;
  try {
    const files = await obtainModel({ modelDir: r.modelDir, precision: r.precision, offline: r.offline, env: r.env });
    const transcriber = await Transcriber.fromFiles(files, { workers: r.workers, threadsPerWorker: r.threadsPerWorker, compactPauses: r.compactPauses, hotwords: r.hotwords });
    try {
      const all = streams ?? (await pending);
      const results = await Promise.all(all.map((s) => transcriber.transcribeStream(s)));
      r.emit(mergeChannels(results));
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

const unavailable = Object.fromEntries(
  Object.keys(UNAVAILABLE_FLAGS).map((name) => [name, { type: name === "vad" ? "boolean" : "string", description: "Not available in this build (fails with a clear message)", valueHint: "X" }]),
) as Record<string, { type: "boolean" | "string"; description: string; valueHint: string }>;

export default defineCommand({
  meta: { name: "transcribe", description: "Transcribe an audio file ('-' reads stdin) and print the transcript" },
  args: {
    file: { type: "positional", description: "Audio file, or '-' for stdin", required: true, valueHint: "FILE" },
    "model-dir": { type: "string", description: "Model directory (default $GIGASTT_MODEL_DIR or ~/.gigastt/models)", valueHint: "DIR" },
    format: { type: "string", alias: ["f"], description: "Output format: txt (text), json, srt, vtt, md (markdown) (default txt; $GIGASTT_FORMAT)", valueHint: "FORMAT" },
    output: { type: "string", alias: ["o"], description: "Write the transcript into FILE (atomically) instead of stdout ($GIGASTT_OUTPUT)", valueHint: "FILE" },
    "max-chars-per-line": { type: "string", description: "Longest SRT/VTT/Markdown cue in characters (default 80, 0 = no limit)", valueHint: "N" },
    "max-words-per-line": { type: "string", description: "Most words in a SRT/VTT/Markdown cue (default 14, 0 = no limit)", valueHint: "N" },
    "word-timestamps": { type: "boolean", description: "Markdown: add the word timings table" },
    precision: { type: "enum", options: ["fp32", "int8"], description: "Model precision (default $GIGASTT_PRECISION or fp32)", valueHint: "PRECISION" },
    offline: { type: "boolean", description: "Never download; fail at once if the model is missing (also GIGASTT_OFFLINE=1)" },
    workers: { type: "string", description: `Inference Workers, each with its own model copy (default: CPU cores, at most ${MAX_DEFAULT_WORKERS}, fewer when the available memory holds fewer)`, valueHint: "N" },
    threads: { type: "string", description: "onnxruntime intra-op threads per Worker (default 1)", valueHint: "N" },
    "encoder-intra-threads": { type: "string", description: "The Rust name of --threads ($GIGASTT_ENCODER_INTRA_THREADS)", valueHint: "N" },
    channels: { type: "enum", options: ["mix", "split"], description: "mix: one transcript of all channels (default); split: each channel on its own, words tagged with their channel", valueHint: "MODE" },
    "stereo-speakers": { type: "boolean", description: "The Rust name of --channels split ($GIGASTT_STEREO_SPEAKERS)" },
    codec: { type: "string", description: "The input is headerless telephone audio: pcmu (ulaw), pcma (alaw) or g722; needs --sample-rate", valueHint: "CODEC" },
    "sample-rate": { type: "string", description: "Rate of a --codec input: 8000–48000 for pcmu/pcma, 8000 or 16000 for g722", valueHint: "HZ" },
    "model-variant": { type: "string", description: "Recognition head: e2e_rnnt (the only one here)", valueHint: "VARIANT" },
    punctuation: { type: "string", description: "auto|off: e2e_rnnt punctuates itself (on needs the RuPunct model: refused)", valueHint: "MODE" },
    "punct-model-dir": { type: "string", description: "Folder of the RuPunct model: no effect here (warned)", valueHint: "DIR" },
    itn: { type: "string", description: "auto|off: e2e_rnnt writes numbers as digits itself (on: refused)", valueHint: "MODE" },
    "compact-pauses": { type: "boolean", description: "Shorten pauses over 600 ms to 300 ms before the encoder (default on; --no-compact-pauses, GIGASTT_COMPACT_PAUSES=0: off)" },
    "hotwords-file": { type: "string", description: "Phrases to bias decoding toward, one per line, optional TAB weight (GIGASTT_HOTWORDS_FILE)", valueHint: "FILE" },
    "hotwords-default": { type: "boolean", description: "Also bias toward the built-in list of brands and services (GIGASTT_HOTWORDS_DEFAULT)" },
    "hotwords-boost": { type: "string", description: "Boost added to a hotword piece's log-probability, 0..20 (default 5; GIGASTT_HOTWORDS_BOOST)", valueHint: "N" },
    ...unavailable,
  },
  run: ({ args }) =>
    runTranscribe({
      file: args.file,
      modelDir: args["model-dir"],
      format: args.format,
      output: args.output,
      maxCharsPerLine: args["max-chars-per-line"],
      maxWordsPerLine: args["max-words-per-line"],
      wordTimestamps: args["word-timestamps"],
      precision: args.precision,
      offline: args.offline,
      workers: args.workers,
      threads: args.threads,
      encoderIntraThreads: args["encoder-intra-threads"],
      channels: args.channels,
      stereoSpeakers: args["stereo-speakers"],
      codec: args.codec,
      sampleRate: args["sample-rate"],
      modelVariant: args["model-variant"],
      punctuation: args.punctuation,
      punctModelDir: args["punct-model-dir"],
      itn: args.itn,
      unavailable: Object.fromEntries(Object.keys(UNAVAILABLE_FLAGS).map((k) => [k, (args as Record<string, string | boolean | undefined>)[k]])),
      ...(args["compact-pauses"] !== undefined ? { compactPauses: args["compact-pauses"] } : {}),
      ...(args["hotwords-file"] !== undefined ? { hotwordsFile: args["hotwords-file"] } : {}),
      ...(args["hotwords-default"] !== undefined ? { hotwordsDefault: args["hotwords-default"] } : {}),
      ...(args["hotwords-boost"] !== undefined ? { hotwordsBoost: args["hotwords-boost"] } : {}),
    }),
});
