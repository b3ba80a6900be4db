/**
 * `gigastt serve` configuration: one frozen object, parsed once from flags,
 * env and the optional TOML file (precedence CLI > env > file > default).
 */
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
  readonly skipQuantize: boolean;
  readonly precision: Precision;
  /** inference Workers */
  readonly workers: number;
  /** extra accepted Host header values (lower-cased; `name` or `name:port`) */
  readonly allowHost: readonly string[];
  /** CIDRs of trusted proxies; empty = forwarded headers ignored */
  readonly trustProxy: readonly string[];
  /** decoded-audio cap for uploads, seconds (not a flag) */
  readonly maxAudioSecs: number;
  /** warnings to log once at startup (clamps, no-op flags, risky settings) */
  readonly warnings: readonly string[];
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
});

export const DEFAULT_PORT = 9876;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_POOL_SIZE = 4;
export const DEFAULT_MAX_AUDIO_SECS = 3 * 3600;
