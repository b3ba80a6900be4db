/**
 * The one error catalogue of gigastt.
 *
 * Every failure a user can meet has a stable `code`, an HTTP status, a CLI
 * exit code and (where it can happen on a WebSocket) a close code. Messages
 * given to clients are safe: no paths, stack traces or model internals.
 * Codes kept from the Rust gigastt (drop-in clients match on them) are marked
 * `rust: true`.
 *
 * This module imports nothing: the inference core may throw these errors
 * without pulling in the server, the network or the logger.
 */

/** CLI exit codes: one table for every command (README "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** runtime failure; also `healthcheck` unhealthy and `models verify` mismatch */
  runtime: 1,
  /** usage: unknown flag, bad value, refused bind */
  usage: 2,
  /** the audio could not be used */
  badAudio: 3,
  /** model missing, invalid, failing its checksum, or unreachable/offline */
  model: 4,
  /** network failure after retries */
  network: 5,
  /** disk full */
  diskFull: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface CodeSpec {
  /** HTTP status used when this error ends a request */
  readonly http: number;
  /** CLI exit code used when this error ends a command */
  readonly exit: ExitCode;
  /** WebSocket close code when this error ends a session (undefined: session continues) */
  readonly wsClose?: number;
  /** generic, safe message used when none is given */
  readonly message: string;
  /** the Rust gigastt emits this code too */
  readonly rust?: boolean;
}

