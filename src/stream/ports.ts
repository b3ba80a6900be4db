/**
 * What a live stream needs from the process that hosts it, as small interfaces: the server
 * implements them (admission pool, drain lifecycle, Prometheus counters, its logger), a test
 * passes fakes. Nothing here reaches a socket, the server or the logger module.
 */

/** a held admission slot; `release()` is idempotent */
export interface Slot {
  release(): void;
}

/** the bounded pool every session waits in (FIFO; throws `timeout`, `pool_closed` or the signal's reason) */
export interface AdmissionPort {
  acquire(opts?: { signal?: AbortSignal }): Promise<Slot>;
}

/** the server's drain: sessions subscribe to it and are tracked so shutdown waits for them */
export interface DrainPort {
  readonly draining: boolean;
  /** run `cb` when draining starts; returns unsubscribe */
  onDrain(cb: () => void): () => void;
  track<T>(p: Promise<T>): Promise<T>;
}

/** the counters a stream feeds */
export interface StreamMetrics {
  /** an error code sent to a client */
  error(code: string): void;
  /** one final decode: wall seconds, audio seconds */
  inference(seconds: number, audioSeconds: number): void;
}

/** structured log lines (the server passes its logger) */
export interface StreamLog {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Session limits, read once when a session starts (`--idle-timeout-secs`, `--max-session-secs`; 0 = off). */
export interface SessionLimits {
  readonly idleTimeoutSecs: number;
  readonly maxSessionSecs: number;
}
