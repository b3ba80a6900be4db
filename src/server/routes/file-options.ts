/**
 * The query options of the file routes (`POST /v1/transcribe`, its SSE twin, `POST /v1/jobs`
 * and `/v1/jobs/{id}/result`), as the Rust gigastt names them: `format`, `download`,
 * `max_chars_per_line` / `max_words_per_line`, `word_timestamps`, `segments`, `codec` +
 * `sample_rate`, `channels` / `diarization`, `punctuation`, `itn`, `variant`. Everything is
 * checked before a slot is taken or a byte is read; the first bad option answers with its
 * code (`invalid_format`, `unsupported_codec`, `invalid_sample_rate`, `conflicting_modes`,
 * `punctuation_not_available`, `variant_not_loaded`, `diarization_not_available`, `usage`).
 */
import { type RawAudio, rawAudioOf } from "../../audio/raw.ts";
import { GigasttError } from "../../errors.ts";
import { type ChannelMode, parseChannels } from "../../format/channels.ts";
import { CONTENT_TYPES, contentDisposition, defaultFilename, type OutputFormat, parseOutputFormat, type RenderOptions } from "../../format/index.ts";
import { boolOf, parseCount } from "../../values.ts";

export type Query = Record<string, string | undefined>;

/** how a transcript is rendered: the format and its options */
export interface Rendering {
  readonly format: OutputFormat;
  readonly render: RenderOptions;
  /** `download=`: the attachment's file name (`""`: `transcript.<ext>`); null: no `Content-Disposition` */
  readonly download: string | null;
}

export interface FileOptions extends Rendering {
  readonly channels: ChannelMode;
  /** `codec=` + `sample_rate=`: the body is headerless telephone audio */
  readonly raw: RawAudio | null;
}

/** the longest line limit accepted (a larger one is no limit in practice) */
const MAX_LINE_LIMIT = 100_000;
/** the longest `download=` name (a file name, as most file systems allow) */
const MAX_DOWNLOAD_NAME = 255;
const given = (v: string | undefined): v is string => v !== undefined && v !== "";

/** `name` as a boolean (true/false, 1/0, yes/no, on/off); null when absent; 400 `usage` otherwise */
function queryBool(q: Query, name: string): boolean | null {
  const v = q[name];
  if (!given(v)) return null;
  const b = boolOf(v);
  if (b === null) throw new GigasttError("usage", `invalid value '${v.slice(0, 20)}' for '${name}': expected true or false`);
  return b;
}

/**
 * `?format=`, or its alias `?response_format=` (the OpenAI route's name): json (default), txt
 * (text), srt, vtt, md (markdown), any case; both given and different → 400 `usage`.
 */
export function parseFormat(v: unknown, alias?: unknown): OutputFormat {
  const has = (x: unknown) => x !== undefined && x !== null && x !== "";
  if (has(v) && has(alias) && String(v).toLowerCase() !== String(alias).toLowerCase())
    throw new GigasttError("usage", `format=${String(v).slice(0, 20)} and response_format=${String(alias).slice(0, 20)} disagree: give one of them`);
  const f = has(v) ? v : alias;
  if (!has(f)) return "json";
  if (f === "verbose_json") throw new GigasttError("invalid_format", "unsupported export format \"verbose_json\" for 'format': it is on POST /v1/audio/transcriptions; here json, txt, srt, vtt or md");
  return parseOutputFormat(String(f), "format");
}

/** the rendering options of `q` (format from the query; a form's field may replace it later, see {@link withFormat}) */
export function renderingOf(q: Query): Rendering {
  const format = parseFormat(q.format, q.response_format);
  const limit = (name: string) => (given(q[name]) ? parseCount(q[name]!, name, MAX_LINE_LIMIT) : undefined);
  const maxChars = limit("max_chars_per_line");
  const maxWords = limit("max_words_per_line");
  const render: RenderOptions = {
    ...(maxChars === undefined ? {} : { maxChars }),
    ...(maxWords === undefined ? {} : { maxWords }),
    ...(queryBool(q, "word_timestamps") ? { wordTimestamps: true } : {}),
    ...(queryBool(q, "segments") ? { segments: true } : {}),
  };
  const download = q.download === undefined ? null : q.download.trim();
  if (download !== null && [...download].length > MAX_DOWNLOAD_NAME) throw new GigasttError("usage", `'download' names a file of at most ${MAX_DOWNLOAD_NAME} characters`);
  return { format, render, download };
}

export function withFormat(r: Rendering, format: OutputFormat): Rendering {
  return { ...r, format };
}

/** the model here: GigaAM v3 e2e_rnnt (Rust's `variant` token; `e2e-rnnt` and any case accepted) */
const LOADED_VARIANT = "e2e_rnnt";

/** Every option of a file request, checked in Rust's order. */
export function fileOptionsOf(q: Query): FileOptions {
  const rendering = renderingOf(q);
  const channels = parseChannels(q.channels, "channels");
  const diarization = queryBool(q, "diarization");
  if (channels === "split" && diarization) throw new GigasttError("conflicting_modes");
  if (diarization) throw new GigasttError("diarization_not_available");
  const raw = given(q.codec) ? rawAudioOf(q.codec, q.sample_rate, { codec: "codec", rate: "sample_rate" }) : null;
  if (given(q.variant) && q.variant.trim().toLowerCase().replaceAll("-", "_") !== LOADED_VARIANT)
    throw new GigasttError("variant_not_loaded", `Requested model variant ${JSON.stringify(q.variant.slice(0, 20))} is not loaded: this server runs ${LOADED_VARIANT}`);
  // e2e_rnnt punctuates and writes digits itself: no separate punctuation model is loaded (Rust answers the same
  // 409 for this head); `punctuation=false` and `itn` either way keep the model's output, as in Rust
  if (queryBool(q, "punctuation"))
    throw new GigasttError("punctuation_not_available", "punctuation requested but no punctuation model is loaded: the e2e_rnnt model punctuates and capitalises by itself, leave punctuation out");
  queryBool(q, "itn");
  return { ...rendering, channels, raw };
}

/** The rendered transcript as a response: its content type and, with `download=`, `Content-Disposition`. */
export function renderedResponse(body: string, r: Rendering): Response {
  const headers: Record<string, string> = { "content-type": CONTENT_TYPES[r.format] };
  if (r.download !== null) headers["content-disposition"] = contentDisposition(r.download || defaultFilename(r.format));
  return new Response(body, { headers });
}