export const CATALOGUE = {
  // ---- audio input -------------------------------------------------------
  empty_body: { http: 400, exit: EXIT.badAudio, message: "Request body is empty", rust: true },
  invalid_audio: { http: 422, exit: EXIT.badAudio, message: "The audio could not be decoded", rust: true },
  unsupported_format: { http: 415, exit: EXIT.badAudio, message: "Unsupported audio format" },
  audio_too_short: { http: 422, exit: EXIT.badAudio, message: "The audio is too short to transcribe" },
  audio_too_long: { http: 413, exit: EXIT.badAudio, message: "The audio is longer than the allowed duration" },
  transcription_error: { http: 422, exit: EXIT.runtime, message: "Transcription failed. Check audio format.", rust: true },
  // ---- usage / config ----------------------------------------------------
  usage: { http: 400, exit: EXIT.usage, message: "Invalid usage" },
  invalid_format: { http: 400, exit: EXIT.usage, message: "Unsupported export format", rust: true },
  unsupported_codec: { http: 400, exit: EXIT.usage, message: "Unsupported codec. Supported: pcmu (ulaw), pcma (alaw), g722", rust: true },
  conflicting_modes: { http: 400, exit: EXIT.usage, message: "channels=split and diarization=true are mutually exclusive", rust: true },
  punctuation_not_available: { http: 409, exit: EXIT.usage, message: "punctuation requested but no punctuation model is loaded", rust: true },
  variant_not_loaded: { http: 409, exit: EXIT.usage, message: "Requested model variant is not loaded", rust: true },
  diarization_not_available: { http: 409, exit: EXIT.usage, message: "Speaker diarization is not available on this server: for a stereo call use channels=split" },
  unsupported_language: { http: 400, exit: EXIT.usage, message: "Unsupported language: only Russian (ru) is supported" },
  too_many_hotwords: { http: 400, exit: EXIT.usage, message: "Too many hotwords (at most 64)", rust: true },
  hotword_phrase_too_long: { http: 400, exit: EXIT.usage, message: "A hotword phrase is longer than 64 characters", rust: true },
  invalid_hotwords_boost: { http: 400, exit: EXIT.usage, message: "hotwords_boost must be a number from 0 to 20" },
  invalid_config: { http: 500, exit: EXIT.usage, message: "Invalid configuration" },
  bind_refused: { http: 500, exit: EXIT.usage, message: "Refusing to bind a non-loopback address without --bind-all" },
  feature_unavailable: { http: 409, exit: EXIT.usage, message: "This feature needs a model or capability this server does not have" },
  // ---- model / store -----------------------------------------------------
  model_missing: { http: 503, exit: EXIT.model, message: "The model is not installed" },
  model_invalid: { http: 500, exit: EXIT.model, message: "The model files are invalid" },
  checksum_mismatch: { http: 500, exit: EXIT.model, message: "A model file failed its checksum" },
  offline: { http: 503, exit: EXIT.model, message: "The model is missing and downloads are disabled" },
  network_error: { http: 502, exit: EXIT.network, message: "Network failure while downloading" },
  disk_full: { http: 507, exit: EXIT.diskFull, message: "Not enough disk space" },
  // ---- HTTP / WS protocol ------------------------------------------------
  bad_message: { http: 400, exit: EXIT.usage, message: "Malformed message" },
  not_found: { http: 404, exit: EXIT.usage, message: "Not found" },
  upgrade_required: { http: 426, exit: EXIT.usage, message: "This endpoint speaks WebSocket: send an Upgrade: websocket request" },
  method_not_allowed: { http: 405, exit: EXIT.usage, message: "Method not allowed" },
  unauthorized: { http: 401, exit: EXIT.usage, wsClose: 1008, message: "A valid API key is required (Authorization: Bearer KEY)" },
  origin_denied: { http: 403, exit: EXIT.usage, wsClose: 1008, message: "Origin not allowed", rust: true },
  host_not_allowed: { http: 421, exit: EXIT.usage, wsClose: 1008, message: "Host not allowed" },
  payload_too_large: { http: 413, exit: EXIT.usage, wsClose: 1009, message: "Payload too large", rust: true },
  frame_too_large: { http: 413, exit: EXIT.usage, wsClose: 1009, message: "WebSocket frame too large" },
  rate_limited: { http: 429, exit: EXIT.runtime, message: "Too many requests", rust: true },
  metrics_disabled: { http: 404, exit: EXIT.usage, message: "metrics endpoint disabled", rust: true },
  configure_too_late: { http: 400, exit: EXIT.usage, message: "Configure must be sent before first audio frame", rust: true },
  invalid_sample_rate: { http: 400, exit: EXIT.usage, message: "Unsupported sample rate", rust: true },
  unsupported_protocol_version: { http: 400, exit: EXIT.usage, wsClose: 1002, message: "Unsupported protocol version", rust: true },
  invalid_endpoint_mode: { http: 400, exit: EXIT.usage, message: "Unsupported endpoint_mode. Supported: auto, assistant, manual, energy, vad", rust: true },
  body_timeout: { http: 408, exit: EXIT.runtime, message: "The request body arrived too slowly" },
  idle_timeout: { http: 408, exit: EXIT.runtime, wsClose: 1001, message: "Idle timeout" },
  max_session_duration_exceeded: { http: 408, exit: EXIT.runtime, wsClose: 1008, message: "Maximum session duration exceeded", rust: true },
  policy_violation: { http: 400, exit: EXIT.usage, wsClose: 1008, message: "Empty frame limit exceeded", rust: true },
  backlog_exceeded: { http: 429, exit: EXIT.runtime, wsClose: 1008, message: "Audio arrives faster than it can be transcribed" },
  // ---- jobs API (--enable-jobs) -------------------------------------------
  jobs_disabled: { http: 404, exit: EXIT.usage, message: "Job API is not enabled", rust: true },
  job_not_found: { http: 404, exit: EXIT.usage, message: "Job not found", rust: true },
  job_expired: { http: 410, exit: EXIT.usage, message: "Job expired: its result is no longer kept" },
  job_not_finished: { http: 409, exit: EXIT.runtime, message: "Job is not finished", rust: true },
  job_not_cancellable: { http: 409, exit: EXIT.runtime, message: "Job cannot be cancelled", rust: true },
  idempotency_conflict: { http: 409, exit: EXIT.usage, message: "Idempotency-Key was already used with a different body" },
  queue_full: { http: 429, exit: EXIT.runtime, message: "Job queue is full", rust: true },
  jobs_store_corrupt: { http: 500, exit: EXIT.runtime, message: "The jobs database is corrupted" },
  jobs_dir_locked: { http: 500, exit: EXIT.runtime, message: "The jobs directory is in use by another server" },
  // ---- capacity / lifecycle ----------------------------------------------
  timeout: { http: 503, exit: EXIT.runtime, wsClose: 1013, message: "Server busy, try again later", rust: true },
  pool_closed: { http: 503, exit: EXIT.runtime, wsClose: 1001, message: "Server is shutting down", rust: true },
  shutting_down: { http: 503, exit: EXIT.runtime, wsClose: 1001, message: "Server is shutting down", rust: true },
  not_ready: { http: 503, exit: EXIT.runtime, message: "The model is not loaded yet" },
  vad_not_loaded: { http: 409, exit: EXIT.usage, message: "VAD was requested but is not loaded: start the server with --vad", rust: true },
  runtime_unavailable: { http: 503, exit: EXIT.runtime, message: "The inference runtime could not be loaded" },
  inference_error: { http: 500, exit: EXIT.runtime, message: "Inference failed", rust: true },
  inference_timeout: { http: 504, exit: EXIT.runtime, wsClose: 1001, message: "Inference timed out", rust: true },
  internal: { http: 500, exit: EXIT.runtime, wsClose: 1011, message: "Internal error", rust: true },
  // ---- admin (POST /v1/admin/reload) -------------------------------------
  loopback_only: { http: 403, exit: EXIT.usage, message: "Model reload is only available from loopback", rust: true },
  reload_in_progress: { http: 409, exit: EXIT.runtime, message: "A model reload is already in progress", rust: true },
  reload_unsupported: { http: 503, exit: EXIT.runtime, message: "Model reload is not available on this server", rust: true },
  reload_failed: { http: 503, exit: EXIT.runtime, message: "Model reload failed; the previous model is still serving", rust: true },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof CATALOGUE;

export function specOf(code: ErrorCode): CodeSpec {
  return CATALOGUE[code];
}

/** A failure with a stable code. `message` is safe to show to clients. */
export class GigasttError extends Error {
  override readonly name = "GigasttError";
  readonly code: ErrorCode;
  /** extra machine-readable fields (e.g. retry_after_ms); safe to show */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message ?? CATALOGUE[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }

  get http(): number {
    return CATALOGUE[this.code].http;
  }
  get exitCode(): ExitCode {
    return CATALOGUE[this.code].exit;
  }
  get wsClose(): number | undefined {
    return (CATALOGUE[this.code] as CodeSpec).wsClose;
  }
}

export function isGigasttError(e: unknown): e is GigasttError {
  return e instanceof GigasttError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "GigasttError" && typeof (e as { code?: unknown }).code === "string" && (e as { code: string }).code in CATALOGUE);
}

/** Errors crossing a Worker boundary travel as plain objects. */
export interface SerializedError {
  readonly name: "GigasttError";
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

export function serializeError(e: unknown): SerializedError {
  if (isGigasttError(e)) return { name: "GigasttError", code: e.code, message: e.message, details: { ...e.details } };
  return { name: "GigasttError", code: "internal", message: CATALOGUE.internal.message };
}

export function deserializeError(s: SerializedError): GigasttError {
  return new GigasttError(s.code, s.message, s.details ? { details: s.details } : undefined);
}
