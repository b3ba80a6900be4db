/**
 * `gigastt serve` configuration: one frozen object, parsed once from flags,
 * env and the optional TOML file (precedence CLI > env > file > default).
 */
import { boolOf, parseBool as parseBoolValue, parseNumberIn, parsePrecision as parsePrecisionValue, parseUint as parseUintValue } from "../values.ts";
import { FILE_KEYS, type FlagDef, SERVE_SCHEMA, type ServeFlagName } from "./flag-schema.ts";
import { type ConfigFileValues, noEffectWarnings, parseConfigFile, refuseUnavailable, type Sourced } from "./config-sources.ts";

export { type ConfigFileValues, parseConfigFile, refuseUnavailable };
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { GigasttError } from "../errors.ts";
import { parseLogLevel } from "../log.ts";
import { type HotwordList, parseHotwordsConfig } from "./hotwords-config.ts";
import { readKeyFile, validKey } from "./auth.ts";
import { isLoopbackIp, isWildcardIp, LOOPBACK_CIDRS, parseCidr, parseIp } from "./net.ts";
import { availableMemory, chooseWorkers, hostCores, type WorkerChoice } from "./workers.ts";
import type { LogFormat, LogLevelName } from "../log.ts";
import type { Precision } from "../types.ts";

/** Limits re-read from the config file on SIGHUP (CLI/env overrides still win). */
export interface ReloadableLimits {
  readonly idleTimeoutSecs: number;
  readonly wsFrameMaxBytes: number;
  readonly bodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
  readonly rateLimitBurst: number;
  readonly maxSessionSecs: number;
  readonly shutdownDrainSecs: number;
  readonly poolCheckoutTimeoutSecs: number;
  /** longest wait for the next request-body byte (and the upload-rate window), seconds */
  readonly bodyIdleTimeoutSecs: number;
  /** least average upload rate over each such window, bytes/s (0 = no floor) */
  readonly bodyMinBytesPerSec: number;
  /** jobs kept (queued, processing and finished until their TTL); POST /v1/jobs → 429 queue_full beyond */
  readonly jobsMax: number;
  /** bytes of job audio waiting (queued + processing) on disk; a submission over it → 429 queue_full */
  readonly jobsMaxBytes: number;
  /** seconds a finished job (and its result) stays fetchable; 0 = forever */
  readonly jobsTtlSecs: number;
  /** decoded-audio cap for uploads and jobs, seconds; 0 = no cap */
  readonly maxAudioSecs: number;
}

