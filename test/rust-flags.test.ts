/**
 * Every flag, env var and config-file key of the Rust gigastt 2.15 `serve` command (its
 * ServeArgs and RuntimeLimitsConfig, plus the global --log-level/--offline) run through our
 * CLI layer and parser: each is accepted and lands where it acts, or is refused with one
 * `feature_unavailable` line naming it — never "unknown flag", never silently dropped (an
 * accepted flag with nothing to do here is a warning line). `download`'s are in
 * src/cli/download.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { checkFlags } from "../src/cli/run.ts";
import { GigasttError } from "../src/errors.ts";
import { parseServeConfig, type ServerConfig } from "../src/server/config.ts";
import { cittyArgs } from "../src/server/flag-schema.ts";

type Outcome = { ok: Partial<Record<keyof ServerConfig, unknown>>; warns?: string } | { refused: string };

const parse = (argv: string[], env: Record<string, string> = {}, fileText?: string) =>
  parseServeConfig(argv, { HOME: "/home/u", ...env }, { isTTY: false, cpus: 4, ...(fileText !== undefined ? { fileText } : {}) });

function outcome(argv: string[], env: Record<string, string>, want: Outcome, fileText?: string): void {
  if ("refused" in want) {
    let e: unknown;
    try {
      parse(argv, env, fileText);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(GigasttError);
    expect((e as GigasttError).code).toBe("feature_unavailable");
    expect((e as GigasttError).message).toContain(want.refused);
    expect((e as GigasttError).message).not.toContain("\n");
    return;
  }
  const c = parse(argv, env, fileText);
  expect(c).toMatchObject(want.ok);
  if (want.warns) expect(c.warnings.join("\n")).toContain(want.warns);
}

/** [Rust flag argv, outcome] — ServeArgs of crates/gigastt/src/serve.rs (2.15), in its order */
const FLAGS: [string[], Outcome][] = [
  [["-p", "9000"], { ok: { port: 9000 } }],
  [["--port", "9001"], { ok: { port: 9001 } }],
  [["--host", "127.0.0.1"], { ok: { host: "127.0.0.1" } }],
  [["--model-dir", "/srv/models"], { ok: { modelDir: "/srv/models" } }],
  [["--profile", "default"], { ok: { profile: "default", poolSize: 4 } }],
  [["--profile", "edge"], { ok: { profile: "edge", poolSize: 1, workers: 1 }, warns: "VAD" }],
  [["--profile", "edge", "--pool-size", "3", "--workers", "2"], { ok: { poolSize: 3, workers: 2 } }],
  [["--model-variant", "e2e_rnnt"], { ok: {} }],
  [["--model-variant", "E2E-RNNT"], { ok: {} }],
  [["--model-variant", "rnnt"], { refused: "--model-variant rnnt: the rnnt head" }],
  [["--model-variant", "ml_ctc"], { refused: "multilingual CTC" }],
  [["--model-variant", "ml_ctc_large"], { refused: "multilingual CTC" }],
  [["--punctuation", "auto"], { ok: {} }],
  [["--punctuation", "off"], { ok: {} }],
  [["--punctuation", "on"], { refused: "--punctuation on: needs the RuPunct" }],
  [["--punct-model-dir", "/srv/punct"], { ok: {}, warns: "--punct-model-dir has no effect" }],
  [["--itn", "auto"], { ok: {} }],
  [["--itn", "off"], { ok: {} }],
  [["--itn", "on"], { refused: "--itn on: needs" }],
  [["--hotwords-default"], { ok: { hotwords: expect.objectContaining({ boost: 5 }) } }],
  [["--hotwords-default=false"], { ok: { hotwords: null } }],
  [["--hotwords-default", "--hotwords-boost", "7"], { ok: { hotwords: expect.objectContaining({ boost: 7 }) } }],
  [["--vad"], { ok: { vad: true } }],
  [["--vad=false"], { ok: { vad: false } }],
  [["--vad-threshold", "0.3"], { ok: { vadThreshold: 0.3 } }],
  [["--vad-min-silence-ms", "700"], { ok: { vadMinSilenceMs: 700 } }],
  [["--vad-model-dir", "/srv/vad"], { refused: "--vad-model-dir" }],
  [["--optimized-cache-dir", "/var/cache/gigastt"], { ok: { optimizedCacheDir: "/var/cache/gigastt" } }],
  [["--endpoint-mode", "auto"], { ok: {} }],
  [["--endpoint-mode", "assistant"], { refused: "--endpoint-mode assistant" }],
  [["--endpoint-mode", "manual"], { refused: "--endpoint-mode manual" }],
  [["--stream-max-window-secs", "7.5"], { ok: {}, warns: "--stream-max-window-secs has no effect" }],
  [["--stream-stable-prefix=false"], { ok: {}, warns: "--stream-stable-prefix has no effect" }],
  [["--pool-size", "2"], { ok: { poolSize: 2 } }],
  [["--pool-min-size", "2"], { ok: { poolMinSize: 2 } }],
  [["--pool-min-size", "9"], { ok: { poolMinSize: 4 }, warns: "--pool-min-size=9" }],
  [["--batch-pool-size", "1"], { ok: { batchPoolSize: 1 } }],
  [["--batch-pool-size", "0"], { ok: { batchPoolSize: 0 } }],
  [["--enable-jobs"], { ok: { enableJobs: true } }],
  [["--jobs-ttl-secs", "60"], { ok: { jobsTtlSecs: 60 } }],
  [["--jobs-max", "7"], { ok: { jobsMax: 7 } }],
  [["--jobs-max-bytes", "1048576"], { ok: { jobsMaxBytes: 1_048_576 } }],
  [["--jobs-retry", "5"], { ok: { jobsRetry: 5 } }],
  [["--encoder-intra-threads", "2"], { ok: { encoderIntraThreads: 2 } }],
  [["--file-window-concurrency", "2"], { ok: { fileWindowConcurrency: 2 } }],
  [["--bind-all", "--host", "0.0.0.0"], { ok: { bindAll: true, host: "0.0.0.0" } }],
  [["--allow-origin", "https://app.example.com"], { ok: { allowOrigin: ["https://app.example.com"] } }],
  [["--cors-allow-any"], { ok: { corsAllowAny: true } }],
  [["--idle-timeout-secs", "60"], { ok: { idleTimeoutSecs: 60 } }],
  [["--ws-frame-max-bytes", "65536"], { ok: { wsFrameMaxBytes: 65_536 } }],
  [["--body-limit-bytes", "1000000"], { ok: { bodyLimitBytes: 1_000_000 } }],
  [["--rate-limit-per-minute", "120"], { ok: { rateLimitPerMinute: 120 } }],
  [["--rate-limit-burst", "5"], { ok: { rateLimitBurst: 5 } }],
  [["--metrics"], { ok: { metrics: true, metricsListen: null } }],
  [["--metrics", "--metrics-listen", "127.0.0.1:9090"], { ok: { metricsListen: { host: "127.0.0.1", port: 9090 } } }],
  [["--max-session-secs", "0"], { ok: { maxSessionSecs: 0 } }],
  [["--shutdown-drain-secs", "5"], { ok: { shutdownDrainSecs: 5 } }],
  [["--pool-checkout-timeout-secs", "3"], { ok: { poolCheckoutTimeoutSecs: 3 } }],
  [["--inference-timeout-secs", "0"], { ok: { inferenceTimeoutSecs: 0 } }],
  [["--inference-timeout-secs", "90"], { ok: { inferenceTimeoutSecs: 90 } }],
  [["--max-audio-secs", "0"], { ok: { maxAudioSecs: 0 } }],
  [["--max-audio-secs", "600"], { ok: { maxAudioSecs: 600 } }],
  [["--trust-proxy"], { ok: { trustProxy: ["127.0.0.0/8", "::1/128"] } }],
  [["--config", "/etc/gigastt.toml"], { ok: { configFile: "/etc/gigastt.toml" } }],
  // 2.x serve flags still in Rust's docs, and the global ones
  [["--skip-quantize"], { ok: { skipQuantize: true } }],
  [["--log-level", "debug"], { ok: { logLevel: "debug" } }],
  [["--offline"], { ok: { offline: true } }],
];

