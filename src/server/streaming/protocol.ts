/**
 * WebSocket protocol 1.0 (drop-in with the Rust gigastt, anchor §4): the
 * messages a client may send, the messages the server sends, and their
 * parsing/encoding. Pure: no sockets, no timers.
 */
import { jsonTooDeep } from "../../json-guard.ts";
import { CATALOGUE, type ErrorCode, GigasttError } from "../../errors.ts";
import { wordsToText } from "../../decode/detok.ts";
import type { Word } from "../../types.ts";

/** the protocol this server speaks (Rust 2.15: 1.1, whose additions are optional fields and error codes) */
export const PROTOCOL_VERSION = "1.1";
/** the oldest a client may ask for in `configure.protocol_version` */
export const MIN_PROTOCOL_VERSION = "1.0";
export const ACCEPTED_PROTOCOL_VERSIONS: readonly string[] = Object.freeze([MIN_PROTOCOL_VERSION, PROTOCOL_VERSION]);
export { MODEL_ID } from "../../stream/language.ts";
import { MODEL_ID } from "../../stream/language.ts";
/** input rates a client may announce (`configure` or `?sample_rate=`) */
export const SUPPORTED_RATES = Object.freeze([8000, 16000, 24000, 44100, 48000] as const);
/** the rate assumed when the client says nothing (the Rust server's default) */
export const DEFAULT_INPUT_RATE = 48000;
/** text (JSON) control messages larger than this are refused with `bad_message` */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * 1024;

/** `configure` as sent (values unchecked: the session checks them, in Rust's order) */
export interface ConfigureMessage {
  readonly type: "configure";
  readonly sampleRate?: unknown;
  readonly protocolVersion?: unknown;
  readonly diarization?: unknown;
  readonly punctuation?: unknown;
  readonly itn?: unknown;
  readonly endpointMode?: unknown;
  readonly minSilenceMs?: unknown;
  /** as sent (an array of strings or a comma-separated string); checked by the session */
  readonly hotwords?: unknown;
  readonly hotwordsBoost?: unknown;
}

export type ClientMessage =
  | ConfigureMessage
  | { readonly type: "stop" }
  /** a JSON object with another `type`: ignored, as the Rust server does (forward compatibility) */
  | { readonly type: "unknown"; readonly name: string };

export interface ReadyMessage {
  readonly type: "ready";
  readonly model: string;
  readonly sample_rate: number;
  readonly version: string;
  readonly supported_rates: readonly number[];
  /** the oldest `protocol_version` a client may ask for */
  readonly min_protocol_version: string;
  /** `--max-session-secs` (0 = no cap), so a client can plan its reconnect */
  readonly max_session_secs: number;
  /** `--idle-timeout-secs` (0 = none) */
  readonly idle_timeout_secs: number;
  /** present when `sample_rate` is the default, not the client's choice: the rule in one line */
  readonly hint?: string;
}

export interface ResultMessage {
  readonly type: "partial" | "final";
  readonly text: string;
  readonly words: readonly Word[];
  readonly is_final: boolean;
  /** finals that end an utterance (a pause, stop); omitted on partials and at the 20 s cap */
  readonly speech_final?: true;
  /** why a final closed: `blank` (a pause, the energy endpoint), `vad`, `stop`; omitted where speech_final is */
  readonly endpoint_reason?: "vad" | "blank" | "stop";
  /** duration-weighted mean word confidence (4 decimals); omitted without words */
  readonly confidence?: number;
  /** server wall clock, Unix seconds */
  readonly timestamp: number;
}

export interface ErrorMessage {
  readonly type: "error";
  readonly message: string;
  readonly code: ErrorCode;
  readonly retry_after_ms?: number;
}

export function isSupportedRate(rate: unknown): rate is number {
  return typeof rate === "number" && (SUPPORTED_RATES as readonly number[]).includes(rate);
}

/** `?sample_rate=` → rate; absent → undefined; anything else → invalid_sample_rate */
export function parseRateParam(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const n = /^\d{4,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!isSupportedRate(n)) throw invalidRate();
  return n;
}

export function invalidRate(): GigasttError {
  return new GigasttError("invalid_sample_rate", `Unsupported sample rate. Supported: ${SUPPORTED_RATES.join(", ")}`);
}

/**
 * A text frame → a client message. Accepts the raw string or a value already
 * parsed by the framework. Malformed JSON, a non-object, an unknown or missing
 * `type` → GigasttError `bad_message` (the session continues).
 * `configure` fields are returned as given; their values are checked by the session.
 */
