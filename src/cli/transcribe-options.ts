/**
 * `gigastt transcribe`'s output and Rust-compatible flags, resolved once from the flags and
 * their `GIGASTT_*` variables (a flag wins over its variable), as the Rust gigastt 2.15
 * names them: `-f/--format` (default txt), `-o/--output`, `--max-chars-per-line` /
 * `--max-words-per-line`, `--word-timestamps`, `--stereo-speakers` (= `--channels split`),
 * `--codec` + `--sample-rate`, `--model-variant`, `--punctuation`, `--itn`,
 * `--encoder-intra-threads` (= `--threads`). Flags that need what this build does not have
 * (VAD, the RuPunct model, the ITN pass, other heads) fail with one clear line.
 */
import { type RawAudio, rawAudioOf } from "../audio/raw.ts";
import { GigasttError } from "../errors.ts";
import { type ChannelMode, parseChannels } from "../format/channels.ts";
import { type OutputFormat, parseOutputFormat, type RenderOptions } from "../format/index.ts";
import type { Env } from "../store/env.ts";
import { parseBool, parseCount } from "../values.ts";

/** the flags this module reads (citty's parsed values: strings and booleans) */
export interface RustTranscribeArgs {
  readonly format?: string;
  readonly output?: string;
  readonly maxCharsPerLine?: string;
  readonly maxWordsPerLine?: string;
  readonly wordTimestamps?: boolean;
  readonly stereoSpeakers?: boolean;
  readonly channels?: string;
  readonly codec?: string;
  readonly sampleRate?: string;
  readonly modelVariant?: string;
  readonly punctuation?: string;
  readonly punctModelDir?: string;
  readonly itn?: string;
  readonly threads?: string;
  readonly encoderIntraThreads?: string;
  /** flags of features this build lacks: name → value given */
  readonly unavailable?: Readonly<Record<string, string | boolean | undefined>>;
}

export interface TranscribeOutput {
  readonly format: OutputFormat;
  readonly render: RenderOptions;
  /** `-o FILE`: written atomically; null: stdout */
  readonly output: string | null;
  readonly channels: ChannelMode;
  readonly raw: RawAudio | null;
  /** `--threads` or `--encoder-intra-threads` */
  readonly threads?: string;
  /** one line each, for stderr */
  readonly warnings: readonly string[];
}

const LINE_MAX = 100_000;
const VAD_LATER = "is not available on this command: voice activity detection is a serve option here (gigastt serve --vad; files then skip non-speech on every route)";

/** the features this build lacks, and what to say when their flag is given */
export const UNAVAILABLE_FLAGS: Readonly<Record<string, string>> = {
  vad: `--vad ${VAD_LATER}; leave it out (the whole file is decoded; long pauses are shortened, see --no-compact-pauses)`,
  "vad-threshold": `--vad-threshold ${VAD_LATER}; leave it out`,
  "vad-min-silence-ms": `--vad-min-silence-ms ${VAD_LATER}; leave it out`,
  "vad-model-dir": `--vad-model-dir ${VAD_LATER}; leave it out`,
};

function pick(flag: string | undefined, env: Env, name: string): string | undefined {
  return flag ?? (env[name] !== undefined && env[name] !== "" ? env[name] : undefined);
}

/** `auto|on|off` of `--punctuation` / `--itn`: on needs a pass this build does not have */
function mode(value: string | undefined, flag: string, refusal: string): void {
  if (value === undefined) return;
  const v = value.trim().toLowerCase();
  if (v === "auto" || v === "off") return;
  if (v === "on") throw new GigasttError("feature_unavailable", `${flag} on ${refusal}: use ${flag} auto (or off)`);
  throw new GigasttError("usage", `invalid value '${value}' for '${flag}': expected auto, on or off`);
}

function checkUnavailable(given: RustTranscribeArgs["unavailable"], env: Env): void {
  for (const [name, line] of Object.entries(UNAVAILABLE_FLAGS)) {
    const envName = `GIGASTT_${name.toUpperCase().replaceAll("-", "_")}`;
    const v = given?.[name] ?? env[envName];
    if (v === undefined || v === "" || v === false) continue;
    if (typeof v === "string" && name === "vad" && !parseBool(v, envName)) continue;
    throw new GigasttError("feature_unavailable", line);
  }
}