export interface ServerConfig extends ReloadableLimits {
  readonly port: number;
  /** bind address as Bun.serve wants it (IPv6 without brackets) */
  readonly host: string;
  /** true when `host` is loopback (127.0.0.0/8, ::1, localhost) */
  readonly hostIsLoopback: boolean;
  /** true when `host` is a wildcard (0.0.0.0 / ::) */
  readonly hostIsWildcard: boolean;
  readonly bindAll: boolean;
  /** sessions admitted at once (WS, SSE, REST) */
  readonly poolSize: number;
  /** lower-cased exact origins allowed besides loopback */
  readonly allowOrigin: readonly string[];
  readonly corsAllowAny: boolean;
  readonly metrics: boolean;
  readonly logLevel: LogLevelName;
  readonly logFormat: LogFormat;
  /** undefined: resolveModelDir's default (GIGASTT_MODEL_DIR, ~/.gigastt/models) */
  readonly modelDir: string | undefined;
  readonly configFile: string | undefined;
  /** never create the int8 partial encoder (one already in the model dir is still used) */
  readonly skipQuantize: boolean;
  /** never download the model (fail with exit 4 when it is missing) */
  readonly offline: boolean;
  /** shorten long pauses before the encoder (default true; the same setting for files and live streams) */
  readonly compactPauses: boolean;
  /** load the Silero VAD: per-request `vad` on files, `endpoint_mode=vad` on streams (default false) */
  readonly vad: boolean;
  /** VAD speech-probability threshold in (0, 1) (default 0.5) */
  readonly vadThreshold: number;
  /** non-speech that ends a VAD-endpointed utterance, ms (default 500; a WS `configure.min_silence_ms` overrides it) */
  readonly vadMinSilenceMs: number;
  /** default fp32 (int8 graphs are used when asked for and present) */
  readonly precision: Precision;
  /** encoder of streaming partials: int8 (default; the dynamic int8 file, created once unless skipQuantize) or fp32 */
  readonly partialPrecision: Precision;
  /** inference Workers */
  readonly workers: number;
  /** how the default Worker count was chosen (cores and memory); null when --workers/GIGASTT_WORKERS set it */
  readonly workersChoice: WorkerChoice | null;
  /** extra accepted Host header values (lower-cased; `name` or `name:port`) */
  readonly allowHost: readonly string[];
  /** CIDRs of trusted proxies; empty = forwarded headers ignored */
  readonly trustProxy: readonly string[];
  /** Wyoming (Home Assistant) TCP listener port on `host`; null = off (0 = any free port) */
  readonly wyomingPort: number | null;
  /** API keys (`--api-key`, GIGASTT_API_KEYS, `--api-key-file`); empty = no authentication */
  readonly apiKeys: readonly string[];
  /** `--api-key-file`, re-read on SIGHUP */
  readonly apiKeyFile: string | undefined;
  /** serve the built-in page at `/` (off with --no-ui / GIGASTT_NO_UI=1) */
  readonly ui: boolean;
  /** start a non-loopback Wyoming listener although API keys are set (Wyoming has no authentication) */
  readonly wyomingAllowUnauthenticated: boolean;
  /** warnings to log once at startup (clamps, no-op flags, risky settings) */
  readonly warnings: readonly string[];
  /** the `/v1/jobs` API (otherwise 404 `jobs_disabled`) */
  readonly enableJobs: boolean;
  /** where jobs live (SQLite file, audio, results); absolute */
  readonly jobsDir: string;
  /** Workers of their own for files and jobs (0: shared; jobs then use one at a time); at most workers − 1 */
  readonly batchPoolSize: number;
  /** the default hotword list (`--hotwords-file`, `--hotwords-default`, `--hotwords-boost`); null = none */
  readonly hotwords: HotwordList | null;
  /** a segment decode running longer fails with `inference_timeout` and its Worker is replaced; 0 = off */
  readonly inferenceTimeoutSecs: number;
  /** runs of a job interrupted by a server crash before it fails */
  readonly jobsRetry: number;
  /** Workers that must load for the server to start (1..workers) */
  readonly poolMinSize: number;
  /** onnxruntime intra-op threads of each Worker */
  readonly encoderIntraThreads: number;
  /** segments of one file decoding at once; null = Workers + 1 */
  readonly fileWindowConcurrency: number | null;
  /** where files derived from the model are written; undefined = the model folder */
  readonly optimizedCacheDir: string | undefined;
  /** `/metrics` on a listener of its own (with `metrics`); null = on the main port */
  readonly metricsListen: { readonly host: string; readonly port: number } | null;
  /** `--profile` */
  readonly profile: "default" | "edge";
}

export const DEFAULT_LIMITS: ReloadableLimits = Object.freeze({
  idleTimeoutSecs: 300,
  wsFrameMaxBytes: 524_288,
  bodyLimitBytes: 52_428_800,
  rateLimitPerMinute: 0,
  rateLimitBurst: 10,
  maxSessionSecs: 3600,
  shutdownDrainSecs: 10,
  poolCheckoutTimeoutSecs: 30,
  bodyIdleTimeoutSecs: 30,
  bodyMinBytesPerSec: 1024,
  jobsMax: 100,
  jobsMaxBytes: 536_870_912,
  jobsTtlSecs: 3600,
  maxAudioSecs: 3 * 3600,
});

export const DEFAULT_PORT = 9876;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_POOL_SIZE = 4;
export const DEFAULT_MAX_AUDIO_SECS = DEFAULT_LIMITS.maxAudioSecs;
export const DEFAULT_INFERENCE_TIMEOUT_SECS = 600;
export const DEFAULT_JOBS_RETRY = 3;

// ---------------------------------------------------------------------------
// parsing


type Env = Record<string, string | undefined>;

/** Every `serve` flag (declared once in ./flag-schema.ts); `global` ones are also accepted by the CLI runner. */
export const SERVE_FLAGS = SERVE_SCHEMA;
export type ServeFlag = ServeFlagName;
export { FILE_KEYS };
type FlagSpec = FlagDef;

/** the config-file key of each reloadable limit's flag */
const LIMIT_FLAGS: Record<keyof ReloadableLimits, ServeFlag> = {
  idleTimeoutSecs: "idle-timeout-secs",
  wsFrameMaxBytes: "ws-frame-max-bytes",
  bodyLimitBytes: "body-limit-bytes",
  rateLimitPerMinute: "rate-limit-per-minute",
  rateLimitBurst: "rate-limit-burst",
  maxSessionSecs: "max-session-secs",
  shutdownDrainSecs: "shutdown-drain-secs",
  poolCheckoutTimeoutSecs: "pool-checkout-timeout-secs",
  bodyIdleTimeoutSecs: "body-idle-timeout-secs",
  bodyMinBytesPerSec: "body-min-bytes-per-sec",
  jobsMax: "jobs-max",
  jobsMaxBytes: "jobs-max-bytes",
  jobsTtlSecs: "jobs-ttl-secs",
  maxAudioSecs: "max-audio-secs",
};

