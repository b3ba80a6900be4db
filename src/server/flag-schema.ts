/**
 * The one declaration of every `gigastt serve` flag: name, short form, env var, default, value
 * hint, help text and config-file key. The parser (./config.ts), citty's args (`--help`,
 * src/cli/serve.ts), the config-file keys and README's configuration table
 * (scripts/gen-config-table.ts, checked by test/serve-flags.test.ts) all come from here.
 *
 * The Rust gigastt 2.15's serve flags are all declared: each does what it does there, or —
 * where it needs a model or feature this server does not have — `refuse` names it in one line
 * (error `feature_unavailable`, exit 2) instead of "unknown flag".
 */

export type FlagKind = "string" | "boolean" | "list" | "optional-list";

export interface FlagDef {
  readonly kind: FlagKind;
  readonly short?: string;
  /** env var read for it by the generic lookup */
  readonly env?: string;
  /** README env cell when the env var is read elsewhere (or differently) */
  readonly envNote?: string;
  /** README default cell */
  readonly def: string;
  readonly hint?: string;
  /** one line: `--help` and README */
  readonly help: string;
  /** key of the `--config` TOML file */
  readonly file?: string;
  /** citty checks the value against these before serve's parser (exact spelling) */
  readonly choices?: readonly string[];
  /** accepted by every command (the CLI runner's global flags), not in serve's own citty args */
  readonly global?: boolean;
  /** how README spells the flag (default `--name` plus ` HINT`) */
  readonly readme?: string;
  /** the values a string flag takes (any case); others are a usage error */
  readonly values?: readonly string[];
  /** a Rust 2.15 flag that needs what this server lacks: the one-line reason for a value, or null when the value is harmless */
  readonly refuse?: (value: string | boolean) => string | null;
}

/** `--model-variant` (serve and download): only GigaAM v3 e2e_rnnt is here */
export const MODEL_VARIANTS = ["e2e_rnnt", "e2e-rnnt", "rnnt", "ml_ctc", "ml_ctc_large", "ml-ctc", "ml-ctc-large"] as const;

export function refuseVariant(v: string | boolean): string | null {
  const s = String(v).trim().toLowerCase().replaceAll("-", "_");
  if (s === "e2e_rnnt") return null;
  if (s === "rnnt") return "the rnnt head (bare lowercase text, punctuated by the RuPunct model) is not available: this server runs GigaAM v3 e2e_rnnt, which punctuates itself; use --model-variant e2e_rnnt or leave it out";
  return `the multilingual CTC model (${s}) is not available: this server runs the Russian GigaAM v3 e2e_rnnt only; use --model-variant e2e_rnnt or leave it out`;
}

function refuseMode(flag: string, needs: string, instead: string) {
  return (v: string | boolean): string | null =>
    String(v).trim().toLowerCase() === "on" ? `needs ${needs}, which this server does not have; ${instead}: use ${flag} auto (or off)` : null;
}

const secs = "SECS";