function checkModel(a: RustTranscribeArgs, env: Env): string[] {
  const variant = pick(a.modelVariant, env, "GIGASTT_MODEL_VARIANT");
  if (variant !== undefined && variant.trim().toLowerCase().replaceAll("-", "_") !== "e2e_rnnt")
    throw new GigasttError("feature_unavailable", `--model-variant ${variant}: this gigastt runs GigaAM v3 e2e_rnnt only (punctuated, cased, numbers as digits); use --model-variant e2e_rnnt or leave it out`);
  mode(pick(a.punctuation, env, "GIGASTT_PUNCTUATION"), "--punctuation", "needs the RuPunct punctuation model of the rnnt head, which this gigastt does not have; e2e_rnnt already punctuates and capitalises");
  mode(pick(a.itn, env, "GIGASTT_ITN"), "--itn", "needs the rnnt head's number normaliser, which this gigastt does not have; e2e_rnnt already writes numbers as digits");
  return a.punctModelDir === undefined ? [] : ["--punct-model-dir has no effect: it is used only by --punctuation on (the RuPunct model), which this gigastt does not have"];
}

function channelsOf(a: RustTranscribeArgs, env: Env): ChannelMode {
  const stereo = a.stereoSpeakers ?? (env.GIGASTT_STEREO_SPEAKERS ? parseBool(env.GIGASTT_STEREO_SPEAKERS, "GIGASTT_STEREO_SPEAKERS") : false);
  const channels = parseChannels(a.channels, "--channels");
  if (stereo && a.channels === "mix") throw new GigasttError("usage", "--stereo-speakers and --channels mix disagree: give one of them");
  return stereo ? "split" : channels;
}

export function resolveTranscribeOutput(a: RustTranscribeArgs, env: Env): TranscribeOutput {
  checkUnavailable(a.unavailable, env);
  const warnings = checkModel(a, env);
  const format = parseOutputFormat(pick(a.format, env, "GIGASTT_FORMAT") ?? "txt", a.format === undefined && env.GIGASTT_FORMAT ? "GIGASTT_FORMAT" : "--format");
  const limit = (flag: string | undefined, name: string, envName: string) => {
    const v = pick(flag, env, envName);
    return v === undefined ? undefined : parseCount(v, flag === undefined ? envName : name, LINE_MAX);
  };
  const maxChars = limit(a.maxCharsPerLine, "--max-chars-per-line", "GIGASTT_MAX_CHARS_PER_LINE");
  const maxWords = limit(a.maxWordsPerLine, "--max-words-per-line", "GIGASTT_MAX_WORDS_PER_LINE");
  const wordTimestamps = a.wordTimestamps ?? (env.GIGASTT_WORD_TIMESTAMPS ? parseBool(env.GIGASTT_WORD_TIMESTAMPS, "GIGASTT_WORD_TIMESTAMPS") : false);
  const codec = pick(a.codec, env, "GIGASTT_CODEC");
  const rate = pick(a.sampleRate, env, "GIGASTT_SAMPLE_RATE");
  if (codec === undefined && a.sampleRate !== undefined) throw new GigasttError("usage", "--sample-rate is the rate of a raw --codec input: give --codec pcmu|pcma|g722 with it");
  if (a.threads !== undefined && a.encoderIntraThreads !== undefined && a.threads !== a.encoderIntraThreads)
    throw new GigasttError("usage", "--threads and --encoder-intra-threads disagree: give one of them");
  const threads = a.threads ?? pick(a.encoderIntraThreads, env, "GIGASTT_ENCODER_INTRA_THREADS");
  const output = pick(a.output, env, "GIGASTT_OUTPUT") ?? null;
  return {
    format,
    render: { ...(maxChars === undefined ? {} : { maxChars }), ...(maxWords === undefined ? {} : { maxWords }), ...(wordTimestamps ? { wordTimestamps } : {}) },
    output: output === "-" ? null : output,
    channels: channelsOf(a, env),
    raw: codec === undefined ? null : rawAudioOf(codec, rate, { codec: "--codec", rate: "--sample-rate" }),
    ...(threads === undefined ? {} : { threads }),
    warnings,
  };
}