export const MAX_RATE_LIMIT_PER_MINUTE = 60_000;

/** What the command line said, before env/file/defaults. */
type RawFlags = { -readonly [K in ServeFlag]?: (typeof SERVE_FLAGS)[K]["kind"] extends "boolean" ? boolean : (typeof SERVE_FLAGS)[K]["kind"] extends "string" ? string : string[] };

function usage(msg: string): GigasttError {
  return new GigasttError("usage", msg);
}

/** Tokenizes `serve` argv: `--flag value`, `--flag=value`, `-p value`, `--no-bool`, repeatable lists. */
export function parseServeArgv(argv: readonly string[]): RawFlags {
  const out: Record<string, unknown> = {};
  const byShort = new Map<string, ServeFlag>();
  for (const [name, spec] of Object.entries(SERVE_FLAGS) as [ServeFlag, FlagSpec][]) if (spec.short) byShort.set(spec.short, name);
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === "--") break;
    if (!tok.startsWith("-") || tok === "-") {
      const hint = argv[i - 1] === "--trust-proxy" ? " (give proxies as --trust-proxy=CIDR[,CIDR…])" : "";
      throw usage(`unexpected argument '${tok}' for 'gigastt serve'${hint}`);
    }
    const long = tok.startsWith("--");
    const body = tok.slice(long ? 2 : 1);
    const eq = body.indexOf("=");
    let name = eq >= 0 ? body.slice(0, eq) : body;
    let inline: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    let negated = false;
    if (!long) {
      const full = byShort.get(name);
      if (!full) throw usage(`unknown flag '${tok}' for 'gigastt serve'`);
      name = full;
    } else if (!(name in SERVE_FLAGS) && name.startsWith("no-") && (SERVE_FLAGS as Record<string, FlagSpec>)[name.slice(3)]?.kind === "boolean") {
      name = name.slice(3);
      negated = true;
    }
    const spec = (SERVE_FLAGS as Record<string, FlagSpec>)[name];
    if (!spec) throw usage(`unknown flag '--${name}' for 'gigastt serve'`);
    const flag = `--${name}`;
    switch (spec.kind) {
      case "boolean":
        if (negated) {
          if (inline !== undefined) throw usage(`flag '--no-${name}' takes no value`);
          out[name] = false;
        } else out[name] = inline === undefined ? true : parseBool(inline, flag);
        break;
      case "optional-list": {
        // `--trust-proxy` alone = loopback; `--trust-proxy=CIDR[,CIDR…]` (repeatable)
        const list = (out[name] as string[] | undefined) ?? [];
        if (inline === undefined) list.push(...LOOPBACK_CIDRS);
        else list.push(...splitList(inline, flag));
        out[name] = list;
        break;
      }
      case "string":
      case "list": {
        if (inline === undefined) {
          const next = argv[i + 1];
          if (next === undefined || (next.startsWith("-") && next !== "-" && !/^-\d/.test(next))) throw usage(`flag '${flag}' needs a value`);
          inline = next;
          i++;
        }
        if (spec.kind === "string") out[name] = inline;
        else out[name] = [...((out[name] as string[] | undefined) ?? []), inline];
        break;
      }
    }
  }
  return out as RawFlags;
}

function splitList(s: string, flag: string): string[] {
  const items = s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  if (items.length === 0) throw usage(`flag '${flag}' needs at least one value`);
  return items;
}

/** Boolean text as accepted everywhere: 1/0, true/false, yes/no, on/off (any case). */
export const parseBool = parseBoolValue;

const parseUint = parseUintValue;


export interface ParseOptions {
  /** content of the `--config` file; read from disk when omitted and `--config` is given */
  fileText?: string;
  /** whether stderr is a TTY (picks the default log format) */
  isTTY?: boolean;
  /** CPU cores, for the default `--workers` */
  cpus?: number;
  /** bytes of memory available, for the default `--workers` */
  availableBytes?: number;
  readFile?: (path: string) => string;
}

/**
 * Parses and validates everything `serve` needs, before any network or model
 * work. Throws GigasttError `usage`/`bind_refused`/`invalid_config` (exit 2)
 * naming the flag, env var or file key at fault.
 */
