/**
 * Per-client token bucket: capacity `burst` (starts full), refill
 * `perMinute / 60 000` tokens per millisecond (fractional), 1 token per
 * request. Memory is bounded: at most `maxClients` buckets (least recently
 * seen evicted first) and a sweep drops buckets that have refilled (a full
 * bucket is the same as none). The sweep timer stops on `close()`.
 */

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

export interface RateLimiter {
  readonly perMinute: number;
  readonly burst: number;
  /** spend one token for `key` (null key: allowed, nothing recorded) */
  take(key: string | null): RateDecision;
  /** number of buckets held */
  readonly size: number;
  /** drop refilled buckets now */
  sweep(): void;
  close(): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimiter(opts: {
  perMinute: number;
  burst: number;
  maxClients?: number;
  sweepEveryMs?: number;
  now?: () => number;
}): RateLimiter {
  if (!(opts.perMinute > 0) || !(opts.burst >= 1)) throw new RangeError("rate limiter needs perMinute > 0 and burst ≥ 1");
  const perMs = opts.perMinute / 60_000;
  const burst = opts.burst;
  const maxClients = opts.maxClients ?? 100_000;
  const now = opts.now ?? (() => performance.now());
  // Map iteration order = insertion order; re-inserting on use keeps it LRU.
  const buckets = new Map<string, Bucket>();

  const refill = (b: Bucket, t: number) => {
    b.tokens = Math.min(burst, b.tokens + (t - b.at) * perMs);
    b.at = t;
  };

  const limiter: RateLimiter = {
    perMinute: opts.perMinute,
    burst,
    get size() {
      return buckets.size;
    },
    take(key) {
      if (key === null) return { allowed: true };
      const t = now();
      let b = buckets.get(key);
      if (b) {
        buckets.delete(key);
        refill(b, t);
      } else {
        b = { tokens: burst, at: t };
        if (buckets.size >= maxClients) buckets.delete(buckets.keys().next().value!);
      }
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { allowed: true };
      }
      return { allowed: false, retryAfterMs: Math.ceil((1 - b.tokens) / perMs) };
    },
    sweep() {
      const t = now();
      for (const [key, b] of buckets) {
        if (b.tokens + (t - b.at) * perMs >= burst) buckets.delete(key);
      }
    },
    close() {
      clearInterval(timer);
      buckets.clear();
    },
  };
  const timer = setInterval(() => limiter.sweep(), opts.sweepEveryMs ?? 60_000);
  timer.unref?.();
  return limiter;
}