export function parseClientMessage(raw: unknown): ClientMessage {
  let v: unknown = raw;
  if (typeof raw === "string") {
    if (Buffer.byteLength(raw) > MAX_CONTROL_MESSAGE_BYTES) throw badMessage("Control message too large");
    if (jsonTooDeep(raw)) throw badMessage("Control message nested too deeply");
    try {
      v = JSON.parse(raw);
    } catch {
      throw badMessage("Malformed JSON");
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badMessage("Expected a JSON object with a type");
  const o = v as Record<string, unknown>;
  switch (o.type) {
    case "stop":
      return { type: "stop" };
    case "configure": {
      const msg: Record<string, unknown> = { type: "configure" };
      for (const [wire, key] of CONFIGURE_FIELDS) if (o[wire] !== undefined && o[wire] !== null) msg[key] = o[wire];
      return msg as unknown as ConfigureMessage;
    }
    default:
      if (typeof o.type !== "string") throw badMessage("Missing message type");
      return { type: "unknown", name: o.type.slice(0, 64) };
  }
}

const CONFIGURE_FIELDS = [
  ["sample_rate", "sampleRate"],
  ["protocol_version", "protocolVersion"],
  ["diarization", "diarization"],
  ["punctuation", "punctuation"],
  ["itn", "itn"],
  ["endpoint_mode", "endpointMode"],
  ["min_silence_ms", "minSilenceMs"],
  ["hotwords", "hotwords"],
  ["hotwords_boost", "hotwordsBoost"],
] as const;

function badMessage(message: string): GigasttError {
  return new GigasttError("bad_message", message);
}

/** `ready.hint` when the client named no rate: a 16 kHz client that forgot to would get a wrong transcript silently. */
export const DEFAULT_RATE_HINT = `sample_rate ${DEFAULT_INPUT_RATE} is assumed (the default, as in the Rust server): send PCM16 mono at 48 kHz, or set ?sample_rate= in the URL or send {"type":"configure","sample_rate":16000} before any audio`;

/** `assumed`: the rate is the default, not the client's (`?sample_rate=`), so `hint` says how to change it. */
export function readyMessage(
  sampleRate: number = DEFAULT_INPUT_RATE,
  assumed = false,
  limits: { readonly maxSessionSecs: number; readonly idleTimeoutSecs: number } = { maxSessionSecs: 0, idleTimeoutSecs: 0 },
): ReadyMessage {
  return {
    type: "ready",
    model: MODEL_ID,
    sample_rate: sampleRate,
    version: PROTOCOL_VERSION,
    supported_rates: SUPPORTED_RATES,
    min_protocol_version: MIN_PROTOCOL_VERSION,
    max_session_secs: limits.maxSessionSecs,
    idle_timeout_secs: limits.idleTimeoutSecs,
    ...(assumed ? { hint: DEFAULT_RATE_HINT } : {}),
  };
}

export interface ResultFacts {
  readonly confidence?: number | undefined;
  readonly speechFinal?: boolean;
  readonly endpointReason?: "vad" | "blank" | "stop" | null;
}

export function resultMessage(type: "partial" | "final", words: readonly Word[], timestamp: number, facts: ResultFacts = {}): ResultMessage {
  const final = type === "final";
  const speechFinal = final && facts.speechFinal === true;
  return {
    type,
    text: wordsToText(words),
    words: words.map(roundWord),
    is_final: final,
    ...(speechFinal ? { speech_final: true as const } : {}),
    ...(speechFinal && facts.endpointReason ? { endpoint_reason: facts.endpointReason } : {}),
    ...(facts.confidence !== undefined && words.length > 0 ? { confidence: round4(facts.confidence) } : {}),
    timestamp,
  };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** What a client is told when a decode failed mid-stream: `inference_timeout` as such (Rust's code), anything else as `inference_error`. */
export function inferenceFailure(e: unknown): GigasttError {
  return e instanceof GigasttError && e.code === "inference_timeout" ? e : new GigasttError("inference_error");
}

/** A safe client-facing error: the code's message (or the error's own safe message) and retry hint. */
export function errorMessage(e: unknown): ErrorMessage {
  if (e instanceof GigasttError) {
    const retry = e.details.retry_after_ms;
    return {
      type: "error",
      message: e.message,
      code: e.code,
      ...(typeof retry === "number" ? { retry_after_ms: retry } : {}),
    };
  }
  return { type: "error", message: CATALOGUE.internal.message, code: "internal" };
}

/** Wall-clock Unix seconds (the `timestamp` field). */
export function unixSeconds(now: () => number = Date.now): number {
  return now() / 1000;
}

/** confidence to 4 decimals, like the REST JSON */
export function roundWord(w: Word): Word {
  return { word: w.word, start: w.start, end: w.end, confidence: Math.round(w.confidence * 1e4) / 1e4 };
}
