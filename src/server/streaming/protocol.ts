/**
 * WebSocket protocol 1.0 (drop-in with the Rust gigastt, anchor §4): the
 * messages a client may send, the messages the server sends, and their
 * parsing/encoding. Pure: no sockets, no timers.
 */
import { jsonTooDeep } from "../../json-guard.ts";
import { CATALOGUE, type ErrorCode, GigasttError } from "../../errors.ts";
import { wordsToText } from "../../decode/detok.ts";
import type { Word } from "../../types.ts";

export const PROTOCOL_VERSION = "1.0";
export { MODEL_ID } from "../../stream/language.ts";
import { MODEL_ID } from "../../stream/language.ts";
/** input rates a client may announce (`configure` or `?sample_rate=`) */
export const SUPPORTED_RATES = Object.freeze([8000, 16000, 24000, 44100, 48000] as const);
/** the rate assumed when the client says nothing (the Rust server's default) */
export const DEFAULT_INPUT_RATE = 48000;
/** text (JSON) control messages larger than this are refused with `bad_message` */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * 1024;

export type ClientMessage =
  | {
      readonly type: "configure";
      readonly sampleRate?: number;
      readonly protocolVersion?: string;
      /** as sent (an array of strings or a comma-separated string); checked by the session */
      readonly hotwords?: unknown;
      readonly hotwordsBoost?: unknown;
      readonly endpointMode?: unknown;
      readonly minSilenceMs?: unknown;
    }
  | { readonly type: "stop" };

export interface ReadyMessage {
  readonly type: "ready";
  readonly model: string;
  readonly sample_rate: number;
  readonly version: string;
  readonly supported_rates: readonly number[];
  /** present when `sample_rate` is the default, not the client's choice: the rule in one line */
  readonly hint?: string;
}

export interface ResultMessage {
  readonly type: "partial" | "final";
  readonly text: string;
  readonly words: readonly Word[];
  readonly is_final: boolean;
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
      const msg: { type: "configure"; sampleRate?: number; protocolVersion?: string; hotwords?: unknown; hotwordsBoost?: unknown; endpointMode?: unknown; minSilenceMs?: unknown } = {
        type: "configure",
      };
      if (o.sample_rate !== undefined && o.sample_rate !== null) msg.sampleRate = o.sample_rate as number;
      if (o.protocol_version !== undefined && o.protocol_version !== null) msg.protocolVersion = o.protocol_version as string;
      if (o.hotwords !== undefined) msg.hotwords = o.hotwords;
      if (o.hotwords_boost !== undefined && o.hotwords_boost !== null) msg.hotwordsBoost = o.hotwords_boost;
      // judged by the session (WsSession.configureEndpointing): it knows whether the VAD is loaded
      if (o.endpoint_mode !== undefined && o.endpoint_mode !== null) msg.endpointMode = o.endpoint_mode;
      if (o.min_silence_ms !== undefined && o.min_silence_ms !== null) msg.minSilenceMs = o.min_silence_ms;
      return msg;
    }
    default:
      throw badMessage(typeof o.type === "string" ? "Unknown message type" : "Missing message type");
  }
}

function badMessage(message: string): GigasttError {
  return new GigasttError("bad_message", message);
}

/** `ready.hint` when the client named no rate: a 16 kHz client that forgot to would get a wrong transcript silently. */
export const DEFAULT_RATE_HINT = `sample_rate ${DEFAULT_INPUT_RATE} is assumed (the default, as in the Rust server): send PCM16 mono at 48 kHz, or set ?sample_rate= in the URL or send {"type":"configure","sample_rate":16000} before any audio`;

/** `assumed`: the rate is the default, not the client's (`?sample_rate=`), so `hint` says how to change it. */
export function readyMessage(sampleRate: number = DEFAULT_INPUT_RATE, assumed = false): ReadyMessage {
  return { type: "ready", model: MODEL_ID, sample_rate: sampleRate, version: PROTOCOL_VERSION, supported_rates: SUPPORTED_RATES, ...(assumed ? { hint: DEFAULT_RATE_HINT } : {}) };
}

export function resultMessage(type: "partial" | "final", words: readonly Word[], timestamp: number): ResultMessage {
  return { type, text: wordsToText(words), words: words.map(roundWord), is_final: type === "final", timestamp };
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