/** Every `serve` flag, in README order. */
export const SERVE_SCHEMA = {
  // ---- network ----------------------------------------------------------------
  port: { kind: "string", short: "p", env: "GIGASTT_PORT", def: "9876", hint: "PORT", readme: "-p, --port", help: "port (also read by `gigastt healthcheck`)" },
  host: { kind: "string", env: "GIGASTT_HOST", def: "127.0.0.1", hint: "ADDR", readme: "--host", help: "bind address: an IP literal (`::1`, `[::1]`, `0.0.0.0`) or `localhost`" },
  "bind-all": { kind: "boolean", env: "GIGASTT_ALLOW_BIND_ANY", def: "off", help: "required for a non-loopback bind (`--host`, `--metrics-listen`)" },
  "allow-origin": { kind: "list", def: "—", hint: "URL", help: "extra browser Origin, exact match, repeatable (`null` allows the opaque origin)" },
  "cors-allow-any": { kind: "boolean", def: "off", help: "any Origin, `Access-Control-Allow-Origin: *` (warned)" },
  "allow-host": { kind: "list", def: "—", hint: "HOST[:PORT]", help: "extra accepted Host header, repeatable" },
  "trust-proxy": {
    kind: "optional-list",
    env: "GIGASTT_TRUST_PROXY",
    def: "off",
    readme: "--trust-proxy[=CIDR,…]",
    help: "believe X-Forwarded-For/X-Real-IP from these proxies; the bare flag (or `GIGASTT_TRUST_PROXY=1`) trusts loopback peers only (Rust also trusts RFC 1918, ULA and link-local peers: name them, e.g. `--trust-proxy=10.0.0.0/8`)",
  },
  "wyoming-port": { kind: "string", env: "GIGASTT_WYOMING_PORT", def: "off", hint: "PORT", help: "also speak the Wyoming protocol (Home Assistant) on this TCP port of `--host`" },
  "wyoming-allow-unauthenticated": { kind: "boolean", def: "off", help: "start a non-loopback Wyoming listener although API keys are set (Wyoming has no authentication)" },
  "api-key": { kind: "list", envNote: "`GIGASTT_API_KEYS` (comma-separated)", def: "—", hint: "KEY", help: "require `Authorization: Bearer KEY` (repeatable); see [Security defaults](#security-defaults)" },
  "api-key-file": { kind: "string", env: "GIGASTT_API_KEY_FILE", def: "—", hint: "FILE", help: "API keys, one per line, re-read on SIGHUP" },
  ui: { kind: "boolean", envNote: "`GIGASTT_NO_UI=1` turns it off", def: "on", readme: "--ui / --no-ui", help: "the built-in page at `/`" },
  metrics: { kind: "boolean", env: "GIGASTT_METRICS", def: "off", help: "enable Prometheus `GET /metrics` (on the main port, or on `--metrics-listen`)" },
  "metrics-listen": {
    kind: "string",
    env: "GIGASTT_METRICS_LISTEN",
    def: "— (main port)",
    hint: "ADDR:PORT",
    help: "serve `/metrics` on a listener of its own (e.g. `127.0.0.1:9090`, as Rust) instead of the main port; non-loopback needs `--bind-all`; no effect without `--metrics` (warned)",
  },
  // ---- sessions and limits ---------------------------------------------------------
  "pool-size": { kind: "string", def: "4", hint: "N", help: "sessions (WS, SSE, REST) admitted at once (Rust: 2; it also sets Rust's inference sessions, which are `--workers` here)" },
  "pool-checkout-timeout-secs": { kind: "string", env: "GIGASTT_POOL_CHECKOUT_TIMEOUT_SECS", def: "30", hint: secs, file: "pool_checkout_timeout_secs", help: "then 503 `timeout` + `Retry-After` (0 → 1, warned)" },
  "idle-timeout-secs": { kind: "string", env: "GIGASTT_IDLE_TIMEOUT_SECS", def: "300", hint: secs, file: "idle_timeout_secs", help: "WS idle timeout" },
  "max-session-secs": { kind: "string", env: "GIGASTT_MAX_SESSION_SECS", def: "3600", hint: secs, file: "max_session_secs", help: "WS wall-clock cap, 0 = off" },
  "shutdown-drain-secs": { kind: "string", env: "GIGASTT_SHUTDOWN_DRAIN_SECS", def: "10", hint: secs, file: "shutdown_drain_secs", help: "drain window (0 → 1, warned)" },
  "body-limit-bytes": { kind: "string", env: "GIGASTT_BODY_LIMIT_BYTES", def: "52428800", hint: "BYTES", file: "body_limit_bytes", help: "REST body cap → 413" },
  "body-idle-timeout-secs": {
    kind: "string",
    env: "GIGASTT_BODY_IDLE_TIMEOUT_SECS",
    def: "30",
    hint: secs,
    file: "body_idle_timeout_secs",
    help: "an upload that sends no byte this long → 408 `body_timeout` (REST, SSE, OpenAI route); also the window of the rate floor",
  },
  "body-min-bytes-per-sec": {
    kind: "string",
    env: "GIGASTT_BODY_MIN_BYTES_PER_SEC",
    def: "1024",
    hint: "BYTES",
    file: "body_min_bytes_per_sec",
    help: "least upload rate over each such window of waiting for the client, 0 = off → 408 `body_timeout`",
  },
  "ws-frame-max-bytes": { kind: "string", env: "GIGASTT_WS_FRAME_MAX_BYTES", def: "524288", hint: "BYTES", file: "ws_frame_max_bytes", help: "WS frame cap → close 1009" },
  "rate-limit-per-minute": { kind: "string", env: "GIGASTT_RATE_LIMIT_PER_MINUTE", def: "0 (off)", hint: "N", file: "rate_limit_per_minute", help: "per-client token bucket (> 60000 clamped, warned)" },
  "rate-limit-burst": { kind: "string", env: "GIGASTT_RATE_LIMIT_BURST", def: "10", hint: "N", file: "rate_limit_burst", help: "bucket size (0 with a limit on → exit 2)" },
  "max-audio-secs": {
    kind: "string",
    env: "GIGASTT_MAX_AUDIO_SECS",
    def: "10800",
    hint: secs,
    file: "max_audio_secs",
    help: "longest decoded upload (REST, SSE, OpenAI route, jobs) → 413 `audio_too_long`; 0 = no limit (Rust's default; files stream in bounded memory either way)",
  },
  "inference-timeout-secs": {
    kind: "string",
    env: "GIGASTT_INFERENCE_TIMEOUT_SECS",
    def: "600",
    hint: secs,
    file: "inference_timeout_secs",
    help: "a segment decode (≤ 20 s of audio) that runs longer → REST 504 / WS error `inference_timeout` and close 1001, and its Worker is replaced; 0 = off",
  },
  // ---- jobs ---------------------------------------------------------------------------
  "enable-jobs": { kind: "boolean", env: "GIGASTT_ENABLE_JOBS", def: "off", file: "jobs_enabled", help: "the [`/v1/jobs`](#jobs-v1jobs---enable-jobs) API" },
  "jobs-dir": { kind: "string", env: "GIGASTT_JOBS_DIR", def: "`~/.gigastt/jobs`", hint: "DIR", help: "the jobs database, uploads and results" },
  "jobs-max": { kind: "string", env: "GIGASTT_JOBS_MAX", def: "100", hint: "N", file: "jobs_max", help: "jobs kept (queued to finished, until their TTL) → 429 `queue_full`" },
  "jobs-max-bytes": { kind: "string", env: "GIGASTT_JOBS_MAX_BYTES", def: "536870912", hint: "BYTES", file: "jobs_max_bytes", help: "audio waiting (queued + processing) → 429 `queue_full`" },
  "jobs-ttl-secs": { kind: "string", env: "GIGASTT_JOBS_TTL_SECS", def: "3600", hint: secs, file: "jobs_ttl_secs", help: "a finished job's result is kept this long, then 410 `job_expired`; 0 = forever" },
  "jobs-retry": {
    kind: "string",
    env: "GIGASTT_JOBS_RETRY",
    def: "3",
    hint: "N",
    file: "jobs_retry",
    help: "runs of a job that the server crashed during (not a shutdown) before it fails with `internal`",
  },
  "batch-pool-size": {
    kind: "string",
    env: "GIGASTT_BATCH_POOL_SIZE",
    def: "0",
    hint: "N",
    help: "Workers of their own for files (REST, SSE, OpenAI route) and jobs, split off `--workers` so a long file cannot slow live streams (at most `--workers` − 1); 0 = files and live streams share the Workers and jobs use one at a time",
  },
  // ---- model and inference ------------------------------------------------------------
  "model-dir": { kind: "string", envNote: "`GIGASTT_MODEL_DIR`", def: "`~/.gigastt/models`", hint: "DIR", help: "the model folder" },
  "model-variant": {
    kind: "string",
    env: "GIGASTT_MODEL_VARIANT",
    def: "e2e_rnnt",
    hint: "VARIANT",
    help: "recognition head: only `e2e_rnnt` (Rust's `rnnt`, `ml_ctc`, `ml_ctc_large` → `feature_unavailable`)",
    values: MODEL_VARIANTS,
    refuse: refuseVariant,
  },
  profile: {
    kind: "string",
    env: "GIGASTT_PROFILE",
    def: "default",
    hint: "default|edge",
    values: ["default", "edge"],
    help: "`edge`: `--pool-size 1` and `--workers 1` where not set (Rust's edge profile also turns on VAD: add `--vad` for it; warned)",
  },
  punctuation: {
    kind: "string",
    env: "GIGASTT_PUNCTUATION",
    def: "auto",
    hint: "auto|on|off",
    values: ["auto", "on", "off"],
    help: "e2e_rnnt punctuates itself: `auto`/`off` keep its output (as Rust does for e2e_rnnt); `on` (the RuPunct model) → `feature_unavailable`",
    refuse: refuseMode("--punctuation", "the RuPunct punctuation model of the rnnt head", "e2e_rnnt already punctuates and capitalises"),
  },
  "punct-model-dir": { kind: "string", env: "GIGASTT_PUNCT_MODEL_DIR", def: "—", hint: "DIR", help: "folder of the RuPunct model: used only by `--punctuation on`, so it has no effect here (warned)" },
  itn: {
    kind: "string",
    env: "GIGASTT_ITN",
    def: "auto",
    hint: "auto|on|off",
    values: ["auto", "on", "off"],
    help: "e2e_rnnt writes numbers as digits itself: `auto`/`off` keep its output (as Rust does for e2e_rnnt); `on` → `feature_unavailable`",
    refuse: refuseMode("--itn", "the rnnt head's number normaliser", "e2e_rnnt already writes numbers as digits"),
  },
  precision: { kind: "string", env: "GIGASTT_PRECISION", def: "fp32", hint: "fp32|int8", choices: ["fp32", "int8"], readme: "--precision fp32\\|int8", help: "encoder (and graphs) of finals and files" },
  "partial-precision": {
    kind: "string",
    env: "GIGASTT_PARTIAL_PRECISION",
    def: "int8",
    hint: "int8|fp32",
    choices: ["int8", "fp32"],
    readme: "--partial-precision int8\\|fp32",
    help: "encoder of streaming partials: int8 runs them on the dynamic int8 encoder (`v3_e2e_rnnt_encoder.int8.onnx`, created once if missing), fp32 on the main one",
  },
  workers: {
    kind: "string",
    env: "GIGASTT_WORKERS",
    def: "CPU cores, fewer if memory is short",
    hint: "N",
    help: "inference Workers (they share the mapped weights, ≈ 100 MB each beyond them); see [Sizing](#sizing-the-workers)",
  },
  "pool-min-size": {
    kind: "string",
    env: "GIGASTT_POOL_MIN_SIZE",
    def: "1",
    hint: "N",
    help: "Workers that must load for the server to start: with fewer than `--workers` loaded (e.g. short of memory) it starts on those, warned (clamped to 1..`--workers`)",
  },
  "encoder-intra-threads": {
    kind: "string",
    env: "GIGASTT_ENCODER_INTRA_THREADS",
    def: "1",
    hint: "N",
    help: "onnxruntime intra-op threads of each Worker (more make one long file faster and leave fewer cores to the other Workers)",
  },
  "file-window-concurrency": {
    kind: "string",
    env: "GIGASTT_FILE_WINDOW_CONCURRENCY",
    def: "Workers + 1",
    hint: "N",
    help: "segments of one file decoding at once (Rust: 1 = serial); here a file's ≤ 20 s segments already decode in parallel across the free Workers",
  },
  "optimized-cache-dir": {
    kind: "string",
    env: "GIGASTT_OPTIMIZED_CACHE_DIR",
    def: "the model folder",
    hint: "DIR",
    help: "where the files derived from the model (the mapped layout, the int8 encoder of partials) are written, for a read-only model folder (created if missing; one that cannot be written is skipped, warned)",
  },
  "stream-max-window-secs": {
    kind: "string",
    env: "GIGASTT_STREAM_MAX_WINDOW_SECS",
    def: "whole utterance",
    hint: secs,
    help: "Rust's streaming encoder window (2.4–30): partials here re-decode the whole open utterance (≤ 20 s), so a value is validated and has no effect (logged)",
  },
  "stream-stable-prefix": {
    kind: "boolean",
    env: "GIGASTT_STREAM_STABLE_PREFIX",
    def: "on",
    help: "Rust's stable-prefix commits at its window cap: finals here are decoded from the whole utterance, so there is nothing to commit early (accepted, logged)",
  },
  "compact-pauses": {
    kind: "boolean",
    env: "GIGASTT_COMPACT_PAUSES",
    def: "on",
    readme: "--compact-pauses / --no-compact-pauses",
    help: "shorten pauses over 600 ms to 300 ms before the encoder (files and live streams alike; word times still refer to the audio as sent)",
  },
  "skip-quantize": {
    kind: "boolean",
    env: "GIGASTT_SKIP_QUANTIZE",
    def: "off",
    help: "never create or rewrite an int8 encoder (one already in the model folder is still used where it is exact on this CPU)",
  },
  offline: { kind: "boolean", env: "GIGASTT_OFFLINE", def: "off", help: "never download the model" },
  // ---- VAD (Silero, embedded) and endpointing ----------------------------------------------
  vad: {
    kind: "boolean",
    env: "GIGASTT_VAD",
    def: "off",
    help: "load the Silero VAD (embedded, in a Worker of its own): files are cut at VAD pauses and non-speech is never encoded (per request `vad=false` turns it off), live streams end utterances after `--vad-min-silence-ms` of non-speech (`endpoint_mode`); see [Voice activity detection](#voice-activity-detection---vad)",
  },
  "vad-threshold": { kind: "string", env: "GIGASTT_VAD_THRESHOLD", def: "0.5", hint: "P", help: "VAD speech-probability threshold, between 0 and 1" },
  "vad-min-silence-ms": { kind: "string", env: "GIGASTT_VAD_MIN_SILENCE_MS", def: "500", hint: "MS", help: "non-speech that ends a VAD-endpointed utterance, 10–5000 (a WS `configure.min_silence_ms` overrides it)" },
  "vad-model-dir": {
    kind: "string",
    env: "GIGASTT_VAD_MODEL_DIR",
    def: "—",
    hint: "DIR",
    help: "→ `feature_unavailable`: the Silero VAD is embedded in gigastt, a folder of another VAD model is not loaded",
    refuse: () => "--vad-model-dir is not supported: gigastt embeds the Silero VAD (use --vad without it)",
  },
  "endpoint-mode": {
    kind: "string",
    env: "GIGASTT_ENDPOINT_MODE",
    def: "auto",
    hint: "auto|assistant|manual",
    values: ["auto", "assistant", "manual"],
    help: "`auto` (the default: VAD endpointing with `--vad`, else energy pauses) is accepted; `assistant`/`manual` as a server-wide default → `feature_unavailable` (a session picks them with `configure.endpoint_mode`)",
    refuse: (v) =>
      String(v).trim().toLowerCase() === "auto" ? null : "a server-wide endpoint mode other than auto is not supported; a session picks its mode with configure.endpoint_mode (use --endpoint-mode auto or leave it out)",
  },
  // ---- hotwords (contextual biasing) --------------------------------------------------
  "hotwords-file": {
    kind: "string",
    env: "GIGASTT_HOTWORDS_FILE",
    def: "—",
    hint: "FILE",
    help: "phrases to bias decoding toward, one a line (optional `<TAB>weight`, `#` comments); the default of every request, see [Hotwords](#hotwords-contextual-biasing)",
  },
  "hotwords-default": { kind: "boolean", env: "GIGASTT_HOTWORDS_DEFAULT", def: "off", help: "also bias toward a built-in list of 20 brands and services (Яндекс, Сбербанк, Госуслуги, …)" },
  "hotwords-boost": { kind: "string", env: "GIGASTT_HOTWORDS_BOOST", def: "5", hint: "N", help: "added to a hotword piece's log-probability, 0–20 (0 = off)" },
  // ---- process ------------------------------------------------------------------------
  config: { kind: "string", def: "—", hint: "FILE", help: "TOML limits file, re-read on SIGHUP; unknown keys are warned about" },
  "log-level": { kind: "string", def: "info", hint: "LEVEL", global: true, help: "silent, error, warn, info, debug, trace (any command)" },
  "log-format": { kind: "string", def: "json unless stderr is a TTY", hint: "FORMAT", choices: ["json", "pretty"], readme: "--log-format json\\|pretty", help: "logs always go to stderr" },
} as const satisfies Record<string, FlagDef>;