/** [Rust env var, value, outcome] — every `env = "GIGASTT_…"` of ServeArgs, plus GIGASTT_ALLOW_BIND_ANY and GIGASTT_OFFLINE */
const ENV: [string, string, Outcome][] = [
  ["GIGASTT_PROFILE", "edge", { ok: { profile: "edge", workers: 1 } }],
  ["GIGASTT_MODEL_VARIANT", "e2e_rnnt", { ok: {} }],
  ["GIGASTT_MODEL_VARIANT", "rnnt", { refused: "GIGASTT_MODEL_VARIANT=rnnt: the rnnt head" }],
  ["GIGASTT_PUNCTUATION", "auto", { ok: {} }],
  ["GIGASTT_PUNCTUATION", "on", { refused: "GIGASTT_PUNCTUATION=on" }],
  ["GIGASTT_PUNCT_MODEL_DIR", "/srv/punct", { ok: {}, warns: "GIGASTT_PUNCT_MODEL_DIR has no effect" }],
  ["GIGASTT_ITN", "off", { ok: {} }],
  ["GIGASTT_ITN", "on", { refused: "GIGASTT_ITN=on" }],
  ["GIGASTT_HOTWORDS_DEFAULT", "true", { ok: { hotwords: expect.objectContaining({ boost: 5 }) } }],
  ["GIGASTT_HOTWORDS_DEFAULT", "false", { ok: { hotwords: null } }],
  ["GIGASTT_VAD", "true", { ok: { vad: true } }],
  ["GIGASTT_VAD", "false", { ok: { vad: false } }],
  ["GIGASTT_VAD_THRESHOLD", "0.3", { ok: { vadThreshold: 0.3 } }],
  ["GIGASTT_VAD_MIN_SILENCE_MS", "700", { ok: { vadMinSilenceMs: 700 } }],
  ["GIGASTT_VAD_MODEL_DIR", "/srv/vad", { refused: "GIGASTT_VAD_MODEL_DIR" }],
  ["GIGASTT_OPTIMIZED_CACHE_DIR", "/var/cache/g", { ok: { optimizedCacheDir: "/var/cache/g" } }],
  ["GIGASTT_ENDPOINT_MODE", "auto", { ok: {} }],
  ["GIGASTT_ENDPOINT_MODE", "manual", { refused: "GIGASTT_ENDPOINT_MODE=manual" }],
  ["GIGASTT_STREAM_MAX_WINDOW_SECS", "2.5", { ok: {}, warns: "GIGASTT_STREAM_MAX_WINDOW_SECS has no effect" }],
  ["GIGASTT_STREAM_STABLE_PREFIX", "true", { ok: {}, warns: "GIGASTT_STREAM_STABLE_PREFIX has no effect" }],
  ["GIGASTT_POOL_MIN_SIZE", "2", { ok: { poolMinSize: 2 } }],
  ["GIGASTT_BATCH_POOL_SIZE", "1", { ok: { batchPoolSize: 1 } }],
  ["GIGASTT_ENABLE_JOBS", "true", { ok: { enableJobs: true } }],
  ["GIGASTT_JOBS_TTL_SECS", "60", { ok: { jobsTtlSecs: 60 } }],
  ["GIGASTT_JOBS_MAX", "7", { ok: { jobsMax: 7 } }],
  ["GIGASTT_JOBS_MAX_BYTES", "1024", { ok: { jobsMaxBytes: 1024 } }],
  ["GIGASTT_JOBS_RETRY", "1", { ok: { jobsRetry: 1 } }],
  ["GIGASTT_ENCODER_INTRA_THREADS", "3", { ok: { encoderIntraThreads: 3 } }],
  ["GIGASTT_FILE_WINDOW_CONCURRENCY", "1", { ok: { fileWindowConcurrency: 1 } }],
  ["GIGASTT_IDLE_TIMEOUT_SECS", "60", { ok: { idleTimeoutSecs: 60 } }],
  ["GIGASTT_WS_FRAME_MAX_BYTES", "65536", { ok: { wsFrameMaxBytes: 65_536 } }],
  ["GIGASTT_BODY_LIMIT_BYTES", "1000", { ok: { bodyLimitBytes: 1000 } }],
  ["GIGASTT_RATE_LIMIT_PER_MINUTE", "60", { ok: { rateLimitPerMinute: 60 } }],
  ["GIGASTT_RATE_LIMIT_BURST", "3", { ok: { rateLimitBurst: 3 } }],
  ["GIGASTT_METRICS", "true", { ok: { metrics: true } }],
  ["GIGASTT_METRICS_LISTEN", "127.0.0.1:9090", { ok: { metricsListen: null }, warns: "GIGASTT_METRICS_LISTEN has no effect without --metrics" }],
  ["GIGASTT_MAX_SESSION_SECS", "10", { ok: { maxSessionSecs: 10 } }],
  ["GIGASTT_SHUTDOWN_DRAIN_SECS", "4", { ok: { shutdownDrainSecs: 4 } }],
  ["GIGASTT_POOL_CHECKOUT_TIMEOUT_SECS", "2", { ok: { poolCheckoutTimeoutSecs: 2 } }],
  ["GIGASTT_INFERENCE_TIMEOUT_SECS", "30", { ok: { inferenceTimeoutSecs: 30 } }],
  ["GIGASTT_MAX_AUDIO_SECS", "0", { ok: { maxAudioSecs: 0 } }],
  ["GIGASTT_TRUST_PROXY", "true", { ok: { trustProxy: ["127.0.0.0/8", "::1/128"] } }],
  ["GIGASTT_SKIP_QUANTIZE", "true", { ok: { skipQuantize: true } }],
  ["GIGASTT_ALLOW_BIND_ANY", "1", { ok: { bindAll: true } }],
  ["GIGASTT_OFFLINE", "1", { ok: { offline: true } }],
];

