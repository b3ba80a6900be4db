import { expect, test } from "bun:test";
import { GigasttError } from "../errors.ts";
import { createAdmission } from "./admission.ts";
import type { Slot } from "./deps.ts";

const settle = () => new Promise((r) => setTimeout(r, 0));

test("at most size at once, FIFO hand-off, release is idempotent", async () => {
  const a = createAdmission({ size: 2, timeoutSecs: () => 30 });
  const s1 = await a.acquire();
  const s2 = await a.acquire();
  const order: number[] = [];
  const w3 = a.acquire().then((s) => (order.push(3), s));
  const w4 = a.acquire().then((s) => (order.push(4), s));
  await settle();
  expect(a.inUse).toBe(2);
  expect(a.waiting).toBe(2);
  s1.release();
  s1.release(); // no double hand-off
  await settle();
  expect(order).toEqual([3]);
  expect(a.waiting).toBe(1);
  s2.release();
  const [s3, s4] = await Promise.all([w3, w4]);
  expect(order).toEqual([3, 4]);
  s3.release();
  s4.release();
  expect(a.inUse).toBe(0);
  a.close();
});

test("checkout timeout → GigasttError timeout with retry_after_ms = timeout × 1000", async () => {
  const a = createAdmission({ size: 1, timeoutSecs: () => 1 });
  const held = await a.acquire();
  const started = performance.now();
  const err = await a.acquire().catch((e) => e);
  expect(performance.now() - started).toBeGreaterThanOrEqual(900);
  expect(err).toBeInstanceOf(GigasttError);
  expect(err.code).toBe("timeout");
  expect(err.details.retry_after_ms).toBe(1000);
  expect(a.waiting).toBe(0);
  held.release();
  expect(a.inUse).toBe(0);
  a.close();
});

test("100 abandoned waiters never swallow a slot: the pool still serves size sessions at once", async () => {
  const size = 3;
  const a = createAdmission({ size, timeoutSecs: () => 30 });
  const held: Slot[] = [];
  for (let i = 0; i < size; i++) held.push(await a.acquire());
  const controllers = Array.from({ length: 100 }, () => new AbortController());
  const waiters = controllers.map((c) => a.acquire({ signal: c.signal }).then(() => "got", (e) => e));
  await settle();
  expect(a.waiting).toBe(100);
  for (const c of controllers) c.abort(new Error("client went away"));
  const outcomes = await Promise.all(waiters);
  expect(outcomes.every((o) => o instanceof Error && o.message === "client went away")).toBe(true);
  expect(a.waiting).toBe(0);
  for (const s of held) s.release();
  expect(a.inUse).toBe(0);
  // all `size` slots are usable at once again
  const again = await Promise.all(Array.from({ length: size }, () => a.acquire()));
  expect(a.inUse).toBe(size);
  for (const s of again) s.release();
  a.close();
});

test("a waiter aborted before it starts waiting is refused at once", async () => {
  const a = createAdmission({ size: 1, timeoutSecs: () => 30 });
  const c = new AbortController();
  c.abort(new Error("gone"));
  await expect(a.acquire({ signal: c.signal })).rejects.toThrow("gone");
  expect(a.inUse).toBe(0);
  a.close();
});

test("timed-out waiters do not leak slots either", async () => {
  const a = createAdmission({ size: 1, timeoutSecs: () => 1 });
  const held = await a.acquire();
  const waiters = Array.from({ length: 20 }, () => a.acquire().catch((e) => e.code));
  expect(await Promise.all(waiters)).toEqual(new Array(20).fill("timeout"));
  held.release();
  const s = await a.acquire();
  expect(a.inUse).toBe(1);
  s.release();
  a.close();
});

test("close(): waiters get pool_closed, new acquires are refused, held slots release cleanly", async () => {
  const a = createAdmission({ size: 1, timeoutSecs: () => 30 });
  const held = await a.acquire();
  const w = a.acquire().catch((e) => e.code);
  await settle();
  a.close();
  a.close();
  expect(await w).toBe("pool_closed");
  await expect(a.acquire()).rejects.toMatchObject({ code: "pool_closed" });
  held.release();
  expect(a.inUse).toBe(0);
});

test("the timeout is read at every acquire (SIGHUP may change it)", async () => {
  let secs = 30;
  const a = createAdmission({ size: 1, timeoutSecs: () => secs });
  const held = await a.acquire();
  secs = 1;
  const err = await a.acquire().catch((e) => e);
  expect(err.details.retry_after_ms).toBe(1000);
  held.release();
  a.close();
});

test("onCheckout reports each outcome", async () => {
  const seen: string[] = [];
  const a = createAdmission({ size: 1, timeoutSecs: () => 1, onCheckout: (_s, o) => seen.push(o) });
  const held = await a.acquire();
  const c = new AbortController();
  const aborted = a.acquire({ signal: c.signal }).catch(() => {});
  c.abort();
  await aborted;
  const waiting = a.acquire();
  held.release();
  (await waiting).release();
  expect(seen).toEqual(["ok", "aborted", "ok"]);
  expect(() => createAdmission({ size: 0, timeoutSecs: () => 1 })).toThrow();
  a.close();
});
