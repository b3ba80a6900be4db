/**
 * Prints the README's error-code table from the one catalogue (src/errors.ts), so docs and code
 * cannot drift (test/readme.test.ts checks the README holds exactly this table).
 *   bun scripts/gen-error-table.ts
 */
import { CATALOGUE } from "../src/errors.ts";

export const ERROR_NOTES: Record<keyof typeof CATALOGUE, string> = {
  empty_body: "zero-length request body",
  invalid_audio: "not audio, a broken header, or a file with no decodable audio at all (damage after valid audio is not an error: the valid part is transcribed)",
  unsupported_format:
    "a recognised container or codec that is not decoded (AIFF, CAF, AMR, AU, Speex in Ogg, AC-3 in Matroska, ALAC in MP4, an MP4 without an audio track, MS ADPCM WAV, AAC Main/LTP/LD/ELD, xHE-AAC, …: the message names it and, where it helps, gives the ffmpeg command), rate outside 8–192 kHz",
  audio_too_short: "less than 20 ms of audio",
  audio_too_long: "longer than the duration cap (3 h on the server)",
  transcription_error: "kept for Rust clients; not emitted (the specific audio/inference code is used)",
  usage: "unknown flag, bad value (a REST option such as `segments=maybe` or `max_chars_per_line=-1`), missing file argument",
  invalid_format: "`format=` / `--format` other than json, txt (text), srt, vtt, md (markdown), any case",
  unsupported_codec: "`codec=` / `--codec` other than pcmu (ulaw), pcma (alaw), g722",
  conflicting_modes: "`channels=split` together with `diarization=true`",
  punctuation_not_available: "`punctuation=true` (REST; WS `configure`, where the session continues): no separate punctuation model is loaded (the e2e_rnnt model punctuates and capitalises by itself; Rust answers the same for this head on REST)",
  variant_not_loaded: "`variant=` names a recognition head other than the loaded `e2e_rnnt`",
  diarization_not_available: "`diarization=true` (REST; WS `configure`, where the session continues and `ready` has no `diarization`): this server has no diarization model (use `channels=split` for stereo calls)",
  unsupported_language: "`language` other than Russian on `/v1/audio/transcriptions`",
  too_many_hotwords: "more than 64 `hotwords` phrases in a request or WS `configure` (WS: session continues)",
  hotword_phrase_too_long: "a `hotwords` phrase longer than 64 characters (WS: session continues)",
  invalid_hotwords_boost: "`hotwords_boost` not a number from 0 to 20 (WS: session continues)",
  invalid_config: "invalid configuration value or manifest",
  bind_refused: "non-loopback `--host` (or `--metrics-listen`) without `--bind-all`",
  feature_unavailable: "a Rust gigastt option whose model or feature this server lacks (`--model-variant rnnt`, `--punctuation on`, `--vad`, `--endpoint-mode manual`, …): one line naming it and what to use instead",
  model_missing: "model files missing, or the server answered 4xx for them",
  model_invalid: "model graphs or vocabulary do not match the GigaAM v3 contract",
  checksum_mismatch: "a model file failed its size or SHA-256 check",
  offline: "model missing and downloads disabled, or no route to the host",
  network_error: "download failed after retries",
  disk_full: "not enough disk space for the model, or for a job upload (nothing of it is kept)",
  bad_message: "malformed WS JSON or no `type`, a `configure` field of the wrong type or out of range (`min_silence_ms`), control message too large or nested too deeply (session continues; Rust ignores all of these silently; a well-formed message of an unknown `type` is ignored here too)",
  not_found: "unknown path",
  upgrade_required: "plain `GET /v1/ws` without `Upgrade: websocket` (answered with `Upgrade: websocket`)",
  method_not_allowed: "wrong method on a known path",
  unauthorized: "API keys are set and the request has no valid `Authorization: Bearer KEY` (WS: nor a `gigastt-key.KEY` sub-protocol); `WWW-Authenticate: Bearer`",
  origin_denied: "browser `Origin` not allowed (REST and WS upgrade)",
  host_not_allowed: "`Host` header not allowed (DNS-rebinding guard)",
  payload_too_large: "body over `--body-limit-bytes`",
  frame_too_large: "WS frame over `--ws-frame-max-bytes`",
  rate_limited: "per-client token bucket empty (`Retry-After`)",
  metrics_disabled: "`/metrics` without `--metrics`",
  configure_too_late: "`configure` after the first audio frame (session continues)",
  invalid_sample_rate: "WS: rate not in 8000/16000/24000/44100/48000 (session continues); REST/CLI: `codec=` without `sample_rate`, or a rate the codec does not carry (pcmu/pcma 8000–48000, g722 8000 or 16000)",
  unsupported_protocol_version: "`configure.protocol_version` other than \"1.0\" or \"1.1\"",
  invalid_endpoint_mode: "WS `configure.endpoint_mode` other than `auto`, `assistant`, `manual`, `energy`, `vad` (session continues)",
  body_timeout: "no request body byte within `--body-idle-timeout-secs`, or slower than `--body-min-bytes-per-sec` over such a window",
  idle_timeout: "no WS frame within `--idle-timeout-secs`",
  max_session_duration_exceeded: "WS session reached `--max-session-secs`",
  policy_violation: "more than 1000 empty WS frames (`final`, then close 1008; Rust's code, ours was `too_many_empty_frames`)",
  backlog_exceeded: "a WS client sent more than 60 s of audio ahead of its finals (`final` with everything sent, then close)",
  jobs_disabled: "`/v1/jobs*` without `--enable-jobs`",
  job_not_found: "unknown job id (or one whose expired record was purged)",
  job_expired: "the job finished more than `jobs_ttl_secs` ago: its audio and result are deleted",
  job_not_finished: "`/v1/jobs/{id}/result` before the job is `done`",
  job_not_cancellable: "`DELETE /v1/jobs/{id}` of a job that is already done, failed or cancelled",
  idempotency_conflict: "`Idempotency-Key` reused with a different body",
  queue_full: "`jobs_max` jobs kept, or `jobs_max_bytes` of audio waiting (`Retry-After`, `retry_after_ms`)",
  jobs_store_corrupt: "`serve --enable-jobs` or `gigastt jobs check` found the jobs database unreadable (named in the message)",
  jobs_dir_locked: "another server already uses this `--jobs-dir`",
  timeout: "no free slot within `--pool-checkout-timeout-secs` (`Retry-After`, `retry_after_ms`)",
  pool_closed: "the server began draining while the request waited for a slot",
  shutting_down: "request or upgrade after SIGTERM/SIGINT",
  not_ready: "model still loading",
  vad_not_loaded: "`vad=true` (REST) or `endpoint_mode=vad` (WS `configure`) on a server started without `--vad`",
  runtime_unavailable: "the executable could not extract or load its onnxruntime library (set `GIGASTT_RUNTIME_DIR` to a writable folder that allows executables)",
  inference_error: "the model failed on this input (session continues)",
  inference_timeout: "a segment decode ran longer than `--inference-timeout-secs` (its Worker is replaced): REST 504; WS `error`, then close 1001, as Rust",
  internal: "unexpected failure (details only in the log)",
  loopback_only: "`POST /v1/admin/reload` from a non-loopback peer, or forwarded by a proxy for a non-loopback client",
  reload_in_progress: "`POST /v1/admin/reload` while another reload runs",
  reload_unsupported: "`POST /v1/admin/reload` on a server that cannot load its model again (embedded, not `gigastt serve`)",
  reload_failed: "the reloaded model could not be loaded; the previous model keeps serving (details only in the log)",
};

export function errorTable(): string {
  const rows = Object.entries(CATALOGUE).map(([code, spec]) => {
    const ws = "wsClose" in spec ? String(spec.wsClose) : "—";
    const rust = "rust" in spec && spec.rust ? "✓" : "";
    return `| \`${code}\` | ${spec.http} | ${spec.exit} | ${ws} | ${rust} | ${ERROR_NOTES[code as keyof typeof CATALOGUE]} |`;
  });
  return ["| code | HTTP | exit | WS close | Rust | when |", "|---|---|---|---|---|---|", ...rows].join("\n");
}

if (import.meta.main) console.log(errorTable());
