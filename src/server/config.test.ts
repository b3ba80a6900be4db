import { describe, expect, test } from "bun:test";
import { GigasttError } from "../errors.ts";
import { DEFAULT_LIMITS, limitsDiff, parseBindHost, parseServeArgv, parseServeConfig } from "./config.ts";

const parse = (argv: string[], env: Record<string, string> = {}, fileText?: string) =>
  parseServeConfig(argv, env, { isTTY: false, cpus: 3, ...(fileText !== undefined ? { fileText } : {}) });

function fails(argv: string[], env: Record<string, string> = {}, fileText?: string): GigasttError {
  try {
    parse(argv, env, fileText);
  } catch (e) {
    expect(e).toBeInstanceOf(GigasttError);
    return e as GigasttError;
  }
  throw new Error(`expected ${JSON.stringify(argv)} ${JSON.stringify(env)} to fail`);
}

describe("defaults", () => {
  test("match the Rust server and the issue", () => {
    const c = parse([]);
    expect(c).toMatchObject({
      port: 9876,
      host: "127.0.0.1",
      hostIsLoopback: true,
      hostIsWildcard: false,
      bindAll: false,
      poolSize: 4,
      poolCheckoutTimeoutSecs: 30,
      idleTimeoutSecs: 300,
      maxSessionSecs: 3600,
      shutdownDrainSecs: 10,
      bodyLimitBytes: 52_428_800,
      wsFrameMaxBytes: 524_288,
      rateLimitPerMinute: 0,
      rateLimitBurst: 10,
      corsAllowAny: false,
      metrics: false,
      logLevel: "info",
      logFormat: "json",
      precision: "fp32",
      partialPrecision: "int8",
      workers: 3,
      skipQuantize: false,
      offline: false,
      modelDir: undefined,
      configFile: undefined,
    });
    expect(c.allowOrigin).toEqual([]);
    expect(c.allowHost).toEqual([]);
    expect(c.trustProxy).toEqual([]);
    expect(c.warnings).toEqual([]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  test("log format is pretty on a TTY", () => {
    expect(parseServeConfig([], {}, { isTTY: true, cpus: 1 }).logFormat).toBe("pretty");
  });
});

describe("flags", () => {
  test("every flag sets its field", () => {
    const c = parse([
      "-p", "9000", "--host", "::1", "--pool-size", "2", "--pool-checkout-timeout-secs", "5", "--idle-timeout-secs", "60",
      "--max-session-secs", "0", "--shutdown-drain-secs", "3", "--body-limit-bytes", "1000", "--ws-frame-max-bytes", "4096",
      "--rate-limit-per-minute", "120", "--rate-limit-burst", "4", "--allow-origin", "https://App.Example.com",
      "--allow-origin=http://b.test:8080", "--cors-allow-any", "--metrics", "--log-level", "debug", "--log-format", "pretty",
      "--model-dir", "/m", "--precision", "int8", "--workers", "2", "--allow-host", "stt.example.com", "--allow-host=box:9000",
      "--trust-proxy=10.0.0.0/8,192.168.1.1", "--offline",
    ]);
    expect(c).toMatchObject({
      port: 9000, host: "::1", hostIsLoopback: true, poolSize: 2, poolCheckoutTimeoutSecs: 5, idleTimeoutSecs: 60, maxSessionSecs: 0,
      shutdownDrainSecs: 3, bodyLimitBytes: 1000, wsFrameMaxBytes: 4096, rateLimitPerMinute: 120, rateLimitBurst: 4, corsAllowAny: true,
      metrics: true, logLevel: "debug", logFormat: "pretty", modelDir: "/m", precision: "int8", workers: 2, offline: true,
    });
    expect(c.allowOrigin).toEqual(["https://app.example.com", "http://b.test:8080"]);
    expect(c.allowHost).toEqual(["stt.example.com", "box:9000"]);
    expect(c.trustProxy).toEqual(["10.0.0.0/8", "192.168.1.1/32"]);
  });

  test("--trust-proxy alone means loopback; repeats accumulate without duplicates", () => {
    expect(parse(["--trust-proxy"]).trustProxy).toEqual(["127.0.0.0/8", "::1/128"]);
    expect(parse(["--trust-proxy", "--trust-proxy=10.1.2.3/8"]).trustProxy).toEqual(["127.0.0.0/8", "::1/128", "10.0.0.0/8"]);
  });

  test("--no-<bool> and --bool=<boolish>", () => {
    expect(parse(["--metrics=yes"]).metrics).toBe(true);
    expect(parse(["--metrics", "--no-metrics"]).metrics).toBe(false);
    expect(parse(["--no-metrics"], { GIGASTT_METRICS: "1" }).metrics).toBe(false);
  });

  test("--skip-quantize and --partial-precision (flag over env; default int8)", () => {
    const c = parse(["--skip-quantize"]);
    expect(c.skipQuantize).toBe(true);
    expect(c.warnings.filter((w) => w.includes("skip-quantize"))).toHaveLength(0);
    expect(parse([], { GIGASTT_SKIP_QUANTIZE: "1" }).skipQuantize).toBe(true);
    expect(parse([]).partialPrecision).toBe("int8");
    expect(parse(["--partial-precision", "fp32"]).partialPrecision).toBe("fp32");
    expect(parse([], { GIGASTT_PARTIAL_PRECISION: "FP32" }).partialPrecision).toBe("fp32");
    expect(parse(["--partial-precision=int8"], { GIGASTT_PARTIAL_PRECISION: "fp32" }).partialPrecision).toBe("int8");
    expect(() => parse(["--partial-precision", "fp16"])).toThrow("--partial-precision");
  });

  test("--compact-pauses: on by default; --no-compact-pauses or GIGASTT_COMPACT_PAUSES=0 turn it off (flag over env)", () => {
    expect(parse([]).compactPauses).toBe(true);
    expect(parse(["--no-compact-pauses"]).compactPauses).toBe(false);
    expect(parse([], { GIGASTT_COMPACT_PAUSES: "0" }).compactPauses).toBe(false);
    expect(parse(["--compact-pauses"], { GIGASTT_COMPACT_PAUSES: "off" }).compactPauses).toBe(true);
    expect(() => parse([], { GIGASTT_COMPACT_PAUSES: "maybe" })).toThrow("GIGASTT_COMPACT_PAUSES");
  });

  test("--vad, --vad-threshold, --vad-min-silence-ms: off, 0.5, 500 by default; flags over env; bad values name the flag", () => {
    expect(parse([])).toMatchObject({ vad: false, vadThreshold: 0.5, vadMinSilenceMs: 500 });
    expect(parse(["--vad", "--vad-threshold", "0.35", "--vad-min-silence-ms", "700"])).toMatchObject({ vad: true, vadThreshold: 0.35, vadMinSilenceMs: 700 });
    expect(parse([], { GIGASTT_VAD: "1", GIGASTT_VAD_THRESHOLD: "0.6", GIGASTT_VAD_MIN_SILENCE_MS: "300" })).toMatchObject({ vad: true, vadThreshold: 0.6, vadMinSilenceMs: 300 });
    expect(parse(["--vad-threshold", "0.4"], { GIGASTT_VAD_THRESHOLD: "0.6" }).vadThreshold).toBe(0.4);
    for (const v of ["0", "1", "1.5", "-0.1", "abc", ""]) expect(() => parse(["--vad-threshold", v])).toThrow("--vad-threshold");
    expect(() => parse([], { GIGASTT_VAD_THRESHOLD: "2" })).toThrow("GIGASTT_VAD_THRESHOLD");
    for (const v of ["5", "6000", "x"]) expect(() => parse(["--vad-min-silence-ms", v])).toThrow("--vad-min-silence-ms");
  });

  test("clamps: checkout 0 → 1, drain 0 → 1, rpm > 60000 → 60000, each with a warning", () => {
    const c = parse(["--pool-checkout-timeout-secs", "0", "--shutdown-drain-secs", "0", "--rate-limit-per-minute", "100000"]);
    expect(c.poolCheckoutTimeoutSecs).toBe(1);
    expect(c.shutdownDrainSecs).toBe(1);
    expect(c.rateLimitPerMinute).toBe(60_000);
    expect(c.warnings).toHaveLength(3);
  });

  test("max session shorter than idle timeout warns", () => {
    expect(parse(["--max-session-secs", "10", "--idle-timeout-secs", "20"]).warnings.join("\n")).toContain("shorter than the idle timeout");
  });
});

describe("request body pace", () => {
  test("--body-idle-timeout-secs / --body-min-bytes-per-sec: defaults 30 s and 1024 B/s; flag > env > file; 0 s refused, 0 B/s = no floor", () => {
    expect(parse([])).toMatchObject({ bodyIdleTimeoutSecs: 30, bodyMinBytesPerSec: 1024 });
    expect(parse(["--body-idle-timeout-secs", "5", "--body-min-bytes-per-sec", "0"])).toMatchObject({ bodyIdleTimeoutSecs: 5, bodyMinBytesPerSec: 0 });
    expect(parse([], { GIGASTT_BODY_IDLE_TIMEOUT_SECS: "7", GIGASTT_BODY_MIN_BYTES_PER_SEC: "100" })).toMatchObject({ bodyIdleTimeoutSecs: 7, bodyMinBytesPerSec: 100 });
    const file = "body_idle_timeout_secs = 9\nbody_min_bytes_per_sec = 50\n";
    expect(parse(["--config", "l.toml"], {}, file)).toMatchObject({ bodyIdleTimeoutSecs: 9, bodyMinBytesPerSec: 50 });
    expect(parse(["--config", "l.toml", "--body-idle-timeout-secs", "3"], { GIGASTT_BODY_MIN_BYTES_PER_SEC: "60" }, file)).toMatchObject({ bodyIdleTimeoutSecs: 3, bodyMinBytesPerSec: 60 });
    expect(fails(["--body-idle-timeout-secs", "0"]).message).toContain("--body-idle-timeout-secs");
    expect(fails([], { GIGASTT_BODY_IDLE_TIMEOUT_SECS: "x" }).message).toContain("GIGASTT_BODY_IDLE_TIMEOUT_SECS");
  });

  test("--allow-origin null is accepted (the opaque origin, by name)", () => {
    expect(parse(["--allow-origin", "null", "--allow-origin", "NULL"]).allowOrigin).toEqual(["null", "null"]);
  });
});

describe("host and bind guard", () => {
  test.each([
    ["127.0.0.1", "127.0.0.1", true, false],
    ["127.5.6.7", "127.5.6.7", true, false],
    ["localhost", "127.0.0.1", true, false],
    ["LOCALHOST", "127.0.0.1", true, false],
    ["::1", "::1", true, false],
    ["[::1]", "::1", true, false],
    ["0.0.0.0", "0.0.0.0", false, true],
    ["[::]", "::", false, true],
    ["192.168.1.10", "192.168.1.10", false, false],
  ])("%s", (text, address, loopback, wildcard) => {
    expect(parseBindHost(text)).toEqual({ address, loopback, wildcard });
  });

  test("non-loopback needs --bind-all or GIGASTT_ALLOW_BIND_ANY", () => {
    const e = fails(["--host", "0.0.0.0"]);
    expect(e.code).toBe("bind_refused");
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("--bind-all");
    expect(parse(["--host", "0.0.0.0", "--bind-all"]).bindAll).toBe(true);
    for (const v of ["1", "true", "YES", "on"]) expect(parse(["--host", "10.0.0.1"], { GIGASTT_ALLOW_BIND_ANY: v }).hostIsLoopback).toBe(false);
    expect(fails(["--host", "10.0.0.1"], { GIGASTT_ALLOW_BIND_ANY: "0" }).code).toBe("bind_refused");
  });

  test("non-loopback bind warns; wildcard without --allow-host warns about Host", () => {
    const w = parse(["--host", "0.0.0.0", "--bind-all"]).warnings.join("\n");
    expect(w).toContain("anyone on the network");
    expect(w).toContain("any Host header is accepted");
    expect(parse(["--host", "0.0.0.0", "--bind-all", "--allow-host", "stt.lan"]).warnings.join("\n")).not.toContain("any Host header");
  });

  test("host names other than localhost are refused (no DNS at startup)", () => {
    const e = fails(["--host", "example.com"]);
    expect(e.code).toBe("usage");
    expect(e.message).toContain("--host");
  });
});

describe("env", () => {
  test("every env var", () => {
    const c = parse([], {
      GIGASTT_IDLE_TIMEOUT_SECS: "11",
      GIGASTT_WS_FRAME_MAX_BYTES: "2048",
      GIGASTT_BODY_LIMIT_BYTES: "999",
      GIGASTT_RATE_LIMIT_PER_MINUTE: "30",
      GIGASTT_RATE_LIMIT_BURST: "2",
      GIGASTT_METRICS: "on",
      GIGASTT_MAX_SESSION_SECS: "100",
      GIGASTT_SHUTDOWN_DRAIN_SECS: "4",
      GIGASTT_POOL_CHECKOUT_TIMEOUT_SECS: "7",
      GIGASTT_SKIP_QUANTIZE: "1",
      GIGASTT_PRECISION: "int8",
      GIGASTT_WORKERS: "5",
      GIGASTT_TRUST_PROXY: "true",
      GIGASTT_OFFLINE: "yes",
    });
    expect(c).toMatchObject({
      idleTimeoutSecs: 11, wsFrameMaxBytes: 2048, bodyLimitBytes: 999, rateLimitPerMinute: 30, rateLimitBurst: 2, metrics: true,
      maxSessionSecs: 100, shutdownDrainSecs: 4, poolCheckoutTimeoutSecs: 7, skipQuantize: true, precision: "int8", workers: 5, offline: true,
    });
    expect(c.trustProxy).toEqual(["127.0.0.0/8", "::1/128"]);
  });

  test("GIGASTT_PORT and GIGASTT_HOST set the listener (what `gigastt healthcheck` reads too); flags win", () => {
    const c = parse([], { GIGASTT_PORT: "8123", GIGASTT_HOST: "0.0.0.0", GIGASTT_ALLOW_BIND_ANY: "1" });
    expect([c.port, c.host, c.hostIsWildcard]).toEqual([8123, "0.0.0.0", true]);
    expect(parse(["--port", "7000", "--host", "::1"], { GIGASTT_PORT: "8123", GIGASTT_HOST: "0.0.0.0" })).toMatchObject({ port: 7000, host: "::1" });
    expect(fails([], { GIGASTT_PORT: "70000" }).message).toContain("GIGASTT_PORT");
    expect(fails([], { GIGASTT_HOST: "example.com" }).message).toContain("GIGASTT_HOST");
    expect(fails([], { GIGASTT_HOST: "0.0.0.0" }).code).toBe("bind_refused");
  });

  test("GIGASTT_TRUST_PROXY takes a CIDR list or a boolean", () => {
    expect(parse([], { GIGASTT_TRUST_PROXY: "10.0.0.0/8, fd00::/8" }).trustProxy).toEqual(["10.0.0.0/8", "fd00::/8"]);
    expect(parse([], { GIGASTT_TRUST_PROXY: "off" }).trustProxy).toEqual([]);
  });

  test("booleans accept 1/0 true/false yes/no on/off in any case; empty = unset", () => {
    for (const [v, want] of [["1", true], ["0", false], ["TRUE", true], ["False", false], ["yes", true], ["No", false], ["ON", true], ["off", false], ["", false]] as const)
      expect(parse([], { GIGASTT_METRICS: v }).metrics).toBe(want);
  });

  test("the flag wins over the env var", () => {
    expect(parse(["--idle-timeout-secs", "9"], { GIGASTT_IDLE_TIMEOUT_SECS: "11" }).idleTimeoutSecs).toBe(9);
    expect(parse(["--precision", "fp32"], { GIGASTT_PRECISION: "int8" }).precision).toBe("fp32");
  });
});

describe("config file", () => {
  const toml = [
    "idle_timeout_secs = 40",
    "ws_frame_max_bytes = 1024",
    "body_limit_bytes = 5000",
    "rate_limit_per_minute = 600",
    "rate_limit_burst = 20",
    "max_session_secs = 50",
    "shutdown_drain_secs = 6",
    "pool_checkout_timeout_secs = 8",
  ].join("\n");

  test("every key; precedence CLI > env > file > default", () => {
    const c = parse(["--config", "limits.toml", "--idle-timeout-secs", "1"], { GIGASTT_IDLE_TIMEOUT_SECS: "2", GIGASTT_BODY_LIMIT_BYTES: "7" }, toml);
    expect(c).toMatchObject({
      configFile: "limits.toml", idleTimeoutSecs: 1, bodyLimitBytes: 7, wsFrameMaxBytes: 1024, rateLimitPerMinute: 600, rateLimitBurst: 20,
      maxSessionSecs: 50, shutdownDrainSecs: 6, poolCheckoutTimeoutSecs: 8,
    });
    expect(parse(["--config", "x.toml"], {}, "idle_timeout_secs = 40").wsFrameMaxBytes).toBe(DEFAULT_LIMITS.wsFrameMaxBytes);
  });

  test("reads the file from disk when no text is given", () => {
    const c = parseServeConfig(["--config", "f.toml"], {}, { isTTY: false, cpus: 1, readFile: (p) => (p === "f.toml" ? "max_session_secs = 77" : "") });
    expect(c.maxSessionSecs).toBe(77);
  });

  test.each([
    ["idle_timeout_secs = = 1", "cannot parse"],
    ["idle_timeout_secs = -1", "idle_timeout_secs"],
    ["idle_timeout_secs = 1.5", "idle_timeout_secs"],
    ['idle_timeout_secs = "10"', "idle_timeout_secs"],
  ])("invalid file %j → invalid_config (exit 2)", (text, msg) => {
    const e = fails(["--config", "c.toml"], {}, text);
    expect(e.code).toBe("invalid_config");
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(msg);
  });

  test("an unknown key is a warning line, not fatal (as Rust ignores it)", () => {
    const c = parse(["--config", "c.toml"], {}, "port = 80\nidle_timeout_secs = 40");
    expect(c.idleTimeoutSecs).toBe(40);
    expect(c.warnings).toEqual([expect.stringContaining("unknown key 'port' in 'c.toml' ignored")]);
  });

  test("missing file → invalid_config naming it", () => {
    const e = fails(["--config", "/nonexistent/gigastt.toml"]);
    expect(e.code).toBe("invalid_config");
    expect(e.message).toContain("/nonexistent/gigastt.toml");
  });

  test("a file value is validated like the flag (burst 0 with rpm > 0)", () => {
    expect(fails(["--config", "c.toml"], {}, "rate_limit_per_minute = 5\nrate_limit_burst = 0").message).toContain("rate_limit_burst in c.toml");
  });
});

describe("invalid values exit 2 naming the flag", () => {
  test.each([
    [["--port", "70000"], "--port"],
    [["--port", "abc"], "--port"],
    [["--pool-size", "0"], "--pool-size"],
    [["--pool-size", "-1"], "--pool-size"],
    [["--idle-timeout-secs", "0"], "--idle-timeout-secs"],
    [["--body-limit-bytes", "1e6"], "--body-limit-bytes"],
    [["--ws-frame-max-bytes", "1"], "--ws-frame-max-bytes"],
    [["--rate-limit-per-minute", "10", "--rate-limit-burst", "0"], "--rate-limit-burst"],
    [["--workers", "0"], "--workers"],
    [["--precision", "fp16"], "--precision"],
    [["--log-level", "loud"], "--log-level"],
    [["--log-format", "xml"], "--log-format"],
    [["--allow-origin", "example.com"], "--allow-origin"],
    [["--allow-origin", "https://a.com/path"], "--allow-origin"],
    [["--allow-host", "a b"], "--allow-host"],
    [["--trust-proxy=10.0.0.0/33"], "--trust-proxy"],
    [["--trust-proxy=nonsense"], "--trust-proxy"],
    [["--metrics=maybe"], "--metrics"],
    [["--port"], "--port"],
    [["--bogus"], "--bogus"],
    [["positional"], "positional"],
  ])("%j", (argv, flag) => {
    const e = fails(argv as string[]);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(flag);
  });

  test.each([
    [{ GIGASTT_METRICS: "maybe" }, "GIGASTT_METRICS"],
    [{ GIGASTT_ALLOW_BIND_ANY: "sure" }, "GIGASTT_ALLOW_BIND_ANY"],
    [{ GIGASTT_IDLE_TIMEOUT_SECS: "ten" }, "GIGASTT_IDLE_TIMEOUT_SECS"],
    [{ GIGASTT_RATE_LIMIT_PER_MINUTE: "5", GIGASTT_RATE_LIMIT_BURST: "0" }, "GIGASTT_RATE_LIMIT_BURST"],
    [{ GIGASTT_PRECISION: "bf16" }, "GIGASTT_PRECISION"],
    [{ GIGASTT_TRUST_PROXY: "1.2.3.4/99" }, "GIGASTT_TRUST_PROXY"],
  ])("env %j", (env, name) => {
    const e = fails([], env as Record<string, string>);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(name);
  });
});

test("a CIDR after a bare --trust-proxy explains the = form", () => {
  expect(fails(["--trust-proxy", "10.0.0.0/8"]).message).toContain("--trust-proxy=CIDR");
});

test("parseServeArgv keeps repeatable flags and the global --log-level", () => {
  expect(parseServeArgv(["--allow-origin", "http://a", "--allow-origin", "http://b", "--log-level", "warn"])).toEqual({
    "allow-origin": ["http://a", "http://b"],
    "log-level": "warn",
  });
});

test("limitsDiff lists changed limits only", () => {
  const a = parse([]);
  const b = parse(["--idle-timeout-secs", "5", "--rate-limit-per-minute", "10"]);
  expect(limitsDiff(a, b)).toEqual({ idleTimeoutSecs: { from: 300, to: 5 }, rateLimitPerMinute: { from: 0, to: 10 } });
});

describe("jobs (the Rust names)", () => {
  test("off by default; ~/.gigastt/jobs; Rust's defaults", () => {
    const c = parse([], { HOME: "/home/u" });
    expect(c).toMatchObject({ enableJobs: false, jobsDir: "/home/u/.gigastt/jobs", jobsMax: 100, jobsMaxBytes: 536_870_912, jobsTtlSecs: 3600, batchPoolSize: 0, jobsRetry: 3 });
  });

  test("flags, env vars and config keys", () => {
    expect(parse(["--enable-jobs", "--jobs-dir", "/srv/jobs", "--jobs-max", "5", "--jobs-max-bytes", "1000", "--jobs-ttl-secs", "0", "--batch-pool-size", "2"])).toMatchObject({
      enableJobs: true,
      jobsDir: "/srv/jobs",
      jobsMax: 5,
      jobsMaxBytes: 1000,
      jobsTtlSecs: 0,
      batchPoolSize: 2,
    });
    const env = { GIGASTT_ENABLE_JOBS: "1", GIGASTT_JOBS_DIR: "/e/jobs", GIGASTT_JOBS_MAX: "6", GIGASTT_JOBS_MAX_BYTES: "2000", GIGASTT_JOBS_TTL_SECS: "60", GIGASTT_BATCH_POOL_SIZE: "2" };
    expect(parse([], env)).toMatchObject({ enableJobs: true, jobsDir: "/e/jobs", jobsMax: 6, jobsMaxBytes: 2000, jobsTtlSecs: 60, batchPoolSize: 2 });
    expect(parse(["--config", "x.toml"], {}, "jobs_max = 7\njobs_max_bytes = 3000\njobs_ttl_secs = 90\n")).toMatchObject({ jobsMax: 7, jobsMaxBytes: 3000, jobsTtlSecs: 90 });
    expect(parse(["--config", "x.toml", "--jobs-max", "8"], {}, "jobs_max = 7\n").jobsMax).toBe(8);
  });

  test("the batch share leaves a Worker for live streams", () => {
    const c = parse(["--enable-jobs", "--workers", "3", "--batch-pool-size", "9"]);
    expect(c.batchPoolSize).toBe(2);
    expect(c.warnings.join("\n")).toContain("--batch-pool-size=9");
    // one Worker: nothing to split off (files and live streams share it), warned
    const one = parse(["--workers", "1", "--batch-pool-size", "4"]);
    expect(one.batchPoolSize).toBe(0);
    expect(one.warnings.join("\n")).toContain("share the one Worker");
  });

  test("bad values exit 2 naming the flag", () => {
    expect(() => parse(["--jobs-max", "0"])).toThrow("--jobs-max");
    expect(() => parse(["--jobs-max-bytes", "x"])).toThrow("--jobs-max-bytes");
    expect(() => parse([], { GIGASTT_JOBS_TTL_SECS: "-1" })).toThrow("GIGASTT_JOBS_TTL_SECS");
  });
});

describe("API keys, page, Wyoming without auth", () => {
  const p = (argv: string[], env: Record<string, string> = {}, readFile?: (p: string) => string) =>
    parseServeConfig(argv, env, { isTTY: false, cpus: 1, ...(readFile ? { readFile } : {}) });
  test("--api-key (repeatable), GIGASTT_API_KEYS and --api-key-file add up, de-duplicated", () => {
    const c = p(["--api-key", "key-one-123", "--api-key", "key-two-456", "--api-key-file", "/k"], { GIGASTT_API_KEYS: "key-two-456, key-3-789" }, () => "# c\nkey-4-0000\n");
    expect(c.apiKeys).toEqual(["key-one-123", "key-two-456", "key-3-789", "key-4-0000"]);
    expect(c.apiKeyFile).toBe("/k");
    expect(p([]).apiKeys).toEqual([]);
  });
  test("a bad key, a missing or empty key file are errors naming the source", () => {
    expect(() => p(["--api-key", "with space"])).toThrow(/--api-key/);
    expect(() => p([], { GIGASTT_API_KEYS: "short" })).toThrow(/GIGASTT_API_KEYS/);
    expect(() => p(["--api-key-file", "/nope/keys"], {}, () => { throw Object.assign(new Error("x"), { code: "ENOENT" }); })).toThrow(/no such file/);
    expect(() => p(["--api-key-file", "/k"], {}, () => "# none\n")).toThrow(/holds no key/);
  });
  test("the page is on by default; --no-ui and GIGASTT_NO_UI=1 turn it off", () => {
    expect(p([]).ui).toBe(true);
    expect(p(["--no-ui"]).ui).toBe(false);
    expect(p([], { GIGASTT_NO_UI: "1" }).ui).toBe(false);
    expect(p([], { GIGASTT_NO_UI: "0" }).ui).toBe(true);
    expect(p(["--ui"], { GIGASTT_NO_UI: "1" }).ui).toBe(true);
  });
  test("with keys, a non-loopback Wyoming listener needs --wyoming-allow-unauthenticated", () => {
    const base = ["--host", "0.0.0.0", "--bind-all", "--wyoming-port", "10300", "--api-key", "key-one-123"];
    expect(() => p(base)).toThrow(/--wyoming-allow-unauthenticated/);
    expect(p([...base, "--wyoming-allow-unauthenticated"]).wyomingPort).toBe(10300);
    expect(p(["--wyoming-port", "10300", "--api-key", "key-one-123"]).wyomingPort).toBe(10300); // loopback
    expect(p(["--host", "0.0.0.0", "--bind-all", "--wyoming-port", "10300"]).wyomingPort).toBe(10300); // no keys
  });
  test("a wildcard bind without keys and without --allow-host: one warning naming both", () => {
    const w = p(["--host", "0.0.0.0", "--bind-all"]).warnings.filter((x) => x.includes("0.0.0.0"));
    expect(w).toHaveLength(1);
    expect(w[0]).toContain("--api-key");
    expect(w[0]).toContain("--allow-host");
    expect(p(["--host", "0.0.0.0", "--bind-all", "--api-key", "key-one-123", "--allow-host", "stt.lan"]).warnings.filter((x) => x.includes("0.0.0.0"))).toHaveLength(0);
  });
});