export function parseServeConfig(argv: readonly string[], env: Env = process.env, opts: ParseOptions = {}): ServerConfig {
  const flags = parseServeArgv(argv);
  const warnings: string[] = [];

  const envStr = (flag: ServeFlag): Sourced<string> | undefined => {
    const name = (SERVE_FLAGS[flag] as FlagSpec).env;
    const v = name ? env[name] : undefined;
    return name && v !== undefined && v.trim() !== "" ? { value: v.trim(), from: name } : undefined;
  };
  const flagOrEnvStr = (flag: ServeFlag): Sourced<string> | undefined => {
    const v = flags[flag];
    if (typeof v === "string") return { value: v, from: `--${flag}` };
    return envStr(flag);
  };
  const bool = (flag: ServeFlag): boolean => {
    const v = flags[flag];
    if (typeof v === "boolean") return v;
    const e = envStr(flag);
    if (e) return parseBool(e.value, e.from);
    const f = file.values[flag];
    return typeof f?.value === "boolean" ? f.value : false;
  };
  const uint = (flag: ServeFlag, fallback: number): Sourced<number> => {
    const s = flagOrEnvStr(flag);
    return s ? { value: parseUint(s.value, s.from), from: s.from } : { value: fallback, from: "default" };
  };

  // ---- Rust flags whose model or feature this server lacks: one line each ----------
  refuseUnavailable(flags, env);

  const profileRaw = flagOrEnvStr("profile");
  const profile = (profileRaw?.value.trim().toLowerCase() ?? "default") as "default" | "edge";
  if (profile === "edge")
    warnings.push(
      `${profileRaw!.from}=edge: --pool-size 1 and --workers 1 where not set; Rust's edge profile also turns on VAD: add --vad for it`,
    );

  // ---- config file ----------------------------------------------------------
  const configFile = flags.config?.trim() || undefined;
  if (flags.config !== undefined && !configFile) throw usage("flag '--config' needs a file path");
  const file = configFile ? parseConfigFile(opts.fileText ?? readConfig(configFile, opts.readFile), configFile) : { values: {}, warnings: [] };
  warnings.push(...file.warnings);

  /** flag > env > file > default */
  const fileUint = (flag: ServeFlag, fallback: number): Sourced<number> => {
    const s = flagOrEnvStr(flag);
    if (s) return { value: parseUint(s.value, s.from), from: s.from };
    const f = file.values[flag];
    if (f && typeof f.value === "number") return f as Sourced<number>;
    return { value: fallback, from: "default" };
  };
  const limit = (key: keyof ReloadableLimits): Sourced<number> => fileUint(LIMIT_FLAGS[key], DEFAULT_LIMITS[key]);

  // ---- network --------------------------------------------------------------
  const port = uint("port", DEFAULT_PORT);
  if (port.value > 65535) throw usage(`invalid value '${port.value}' for '${port.from === "default" ? "--port" : port.from}': expected 0..65535`);
  const wyomingRaw = flagOrEnvStr("wyoming-port");
  const wyomingPort = wyomingRaw ? parseUint(wyomingRaw.value, wyomingRaw.from) : null;
  if (wyomingPort !== null && wyomingPort > 65535) throw usage(`invalid value '${wyomingPort}' for '${wyomingRaw!.from}': expected 0..65535`);
  if (wyomingPort !== null && wyomingPort !== 0 && wyomingPort === port.value)
    throw usage(`invalid value '${wyomingPort}' for '${wyomingRaw!.from}': the Wyoming port must differ from the HTTP port`);
  const bindAll = bool("bind-all");
  const hostRaw = flagOrEnvStr("host");
  const hostText = (hostRaw?.value ?? DEFAULT_HOST).trim();
  const bind = parseBindHost(hostText, hostRaw?.from);
  if (!bind.loopback && !bindAll) {
    throw new GigasttError(
      "bind_refused",
      `refusing to bind non-loopback address '${hostText}': pass --bind-all or set GIGASTT_ALLOW_BIND_ANY=1 to expose the server to the network`,
    );
  }

  // ---- limits -------------------------------------------------------------
  const poolSize = uint("pool-size", profile === "edge" ? 1 : DEFAULT_POOL_SIZE);
  if (poolSize.value < 1) throw usage(`invalid value '0' for '${poolSize.from}': the pool needs at least 1 slot`);
  const checkout = limit("poolCheckoutTimeoutSecs");
  if (checkout.value === 0) {
    checkout.value = 1;
    warnings.push(`${checkout.from}=0 would refuse every busy request at once; using 1 second`);
  }
  const idle = limit("idleTimeoutSecs");
  if (idle.value < 1) throw usage(`invalid value '0' for '${idle.from}': expected at least 1 second`);
  const maxSession = limit("maxSessionSecs");
  if (maxSession.value > 0 && maxSession.value < idle.value)
    warnings.push(`max session (${maxSession.value}s) is shorter than the idle timeout (${idle.value}s): sessions end at the max session cap first`);
  const drain = limit("shutdownDrainSecs");
  if (drain.value < 1) {
    drain.value = 1;
    warnings.push(`${drain.from}=0 leaves no time to drain; using 1 second`);
  }
  const body = limit("bodyLimitBytes");
  if (body.value < 1) throw usage(`invalid value '0' for '${body.from}': expected at least 1 byte`);
  const bodyIdle = limit("bodyIdleTimeoutSecs");
  if (bodyIdle.value < 1) throw usage(`invalid value '0' for '${bodyIdle.from}': expected at least 1 second`);
  const bodyRate = limit("bodyMinBytesPerSec");
  const frame = limit("wsFrameMaxBytes");
  if (frame.value < 2) throw usage(`invalid value '${frame.value}' for '${frame.from}': expected at least 2 bytes`);
  const rpm = limit("rateLimitPerMinute");
  if (rpm.value > MAX_RATE_LIMIT_PER_MINUTE) {
    warnings.push(`${rpm.from}=${rpm.value} is above ${MAX_RATE_LIMIT_PER_MINUTE}; clamped to ${MAX_RATE_LIMIT_PER_MINUTE}`);
    rpm.value = MAX_RATE_LIMIT_PER_MINUTE;
  }
  const burst = limit("rateLimitBurst");
  if (rpm.value > 0 && burst.value === 0) throw usage(`invalid value '0' for '${burst.from}': the burst must be at least 1 when rate limiting is on`);

  // ---- origins / hosts / proxies -------------------------------------------
  const allowOrigin = (flags["allow-origin"] ?? []).map(normalizeOrigin);
  const corsAllowAny = bool("cors-allow-any");
  if (corsAllowAny) warnings.push("--cors-allow-any: every web page can call this server from a browser (Access-Control-Allow-Origin: *)");
  const allowHost = (flags["allow-host"] ?? []).map(normalizeAllowHost);

  // ---- API keys -------------------------------------------------------------
  const apiKeyFile = flagOrEnvStr("api-key-file")?.value.trim() || undefined;
  const apiKeys = parseApiKeys(flags["api-key"] ?? [], env.GIGASTT_API_KEYS, apiKeyFile, opts.readFile);
  if (!bind.loopback) {
    if (bind.wildcard && allowHost.length === 0 && apiKeys.length === 0)
      warnings.push(
        `wildcard bind ${hostText} without --api-key and without --allow-host: anyone on the network can reach this server (no authentication) and any Host header is accepted (no DNS-rebinding protection)`,
      );
    else if (apiKeys.length === 0) warnings.push(`binding ${hostText} without --api-key: anyone on the network can reach this server (no authentication; put a TLS reverse proxy in front)`);
    else if (bind.wildcard && allowHost.length === 0)
      warnings.push(`wildcard bind ${hostText} without --allow-host: any Host header is accepted (no DNS-rebinding protection)`);
  }
  const wyomingAllowUnauthenticated = bool("wyoming-allow-unauthenticated");
  if (apiKeys.length > 0 && wyomingPort !== null && !bind.loopback && !wyomingAllowUnauthenticated)
    throw usage(
      `refusing to start the Wyoming listener on non-loopback '${hostText}' with API keys set: Wyoming has no authentication; pass --wyoming-allow-unauthenticated to start it anyway`,
    );
  const noUiEnv = env.GIGASTT_NO_UI?.trim();
  const ui = typeof flags.ui === "boolean" ? flags.ui : noUiEnv ? !parseBool(noUiEnv, "GIGASTT_NO_UI") : true;
  const trustProxy = parseTrustProxy(flags["trust-proxy"], envStr("trust-proxy"));

  // ---- engine / logging -----------------------------------------------------
  const precisionRaw = flagOrEnvStr("precision");
  const precision = precisionRaw ? parsePrecision(precisionRaw) : "fp32";
  const partialRaw = flagOrEnvStr("partial-precision");
  const partialPrecision = partialRaw ? parsePrecision(partialRaw) : "int8";
  const workersGiven = flagOrEnvStr("workers") ?? (profile === "edge" ? { value: "1", from: "--profile edge" } : undefined);
  const workersChoice = workersGiven
    ? null
    : chooseWorkers({ cores: opts.cpus ?? hostCores(), availableBytes: opts.availableBytes ?? (opts.cpus !== undefined ? Number.POSITIVE_INFINITY : availableMemory()), precision });
  const workers = workersGiven ? { value: parseUint(workersGiven.value, workersGiven.from), from: workersGiven.from } : { value: workersChoice?.workers ?? 1, from: "default" };
  if (workers.value < 1) throw usage(`invalid value '0' for '${workers.from}': expected at least 1 worker`);
  const skipQuantize = bool("skip-quantize");
  const compactPausesFlag = flags["compact-pauses"];
  const compactPausesEnv = envStr("compact-pauses");
  const compactPauses = typeof compactPausesFlag === "boolean" ? compactPausesFlag : compactPausesEnv ? parseBool(compactPausesEnv.value, compactPausesEnv.from) : true;
  const vadThresholdRaw = flagOrEnvStr("vad-threshold");
  const vadThreshold = vadThresholdRaw ? Number(vadThresholdRaw.value.trim()) : 0.5;
  if (!(vadThreshold > 0 && vadThreshold < 1) || vadThresholdRaw?.value.trim() === "")
    throw usage(`invalid value '${vadThresholdRaw?.value}' for '${vadThresholdRaw?.from}': expected a number between 0 and 1`);
  const vadMinSilence = uint("vad-min-silence-ms", 500);
  if (vadMinSilence.value < 10 || vadMinSilence.value > 5000) throw usage(`invalid value '${vadMinSilence.value}' for '${vadMinSilence.from}': expected 10 to 5000 ms`);
  let logLevel: LogLevelName;
  try {
    logLevel = parseLogLevel(flags["log-level"]);
  } catch (e) {
    throw usage(`invalid value '${flags["log-level"]}' for '--log-level': expected silent, error, warn, info, debug or trace`);
  }
  const fmt = flags["log-format"]?.trim().toLowerCase();
  if (fmt !== undefined && fmt !== "json" && fmt !== "pretty") throw usage(`invalid value '${flags["log-format"]}' for '--log-format': expected json or pretty`);
  const logFormat: LogFormat = fmt ?? (opts.isTTY ?? process.stderr.isTTY ? "pretty" : "json");
  const modelDir = flags["model-dir"]?.trim() || undefined;
  if (flags["model-dir"] !== undefined && !modelDir) throw usage("flag '--model-dir' needs a path");

  // ---- jobs -------------------------------------------------------------------
  const enableJobs = bool("enable-jobs");
  const jobsMax = limit("jobsMax");
  if (jobsMax.value < 1) throw usage(`invalid value '0' for '${jobsMax.from}': expected at least 1 job`);
  const jobsMaxBytes = limit("jobsMaxBytes");
  if (jobsMaxBytes.value < 1) throw usage(`invalid value '0' for '${jobsMaxBytes.from}': expected at least 1 byte`);
  const jobsTtl = limit("jobsTtlSecs");
  const jobsDirRaw = flagOrEnvStr("jobs-dir");
  if (jobsDirRaw && !jobsDirRaw.value.trim()) throw usage(`flag '${jobsDirRaw.from}' needs a path`);
  const jobsDir = resolveJobsDir(jobsDirRaw?.value.trim(), env);
  const batchRaw = uint("batch-pool-size", 0);
  let batchPoolSize = batchRaw.value;
  const batchCap = workers.value - 1;
  if (batchPoolSize > batchCap) {
    warnings.push(`${batchRaw.from}=${batchPoolSize} would leave no Worker for live streams; using ${batchCap}${batchCap === 0 ? " (files and live streams share the one Worker)" : ""}`);
    batchPoolSize = batchCap;
  }
  const jobsRetry = fileUint("jobs-retry", DEFAULT_JOBS_RETRY);
  if (jobsRetry.value < 1) throw usage(`invalid value '0' for '${jobsRetry.from}': expected at least 1 run`);

  // ---- inference ----------------------------------------------------------------
  const inferenceTimeout = fileUint("inference-timeout-secs", DEFAULT_INFERENCE_TIMEOUT_SECS);
  const poolMin = uint("pool-min-size", 1);
  const poolMinSize = Math.min(Math.max(1, poolMin.value), workers.value);
  if (poolMin.value > workers.value) warnings.push(`${poolMin.from}=${poolMin.value} is more than the ${workers.value} Workers; using ${poolMinSize}`);
  const threads = uint("encoder-intra-threads", 1);
  if (threads.value < 1) throw usage(`invalid value '0' for '${threads.from}': expected at least 1 thread`);
  const fileWindowRaw = flagOrEnvStr("file-window-concurrency");
  const fileWindowConcurrency = fileWindowRaw ? parseUint(fileWindowRaw.value, fileWindowRaw.from) : null;
  if (fileWindowConcurrency === 0) throw usage(`invalid value '0' for '${fileWindowRaw!.from}': expected at least 1 segment`);
  const cacheRaw = flagOrEnvStr("optimized-cache-dir");
  if (cacheRaw && !cacheRaw.value.trim()) throw usage(`flag '${cacheRaw.from}' needs a path`);
  const optimizedCacheDir = cacheRaw ? resolve(cacheRaw.value.trim()) : undefined;
  warnings.push(...noEffectWarnings(flagOrEnvStr("punct-model-dir"), flagOrEnvStr("stream-max-window-secs"), flags["stream-stable-prefix"] ?? envStr("stream-stable-prefix")));

  // ---- metrics --------------------------------------------------------------------
  const metrics = bool("metrics");
  const metricsListenRaw = flagOrEnvStr("metrics-listen");
  const metricsListen = metricsListenRaw ? parseListenAddr(metricsListenRaw.value, metricsListenRaw.from) : null;
  if (metricsListen && !metrics) warnings.push(`${metricsListenRaw!.from} has no effect without --metrics (GIGASTT_METRICS=1): no metrics listener is started`);
  if (metricsListen && metrics && !metricsListen.loopback && !bindAll)
    throw new GigasttError("bind_refused", `refusing to serve /metrics on non-loopback '${metricsListenRaw!.value}': pass --bind-all or set GIGASTT_ALLOW_BIND_ANY=1 to expose it to the network`);
  if (metricsListen && metrics && metricsListen.port !== 0 && metricsListen.port === port.value && (metricsListen.host === bind.address || metricsListen.wildcard || bind.wildcard))
    throw usage(`invalid value '${metricsListenRaw!.value}' for '${metricsListenRaw!.from}': the metrics listener needs a port of its own (not --port)`);

  // ---- hotwords -----------------------------------------------------------------
  const hotwords = parseHotwordsConfig({ file: flagOrEnvStr("hotwords-file"), withDefaults: bool("hotwords-default"), boost: flagOrEnvStr("hotwords-boost") }, opts.readFile, warnings);

  return Object.freeze({
    port: port.value,
    host: bind.address,
    hostIsLoopback: bind.loopback,
    hostIsWildcard: bind.wildcard,
    bindAll,
    poolSize: poolSize.value,
    poolCheckoutTimeoutSecs: checkout.value,
    idleTimeoutSecs: idle.value,
    maxSessionSecs: maxSession.value,
    shutdownDrainSecs: drain.value,
    bodyLimitBytes: body.value,
    bodyIdleTimeoutSecs: bodyIdle.value,
    bodyMinBytesPerSec: bodyRate.value,
    wsFrameMaxBytes: frame.value,
    rateLimitPerMinute: rpm.value,
    rateLimitBurst: burst.value,
    allowOrigin: Object.freeze(allowOrigin),
    corsAllowAny,
    metrics,
    metricsListen: metrics && metricsListen ? Object.freeze({ host: metricsListen.host, port: metricsListen.port }) : null,
    logLevel,
    logFormat,
    modelDir,
    configFile,
    skipQuantize,
    offline: bool("offline"),
    compactPauses,
    vad: bool("vad"),
    vadThreshold,
    vadMinSilenceMs: vadMinSilence.value,
    precision,
    partialPrecision,
    workers: workers.value,
    workersChoice,
    allowHost: Object.freeze(allowHost),
    trustProxy: Object.freeze(trustProxy),
    maxAudioSecs: limit("maxAudioSecs").value,
    wyomingPort,
    apiKeys: Object.freeze(apiKeys),
    apiKeyFile,
    ui,
    wyomingAllowUnauthenticated,
    warnings: Object.freeze(warnings),
    enableJobs,
    jobsMax: jobsMax.value,
    jobsMaxBytes: jobsMaxBytes.value,
    jobsTtlSecs: jobsTtl.value,
    jobsDir,
    batchPoolSize,
    jobsRetry: jobsRetry.value,
    inferenceTimeoutSecs: inferenceTimeout.value,
    poolMinSize,
    encoderIntraThreads: threads.value,
    fileWindowConcurrency,
    optimizedCacheDir,
    profile,
    hotwords,
  });
}