/** Rust's RuntimeLimitsConfig keys (crates/gigastt/src/server/config.rs), each with a value and where it lands */
const TOML: [string, Partial<Record<keyof ServerConfig, unknown>>][] = [
  ["idle_timeout_secs = 61", { idleTimeoutSecs: 61 }],
  ["ws_frame_max_bytes = 4096", { wsFrameMaxBytes: 4096 }],
  ["body_limit_bytes = 4096", { bodyLimitBytes: 4096 }],
  ["rate_limit_per_minute = 30", { rateLimitPerMinute: 30 }],
  ["rate_limit_burst = 4", { rateLimitBurst: 4 }],
  ["max_session_secs = 99", { maxSessionSecs: 99 }],
  ["shutdown_drain_secs = 3", { shutdownDrainSecs: 3 }],
  ["pool_checkout_timeout_secs = 9", { poolCheckoutTimeoutSecs: 9 }],
  ["inference_timeout_secs = 45", { inferenceTimeoutSecs: 45 }],
  ["max_audio_secs = 0", { maxAudioSecs: 0 }],
  ["jobs_enabled = true", { enableJobs: true }],
  ["jobs_ttl_secs = 11", { jobsTtlSecs: 11 }],
  ["jobs_max = 12", { jobsMax: 12 }],
  ["jobs_max_bytes = 1300", { jobsMaxBytes: 1300 }],
  ["jobs_retry = 4", { jobsRetry: 4 }],
];

