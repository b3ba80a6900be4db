import { expect, test } from "bun:test";
import { createRateLimiter } from "./rate-limit.ts";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test("burst then refusal with a computed retry, fractional refill below 60 rpm", () => {
  const c = clock();
  const l = createRateLimiter({ perMinute: 30, burst: 2, now: c.now }); // one token every 2000 ms
  expect(l.take("a").allowed).toBe(true);
  expect(l.take("a").allowed).toBe(true);
  expect(l.take("a")).toEqual({ allowed: false, retryAfterMs: 2000 });
  c.advance(1500);
  expect(l.take("a")).toEqual({ allowed: false, retryAfterMs: 500 });
  c.advance(500);
  expect(l.take("a").allowed).toBe(true);
  expect(l.take("a").allowed).toBe(false);
  l.close();
});

test("clients have separate buckets; a null key is never limited", () => {
  const c = clock();
  const l = createRateLimiter({ perMinute: 1, burst: 1, now: c.now });
  expect(l.take("a").allowed).toBe(true);
  expect(l.take("a").allowed).toBe(false);
  expect(l.take("b").allowed).toBe(true);
  for (let i = 0; i < 5; i++) expect(l.take(null).allowed).toBe(true);
  l.close();
});

test("memory is bounded: least recently seen bucket evicted; sweep drops refilled buckets", () => {
  const c = clock();
  const l = createRateLimiter({ perMinute: 60, burst: 1, maxClients: 3, now: c.now });
  for (const k of ["a", "b", "c"]) l.take(k);
  l.take("a"); // a is now most recent (and empty)
  l.take("d"); // evicts b
  expect(l.size).toBe(3);
  expect(l.take("a").allowed).toBe(false); // a survived, still empty
  expect(l.take("b").allowed).toBe(true); // b was evicted: fresh bucket (evicts c)
  c.advance(999);
  l.sweep();
  expect(l.size).toBe(3);
  c.advance(1);
  l.sweep();
  expect(l.size).toBe(0);
  l.close();
});

test("rejects nonsense settings", () => {
  expect(() => createRateLimiter({ perMinute: 0, burst: 1 })).toThrow();
  expect(() => createRateLimiter({ perMinute: 10, burst: 0 })).toThrow();
});