/** `ADDR:PORT` of a listener (`127.0.0.1:9090`, `[::1]:9090`, `localhost:9090`), as Rust's SocketAddr. */
export function parseListenAddr(text: string, from: string): { host: string; port: number; loopback: boolean; wildcard: boolean } {
  const t = text.trim();
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(t);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw usage(`invalid value '${text}' for '${from}': expected ADDR:PORT such as 127.0.0.1:9090 or [::1]:9090`);
  const bind = parseBindHost(m[1]!, from);
  return { host: bind.address, port, loopback: bind.loopback, wildcard: bind.wildcard };
}

/** Jobs directory: `--jobs-dir` > GIGASTT_JOBS_DIR > $HOME/.gigastt/jobs (cwd-relative without a home). */
export function resolveJobsDir(given: string | undefined, env: Env = process.env, cwd = process.cwd()): string {
  if (given) return resolve(cwd, given);
  const home = env.HOME || env.USERPROFILE;
  return home ? resolve(home, ".gigastt", "jobs") : resolve(cwd, ".gigastt", "jobs");
}

/** Keys from every source, de-duplicated; each must be a token (it may travel in a WebSocket sub-protocol entry). */
export function parseApiKeys(flagKeys: readonly string[], envKeys: string | undefined, file: string | undefined, read?: (p: string) => string): string[] {
  const out: string[] = [];
  const add = (k: string, from: string) => {
    if (!validKey(k)) throw usage(`invalid API key in ${from}: expected 8–256 letters, digits or !#$%&'*+-.^_|~ (no spaces or commas: a key may travel in a WebSocket sub-protocol entry)`);
    if (!out.includes(k)) out.push(k);
  };
  for (const k of flagKeys) add(k.trim(), "--api-key");
  for (const k of (envKeys ?? "").split(",").map((x) => x.trim()).filter(Boolean)) add(k, "GIGASTT_API_KEYS");
  if (file) {
    const keys = readKeyFile(file, read);
    if (keys.length === 0) throw new GigasttError("invalid_config", `API key file '${file}' holds no key`);
    for (const k of keys) add(k, `'${file}'`);
  }
  return out;
}

