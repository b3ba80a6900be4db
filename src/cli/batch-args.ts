/**
 * What `transcribe-batch` and `watch` share: the Rust gigastt's engine and
 * output flags (and their GIGASTT_* variables), parsed once into frozen
 * options, and the engine the files run on (one Transcriber, its Workers
 * taking files in parallel, through the one offline pipeline).
 *
 * Rust engine flags that need a model this server does not have stop the
 * command with one line naming the flag and what to do instead; none is
 * silently ignored.
 */
import { availableParallelism } from "node:os";
import type { ArgsDef } from "citty";
import { namingInput } from "../audio/input-name.ts";
import { decodeAudioStream, openAudioSource } from "../audio/load.ts";
import { DEFAULT_BATCH_FORMATS, type BatchFormat, parseBatchFormats } from "../batch/formats.ts";
import type { BatchLog, TranscribeFile } from "../batch/process.ts";
import type { HotwordList } from "../decode/hotwords.ts";
import { Transcriber } from "../engine/transcriber.ts";
import { GigasttError } from "../errors.ts";
import type { RenderOptions } from "../format/index.ts";
import { warningsOn } from "../log.ts";
import { resolveModelDir } from "../model/files.ts";
import { useMappedLayout } from "../store/mapped-model.ts";
import { type Env, parseBoolEnv, resolveOffline, resolvePrecision, resolveSkipQuantize } from "../store/env.ts";
import { parseHotwordsConfig } from "../server/hotwords-config.ts";
import { availableMemory, chooseWorkers } from "../server/workers.ts";
import type { Precision } from "../types.ts";
import { prepareMainInt8Encoder } from "./partial-encoder.ts";
import { MAX_DEFAULT_WORKERS, obtainModel } from "./transcribe.ts";
import { UNAVAILABLE_FLAGS } from "./transcribe-options.ts";
import { parseBool, parseCount } from "../values.ts";

