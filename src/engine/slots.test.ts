import { describe, expect, test } from "bun:test";
import { Slots } from "./slots.ts";

describe("Slots", () => {
  test("at most `size` holders; waiters are served first in, first out", async () => {
    const s = new Slots(2);
    const a = await s.acquire();
    const b = await s.acquire();
    expect(s.free).toBe(0);
    const order: string[] = [];
    const c = s.acquire().then((r) => (order.push("c"), r));
    const d = s.acquire().then((r) => (order.push("d"), r));
    expect(s.waiting).toBe(2);
    b();
    b(); // idempotent: frees one slot only
    const rc = await c;
    expect(order).toEqual(["c"]);
    a();
    const rd = await d;
    expect(order).toEqual(["c", "d"]);
    rc();
    rd();
    expect(s.free).toBe(2);
  });

  test("an aborted waiter leaves the queue and rejects with the reason; the slot goes to the next", async () => {
    const s = new Slots(1);
    const held = await s.acquire();
    const ac = new AbortController();
    const gone = s.acquire(ac.signal);
    const next = s.acquire();
    ac.abort(new Error("closed"));
    await expect(gone).rejects.toThrow("closed");
    expect(s.waiting).toBe(1);
    held();
    (await next)();
    expect(s.free).toBe(1);
    await expect(s.acquire(AbortSignal.abort(new Error("already")))).rejects.toThrow("already");
  });
});