function readConfig(path: string, readFile: ((p: string) => string) | undefined): string {
  try {
    return (readFile ?? ((p) => readFileSync(p, "utf8")))(path);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException)?.code === "ENOENT" ? "no such file" : ((e as Error)?.message ?? String(e));
    throw new GigasttError("invalid_config", `cannot read config file '${path}': ${why}`, { cause: e });
  }
}

export interface BindHost {
  /** address for Bun.serve (IPv6 without brackets) */
  readonly address: string;
  readonly loopback: boolean;
  readonly wildcard: boolean;
}

/** `--host`: an IP literal (IPv6 bracketed or not) or `localhost` (binds 127.0.0.1). */
export function parseBindHost(text: string, from = "--host"): BindHost {
  if (text.toLowerCase() === "localhost") return { address: "127.0.0.1", loopback: true, wildcard: false };
  const ip = parseIp(text);
  if (!ip) throw usage(`invalid value '${text}' for '${from}': expected an IP address (e.g. 127.0.0.1, ::1, [::1], 0.0.0.0) or localhost`);
  const raw = text.replace(/^\[|\]$/g, "");
  return { address: raw, loopback: isLoopbackIp(ip), wildcard: isWildcardIp(ip) };
}

function normalizeOrigin(o: string): string {
  const v = o.trim().toLowerCase().replace(/\/+$/, "");
  if (v === "null") return v; // the opaque origin, allowed only when asked for by name
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw usage(`invalid value '${o}' for '--allow-origin': expected an origin such as https://app.example.com (or null)`);
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.pathname !== "/" || u.search || u.hash || u.username || `${u.protocol}//${u.host}` !== v)
    throw usage(`invalid value '${o}' for '--allow-origin': expected scheme://host[:port] with no path, e.g. https://app.example.com`);
  return v;
}

