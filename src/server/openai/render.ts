/**
 * OpenAI-shaped bodies for `POST /v1/audio/transcriptions`: the result in each
 * `response_format`, the streaming events, and errors as
 * `{"error": {"message", "type", "param", "code"}}` with the catalogue's HTTP
 * status (so the `openai` SDKs raise their typed exceptions) and our stable
 * code in `code`.
 */
import { deflateSync } from "node:zlib";
import type { GigasttError } from "../../errors.ts";
import { formatResult } from "../../format/index.ts";
import type { TranscriptResult, Word } from "../../types.ts";
import type { OpenAiParams } from "./params.ts";

export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: "invalid_request_error" | "server_error";
    readonly param: string | null;
    readonly code: string;
  };
}

export function openAiErrorBody(e: GigasttError): OpenAiErrorBody {
  const param = e.details.param;
  return {
    error: {
      message: e.message,
      type: e.http >= 500 ? "server_error" : "invalid_request_error",
      param: typeof param === "string" ? param : null,
      code: e.code,
    },
  };
}

/** The error response; `extra` headers are added. Busy errors carry Retry-After (s) and Retry-After-Ms. */
export function openAiErrorResponse(e: GigasttError, extra?: Record<string, string>): Response {
  const headers = new Headers(extra);
  headers.set("content-type", "application/json; charset=utf-8");
  const retry = e.details.retry_after_ms;
  if (typeof retry === "number" && Number.isFinite(retry)) {
    const ms = Math.max(0, Math.round(retry));
    headers.set("retry-after", String(Math.max(1, Math.ceil(ms / 1000))));
    headers.set("retry-after-ms", String(ms));
  }
  return new Response(JSON.stringify(openAiErrorBody(e)), { status: e.http, headers });
}

const CONTENT_TYPES = {
  json: "application/json; charset=utf-8",
  verbose_json: "application/json; charset=utf-8",
  text: "text/plain; charset=utf-8",
  srt: "application/x-subrip; charset=utf-8",
  vtt: "text/vtt; charset=utf-8",
} as const;

export interface VerboseSegment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  avg_logprob: number;
  compression_ratio: number;
  no_speech_prob: number;
  /** `channels=split`: the source channel, and the same as a speaker label */
  channel?: number;
  speaker?: string;
}

export interface VerboseJson {
  task: "transcribe";
  language: "russian";
  duration: number;
  text: string;
  segments?: VerboseSegment[];
  words?: { word: string; start: number; end: number; channel?: number }[];
}

const ms = (s: number) => Math.round(s * 1000) / 1000;
const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * Whisper's `compression_ratio`: UTF-8 bytes of the text over its zlib size
 * (high values flag repetitive text).
 */
export function compressionRatio(text: string): number {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length === 0) return 0;
  return bytes.length / deflateSync(bytes).length;
}

/** Mean natural log of the words' confidences (mean token probabilities). */
export function avgLogprob(words: readonly Word[]): number {
  if (words.length === 0) return 0;
  let sum = 0;
  for (const w of words) sum += Math.log(Number.isFinite(w.confidence) ? Math.min(1, Math.max(1e-6, w.confidence)) : 1e-6);
  return sum / words.length;
}

/**
 * The words of each segment: segments are consecutive runs of the non-empty
 * words (their texts joined by one space), as `buildSegments` makes them.
 */
function wordsPerSegment(result: TranscriptResult): Word[][] {
  const norm = (w: Word) => w.word.replace(/\s+/gu, " ").trim();
  // a split transcript interleaves channels: each segment takes from its own channel's words
  const byChannel = new Map<number, { words: Word[]; i: number }>();
  for (const w of result.words) {
    if (norm(w) === "") continue;
    const key = w.channel ?? -1;
    let g = byChannel.get(key);
    if (!g) byChannel.set(key, (g = { words: [], i: 0 }));
    g.words.push(w);
  }
  const out: Word[][] = [];
  for (const seg of result.segments) {
    const g = byChannel.get(seg.channel ?? -1);
    const mine: Word[] = [];
    let text = "";
    while (g && g.i < g.words.length && text !== seg.text) {
      const w = g.words[g.i++]!;
      mine.push(w);
      text = text ? `${text} ${norm(w)}` : norm(w);
    }
    out.push(mine);
  }
  return out;
}

/**
 * `verbose_json`: segments (our subtitle cues) with Whisper's fields: `seek`
 * is the segment start in 10 ms frames, `tokens` is empty (our token ids are
 * not Whisper's), `temperature` 0 (greedy decoding), `avg_logprob` from the
 * word confidences, `compression_ratio` computed like Whisper's,
 * `no_speech_prob` 0 (segments only exist where speech was decoded).
 */
export function toVerboseJson(result: TranscriptResult, params: Pick<OpenAiParams, "segments" | "words">): VerboseJson {
  const out: VerboseJson = { task: "transcribe", language: "russian", duration: ms(result.duration), text: result.text };
  if (params.segments) {
    const perSeg = wordsPerSegment(result);
    out.segments = result.segments.map((s, id) => ({
      id,
      seek: Math.round(s.start * 100),
      start: ms(s.start),
      end: ms(s.end),
      text: s.text,
      tokens: [],
      temperature: 0,
      avg_logprob: round4(avgLogprob(perSeg[id] ?? [])),
      compression_ratio: round4(compressionRatio(s.text)),
      no_speech_prob: 0,
      ...(s.channel === undefined ? {} : { channel: s.channel, speaker: `channel ${s.channel}` }),
    }));
  }
  if (params.words) out.words = result.words.map((w) => ({ word: w.word, start: ms(w.start), end: ms(w.end), ...(w.channel === undefined ? {} : { channel: w.channel }) }));
  return out;
}

/** The non-streaming response in the asked `response_format`. */
export function resultResponse(result: TranscriptResult, params: OpenAiParams): Response {
  const f = params.responseFormat;
  let body: string;
  switch (f) {
    case "json":
      body = JSON.stringify({ text: result.text });
      break;
    case "verbose_json":
      body = JSON.stringify(toVerboseJson(result, params));
      break;
    default:
      body = formatResult(result, f);
  }
  return new Response(body, { headers: { "content-type": CONTENT_TYPES[f] } });
}

/** `transcript.text.delta`: one per final utterance; deltas concatenate to the done text */
export function deltaEvent(delta: string): { type: "transcript.text.delta"; delta: string } {
  return { type: "transcript.text.delta", delta };
}

export function doneEvent(text: string): { type: "transcript.text.done"; text: string } {
  return { type: "transcript.text.done", text };
}

/** A mid-stream failure: the SDKs raise on a data line with an `error` object. */
export function errorEvent(e: GigasttError): { type: "error" } & OpenAiErrorBody {
  return { type: "error", ...openAiErrorBody(e) };
}