export type ServeFlagName = keyof typeof SERVE_SCHEMA;

export function flagDef(name: string): FlagDef | undefined {
  return (SERVE_SCHEMA as Record<string, FlagDef>)[name];
}

/** TOML key → flag */
export const FILE_KEYS: Readonly<Record<string, ServeFlagName>> = Object.freeze(
  Object.fromEntries((Object.entries(SERVE_SCHEMA) as [ServeFlagName, FlagDef][]).filter(([, d]) => d.file).map(([n, d]) => [d.file!, n])),
);

/** citty's args for `serve` (what `--help` prints): every flag but the runner's global ones */
export function cittyArgs(): Record<string, { type: "string" | "boolean" | "enum"; alias?: string; description: string; valueHint?: string; options?: string[] }> {
  const out: Record<string, { type: "string" | "boolean" | "enum"; alias?: string; description: string; valueHint?: string; options?: string[] }> = {};
  for (const [name, d] of Object.entries(SERVE_SCHEMA) as [string, FlagDef][]) {
    if (d.global) continue;
    const env = d.env ?? d.envNote?.replaceAll("`", "");
    const help = plain(d.help);
    const description = `${help.charAt(0).toUpperCase()}${help.slice(1)} (default ${plain(d.def)}${env ? `; ${env}` : ""})`;
    const type = d.choices ? "enum" : d.kind === "boolean" || d.kind === "optional-list" ? "boolean" : "string";
    out[name] = {
      type,
      description,
      ...(d.short ? { alias: d.short } : {}),
      ...(d.hint && type !== "boolean" ? { valueHint: d.hint } : {}),
      ...(d.choices ? { options: [...d.choices] } : {}),
    };
  }
  return out;
}