function normalizeAllowHost(h: string): string {
  const v = h.trim().toLowerCase();
  // name, name:port, IPv4[:port], [IPv6][:port]
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(v) || v.startsWith(".") || v.startsWith("-"))
    throw usage(`invalid value '${h}' for '--allow-host': expected a host name or address with an optional :port, e.g. stt.example.com`);
  return v;
}

function parseTrustProxy(flag: string[] | undefined, env: Sourced<string> | undefined): string[] {
  let items: string[];
  let from: string;
  if (flag) {
    items = flag;
    from = "--trust-proxy";
  } else if (env) {
    from = env.from;
    const b = boolOf(env.value);
    if (b === true) items = [...LOOPBACK_CIDRS];
    else if (b === false) items = [];
    else items = splitList(env.value, from);
  } else return [];
  const out: string[] = [];
  for (const item of items) {
    const c = parseCidr(item);
    if (!c) throw usage(`invalid value '${item}' for '${from}': expected an IP address or CIDR such as 10.0.0.0/8`);
    if (!out.includes(c.text)) out.push(c.text);
  }
  return out;
}

function parsePrecision(s: Sourced<string>): Precision {
  return parsePrecisionValue(s.value, s.from);
}

/** Fields SIGHUP may change, with their before/after values (for the reload log line). */
export function limitsDiff(a: ReloadableLimits, b: ReloadableLimits): Record<string, { from: number; to: number }> {
  const out: Record<string, { from: number; to: number }> = {};
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ReloadableLimits)[]) if (a[key] !== b[key]) out[key] = { from: a[key], to: b[key] };
  return out;
}