/** the flags of both commands (Rust's OfflineEngineArgs + BatchOutputArgs, and ours) */
export const BATCH_ARGS = {
  "model-dir": { type: "string", description: "Model directory (default $GIGASTT_MODEL_DIR or ~/.gigastt/models)", valueHint: "DIR" },
  "model-variant": { type: "string", description: "Recognition head: e2e_rnnt, the one this server runs (GIGASTT_MODEL_VARIANT)", valueHint: "VARIANT" },
  precision: { type: "enum", options: ["fp32", "int8"], description: "Model precision (default $GIGASTT_PRECISION or fp32)", valueHint: "PRECISION" },
  offline: { type: "boolean", description: "Never download; fail at once if the model is missing (also GIGASTT_OFFLINE=1)" },
  "pool-size": { type: "string", description: "Files transcribed at once, one inference Worker each (default: CPU cores up to 4, fewer when memory holds fewer)", valueHint: "N" },
  workers: { type: "string", description: "Same as --pool-size", valueHint: "N" },
  "encoder-intra-threads": { type: "string", description: "onnxruntime intra-op threads per Worker (default 1; GIGASTT_ENCODER_INTRA_THREADS)", valueHint: "N" },
  punctuation: { type: "string", description: "auto|off (default auto: the e2e_rnnt head punctuates itself; `on` needs the rnnt head's RuPunct pass, not available; GIGASTT_PUNCTUATION)", valueHint: "MODE" },
  "punct-model-dir": { type: "string", description: "Folder of the RuPunct model (GIGASTT_PUNCT_MODEL_DIR; unused: no punctuation pass runs)", valueHint: "DIR" },
  itn: { type: "string", description: "auto|off (default auto: the e2e_rnnt head writes numbers as digits itself; GIGASTT_ITN)", valueHint: "MODE" },
  "hotwords-file": { type: "string", description: "Phrases to bias decoding toward, one a line, optional TAB weight, # comments (GIGASTT_HOTWORDS_FILE)", valueHint: "FILE" },
  "hotwords-default": { type: "boolean", description: "Also bias toward the built-in list of brands and services (GIGASTT_HOTWORDS_DEFAULT)" },
  "hotwords-boost": { type: "string", description: "Added to a hotword piece's log-probability, 0–20 (default 5; GIGASTT_HOTWORDS_BOOST)", valueHint: "X" },
  vad: { type: "boolean", description: "Not available yet (GIGASTT_VAD): long pauses are shortened instead (--compact-pauses)" },
  "vad-threshold": { type: "string", description: "Not available yet (GIGASTT_VAD_THRESHOLD)", valueHint: "P" },
  "vad-min-silence-ms": { type: "string", description: "Not available yet (GIGASTT_VAD_MIN_SILENCE_MS)", valueHint: "MS" },
  "vad-model-dir": { type: "string", description: "Not available yet (GIGASTT_VAD_MODEL_DIR)", valueHint: "DIR" },
  "compact-pauses": { type: "boolean", description: "Shorten pauses over 600 ms to 300 ms before the encoder (default on; --no-compact-pauses, GIGASTT_COMPACT_PAUSES=0: off)" },
  format: { type: "string", alias: "f", description: "Formats, comma-separated: txt, json, srt, vtt, md; one <stem>.<ext> each (default txt,json; GIGASTT_FORMAT)", valueHint: "LIST" },
  "output-dir": { type: "string", alias: "o", description: "Write the transcripts into this folder (default: next to each source)", valueHint: "DIR" },
  "move-to": { type: "string", description: "Move each transcribed source into this folder (GIGASTT_BATCH_MOVE_TO); not with --delete-source", valueHint: "DIR" },
  "delete-source": { type: "boolean", description: "Delete each transcribed source; failed ones always stay (GIGASTT_BATCH_DELETE_SOURCE)" },
  retries: { type: "string", description: "Extra attempts per file after a failure (default 0 for transcribe-batch, 2 for watch; GIGASTT_BATCH_RETRIES)", valueHint: "N" },
  overwrite: { type: "boolean", description: "Transcribe again files whose transcripts are already there and newer than them" },
  "max-chars-per-line": { type: "string", description: "Longest SRT/VTT/Markdown cue in characters (default 80, 0 = no limit; GIGASTT_MAX_CHARS_PER_LINE)", valueHint: "N" },
  "max-words-per-line": { type: "string", description: "Most words in a cue (default 14, 0 = no limit; GIGASTT_MAX_WORDS_PER_LINE)", valueHint: "N" },
  "word-timestamps": { type: "boolean", description: "Markdown: a table of every word's times (GIGASTT_WORD_TIMESTAMPS)" },
} as const satisfies ArgsDef;

export type BatchArgValues = Partial<Record<keyof typeof BATCH_ARGS, string | boolean | undefined>>;