/** Markdown help → terminal text */
function plain(s: string): string {
  return s.replace(/\[([^\]]+)\]\([^)]*\)/g, "$1").replaceAll("`", "");
}

/** README's `gigastt serve` flags table (scripts/gen-config-table.ts prints it; test/serve-flags.test.ts checks README holds it). */
export function configTable(): string {
  const rows = (Object.entries(SERVE_SCHEMA) as [string, FlagDef][]).map(([name, d]) => {
    const flag = d.readme ?? `--${name}${d.hint && d.kind !== "boolean" && d.kind !== "optional-list" ? ` ${d.hint.replace(/(?<!\\)\|/g, "\\|")}` : ""}`;
    const env = d.env ? `\`${d.env}\`` : (d.envNote ?? "—");
    const file = d.file ? `\`${d.file}\`` : "—";
    return `| \`${flag}\` | ${env} | ${file} | ${d.def} | ${d.help.replace(/(?<!\\)\|/g, "\\|")} |`;
  });
  return ["| flag | env | config file | default | meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}

/** README's list of the config file's keys (the Config file section). */
export function fileKeysText(): string {
  return `Flat keys, all optional (the Rust gigastt's, plus ours): ${Object.keys(FILE_KEYS)
    .map((k) => `\`${k}\``)
    .join(", ")}. An unknown key is a warning line at startup (as Rust ignores it), not an error.`;
}
