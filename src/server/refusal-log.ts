/**
 * Throttle for the "request rejected" warn lines of refused requests (403
 * Origin, 421 Host): one line per client and code per window (a minute),
 * carrying how many refusals it stands for, so a flood of forged requests
 * cannot fill the disk. The key table is bounded.
 */

export interface RefusalThrottle {
  /** a refusal by `key`: `null` = stay quiet, else log it with this count (refusals since the last line, this one included) */
  take(key: string): number | null;
  readonly size: number;
}

export function createRefusalThrottle(opts: { windowMs?: number; maxKeys?: number; now?: () => number } = {}): RefusalThrottle {
  const windowMs = opts.windowMs ?? 60_000;
  const maxKeys = opts.maxKeys ?? 10_000;
  const now = opts.now ?? (() => performance.now());
  const seen = new Map<string, { lastLine: number; quiet: number }>();

  /** full: forget the key whose last line is oldest (the map is ordered by last line) */
  function evictOldest(): void {
    const first = seen.keys().next();
    if (!first.done) seen.delete(first.value);
  }

  return {
    take(key) {
      const t = now();
      const e = seen.get(key);
      if (e && t - e.lastLine < windowMs) {
        e.quiet++;
        return null;
      }
      const count = (e?.quiet ?? 0) + 1;
      if (!e && seen.size >= maxKeys) evictOldest();
      seen.delete(key); // re-insert: the map stays ordered by last line
      seen.set(key, { lastLine: t, quiet: 0 });
      return count;
    },
    get size() {
      return seen.size;
    },
  };
}