export interface BatchSetup {
  readonly modelDir: string;
  readonly precision: Precision;
  readonly offline: boolean;
  readonly skipQuantize: boolean;
  readonly workers: number;
  readonly threadsPerWorker: number;
  readonly compactPauses: boolean;
  /** `--hotwords-*` (as `serve` and `transcribe` read them); null: none */
  readonly hotwords: HotwordList | null;
  readonly formats: readonly BatchFormat[];
  /** line limits and the Markdown word table, as `transcribe` */
  readonly render: RenderOptions;
  readonly outputDir: string | null;
  readonly moveTo: string | null;
  readonly deleteSource: boolean;
  readonly retries: number;
  readonly overwrite: boolean;
  /** lines to log before starting (flags accepted without effect) */
  readonly notes: readonly string[];
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** flag > env > fallback, for a string setting */
function pick(a: BatchArgValues, flag: keyof typeof BATCH_ARGS, env: Env, name: string): { value: string; where: string } | undefined {
  const f = str(a[flag]);
  if (f !== undefined) return { value: f, where: `--${flag}` };
  const e = env[name];
  return e !== undefined && e.trim() !== "" ? { value: e, where: name } : undefined;
}

function flagOn(a: BatchArgValues, flag: keyof typeof BATCH_ARGS, env: Env, name: string): boolean {
  if (typeof a[flag] === "boolean") return a[flag] as boolean;
  return parseBoolEnv(name, env[name]);
}

export function count(v: { value: string; where: string }, min: number, max: number): number {
  const n = Number(v.value.trim());
  if (!/^\d+$/.test(v.value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new GigasttError("usage", `invalid value '${v.value}' for '${v.where}': expected an integer from ${min} to ${max}`);
  return n;
}

/** the Rust engine flags this server cannot honour: one line each, naming the flag and what to do instead */
function refuseUnavailable(a: BatchArgValues, env: Env): void {
  const variant = pick(a, "model-variant", env, "GIGASTT_MODEL_VARIANT");
  if (variant && variant.value.trim().toLowerCase() !== "e2e_rnnt")
    throw new GigasttError(
      "usage",
      `${variant.where} ${variant.value}: this server runs only the e2e_rnnt head (GigaAM v3 with punctuation, casing and digits); omit the flag or pass e2e_rnnt (the rnnt and multilingual CTC heads are not supported)`,
    );
  for (const [flag, name, what] of [
    ["punctuation", "GIGASTT_PUNCTUATION", "punctuation"],
    ["itn", "GIGASTT_ITN", "numbers as digits"],
  ] as const) {
    const v = pick(a, flag, env, name);
    if (!v) continue;
    const m = v.value.trim().toLowerCase();
    if (m === "auto" || m === "off" || m === "false" || m === "0") continue;
    if (m === "on" || m === "true" || m === "1")
      throw new GigasttError("usage", `${v.where} ${v.value}: the extra ${flag === "itn" ? "ITN" : "RuPunct"} pass belongs to the rnnt head, which this server does not run; the e2e_rnnt head already writes ${what} (use auto or off)`);
    throw new GigasttError("usage", `invalid value '${v.value}' for '${v.where}': expected auto, on or off`);
  }
  // VAD and hotwords: the lines `transcribe` gives (src/cli/transcribe-options.ts)
  for (const [flag, line] of Object.entries(UNAVAILABLE_FLAGS)) {
    const envName = `GIGASTT_${flag.toUpperCase().replaceAll("-", "_")}`;
    const given = a[flag as keyof typeof BATCH_ARGS];
    if (given === true || (typeof given === "string" && given !== "")) throw new GigasttError("usage", line);
    const e = env[envName]?.trim();
    if (!e) continue;
    if ((flag === "vad" || flag === "hotwords-default") && !parseBool(e, envName)) continue;
    throw new GigasttError("usage", `${line} (${envName} is set)`);
  }
}

export function parseBatchSetup(a: BatchArgValues, env: Env, defaults: { retries: number }): BatchSetup {
  refuseUnavailable(a, env);
  const precision = resolvePrecision(str(a.precision), env);
  const moveTo = pick(a, "move-to", env, "GIGASTT_BATCH_MOVE_TO")?.value ?? null;
  const deleteSource = flagOn(a, "delete-source", env, "GIGASTT_BATCH_DELETE_SOURCE");
  if (moveTo && deleteSource) throw new GigasttError("usage", "--move-to and --delete-source exclude each other: choose one");
  const poolFlag = str(a["pool-size"]) !== undefined ? "pool-size" : str(a.workers) !== undefined ? "workers" : null;
  const pool = poolFlag ? { value: str(a[poolFlag])!, where: `--${poolFlag}` } : undefined;
  const workers = pool
    ? count(pool, 1, 256)
    : chooseWorkers({ cores: Math.min(availableParallelism(), MAX_DEFAULT_WORKERS), availableBytes: availableMemory(), precision }).workers;
  const threads = pick(a, "encoder-intra-threads", env, "GIGASTT_ENCODER_INTRA_THREADS");
  const retries = pick(a, "retries", env, "GIGASTT_BATCH_RETRIES");
  const notes: string[] = [];
  if (pick(a, "punct-model-dir", env, "GIGASTT_PUNCT_MODEL_DIR")) notes.push("--punct-model-dir has no effect: it is used only by --punctuation on (the RuPunct model), which this gigastt does not have");
  const limit = (flag: "max-chars-per-line" | "max-words-per-line", name: string) => {
    const v = pick(a, flag, env, name);
    return v === undefined ? undefined : parseCount(v.value, v.where, 100_000);
  };
  const maxChars = limit("max-chars-per-line", "GIGASTT_MAX_CHARS_PER_LINE");
  const maxWords = limit("max-words-per-line", "GIGASTT_MAX_WORDS_PER_LINE");
  const wordTimestamps = flagOn(a, "word-timestamps", env, "GIGASTT_WORD_TIMESTAMPS");
  const hotwordWarnings: string[] = [];
  const sourced = (flag: "hotwords-file" | "hotwords-boost", envName: string) => {
    const v = pick(a, flag, env, envName);
    return v === undefined ? undefined : { value: v.value, from: v.where };
  };
  const hotwords = parseHotwordsConfig(
    { file: sourced("hotwords-file", "GIGASTT_HOTWORDS_FILE"), withDefaults: flagOn(a, "hotwords-default", env, "GIGASTT_HOTWORDS_DEFAULT"), boost: sourced("hotwords-boost", "GIGASTT_HOTWORDS_BOOST") },
    undefined,
    hotwordWarnings,
  );
  notes.push(...hotwordWarnings);
  const render: RenderOptions = Object.freeze({ ...(maxChars === undefined ? {} : { maxChars }), ...(maxWords === undefined ? {} : { maxWords }), ...(wordTimestamps ? { wordTimestamps } : {}) });
  return Object.freeze({
    modelDir: resolveModelDir(str(a["model-dir"]), env),
    precision,
    offline: resolveOffline(a.offline === true, env),
    skipQuantize: resolveSkipQuantize(undefined, env),
    workers,
    threadsPerWorker: threads ? count(threads, 1, 256) : 1,
    compactPauses: typeof a["compact-pauses"] === "boolean" ? a["compact-pauses"] : parseBoolEnv("GIGASTT_COMPACT_PAUSES", env.GIGASTT_COMPACT_PAUSES, true),
    hotwords,
    render,
    formats: Object.freeze(parseBatchFormats(pick(a, "format", env, "GIGASTT_FORMAT")?.value ?? DEFAULT_BATCH_FORMATS, str(a.format) !== undefined ? "--format" : env.GIGASTT_FORMAT ? "GIGASTT_FORMAT" : "--format")),
    outputDir: str(a["output-dir"]) ?? null,
    moveTo,
    deleteSource,
    retries: retries ? count(retries, 0, 100) : defaults.retries,
    overwrite: a.overwrite === true,
    notes: Object.freeze(notes),
  });
}

/** stderr lines for the batch commands (warnings hidden by --log-level error|silent) */
export function stderrLog(write: (s: string) => void = (s) => void process.stderr.write(s)): BatchLog {
  return {
    info: (m) => write(`${m}\n`),
    warn: (m) => void (warningsOn() && write(`warning: ${m}\n`)),
    error: (m) => write(`${m}\n`),
  };
}

export interface BatchEngine {
  readonly transcribe: TranscribeFile;
  readonly workers: number;
  close(): Promise<void>;
}

/** The model (downloaded when missing, unless offline) on `workers` Workers; each file through the one offline pipeline. */
export async function loadBatchEngine(s: BatchSetup, env: Env, log: BatchLog): Promise<BatchEngine> {
  const storeLog = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) };
  const files = await prepareMainInt8Encoder({ files: await obtainModel({ modelDir: s.modelDir, precision: s.precision, offline: s.offline, env }), skipQuantize: s.skipQuantize, log: storeLog });
  const mapped = await useMappedLayout({ files, log: { info: () => {}, warn: storeLog.warn } });
  const t = await Transcriber.fromFiles(mapped.files, { workers: s.workers, threadsPerWorker: s.threadsPerWorker, compactPauses: s.compactPauses, ...(s.hotwords ? { hotwords: s.hotwords } : {}) });
  return {
    workers: t.info.workers,
    transcribe: async (path, signal) => {
      let warnings: readonly string[] = [];
      const audio = namingInput(decodeAudioStream(openAudioSource(path), { onWarnings: (w) => (warnings = w) }), path);
      try {
        const result = await t.transcribeStream(audio, { signal, session: path });
        if (warnings.length) log.warn(`${path}: damaged audio, the valid part was transcribed: ${warnings.join("; ")}`);
        return warnings.length ? { ...result, warnings } : result;
      } finally {
        await audio.return(undefined);
      }
    },
    close: () => t.close(),
  };
}