describe("Rust 2.15 serve flags", () => {
  test.each(FLAGS)("%j", (argv, want) => {
    // the CLI layer (citty's args from the schema) lets every Rust flag through to serve's parser
    expect(() => checkFlags(cittyArgs(), [...argv], "gigastt serve")).not.toThrow();
    outcome(argv, {}, want, argv.includes("--config") ? "" : undefined);
  });

  test("no Rust flag is left out of the table", () => {
    const listed = new Set(FLAGS.flatMap(([a]) => a.filter((t) => t.startsWith("--")).map((t) => t.replace(/^--|=.*$/g, ""))));
    for (const f of ["profile", "model-variant", "punctuation", "punct-model-dir", "itn", "hotwords-default", "hotwords-boost", "vad", "vad-threshold", "vad-min-silence-ms", "vad-model-dir", "optimized-cache-dir", "endpoint-mode", "stream-max-window-secs", "stream-stable-prefix", "pool-min-size", "batch-pool-size", "enable-jobs", "jobs-retry", "encoder-intra-threads", "file-window-concurrency", "metrics-listen", "inference-timeout-secs", "max-audio-secs"])
      expect(listed.has(f), f).toBe(true);
  });
});

describe("Rust 2.15 serve env vars", () => {
  test.each(ENV)("%s=%s", (name, value, want) => outcome([], { [name]: value }, want));
});

describe("Rust 2.15 config-file keys", () => {
  test.each(TOML)("%s", (line, want) => outcome(["--config", "gigastt.toml"], {}, { ok: want }, line));

  test("all of them in one file, with an unknown key: accepted, one warning line", () => {
    const c = parse(["--config", "gigastt.toml"], {}, [...TOML.map(([l]) => l), "future_knob = 3"].join("\n"));
    expect(c.warnings.filter((w) => w.includes("unknown key"))).toEqual([expect.stringContaining("unknown key 'future_knob' in 'gigastt.toml' ignored")]);
    expect(c.inferenceTimeoutSecs).toBe(45);
  });

  test("flags and env vars win over the file", () => {
    expect(parse(["--config", "g.toml", "--inference-timeout-secs", "7"], { GIGASTT_MAX_AUDIO_SECS: "8" }, "inference_timeout_secs = 45\nmax_audio_secs = 1")).toMatchObject({ inferenceTimeoutSecs: 7, maxAudioSecs: 8 });
    expect(parse(["--config", "g.toml"], { GIGASTT_ENABLE_JOBS: "0" }, "jobs_enabled = true").enableJobs).toBe(false);
  });

  test("a bad value is invalid_config naming the key", () => {
    expect(() => parse(["--config", "g.toml"], {}, 'jobs_enabled = "yes"')).toThrow("jobs_enabled");
    expect(() => parse(["--config", "g.toml"], {}, "inference_timeout_secs = -1")).toThrow("inference_timeout_secs");
  });
});

test("a value outside a Rust flag's choices is a usage error naming it (not feature_unavailable)", () => {
  for (const [argv, flag] of [
    [["--model-variant", "whisper"], "--model-variant"],
    [["--punctuation", "maybe"], "--punctuation"],
    [["--profile", "tiny"], "--profile"],
    [["--stream-max-window-secs", "abc"], "--stream-max-window-secs"],
    [["--metrics", "--metrics-listen", "9090"], "--metrics-listen"],
  ] as const) {
    let e: unknown;
    try {
      parse([...argv]);
    } catch (x) {
      e = x;
    }
    expect((e as GigasttError).code, flag).toBe("usage");
    expect((e as GigasttError).message).toContain(flag);
  }
});
