import { expect, test } from "bun:test";
import { createLifecycle } from "./lifecycle.ts";

test("startDrain flips draining, aborts the signal and calls each subscriber once", async () => {
  const l = createLifecycle();
  const calls: string[] = [];
  l.onDrain(() => calls.push("a"));
  const off = l.onDrain(() => calls.push("b"));
  off();
  expect(l.draining).toBe(false);
  l.startDrain();
  l.startDrain();
  expect(l.draining).toBe(true);
  expect(l.signal.aborted).toBe(true);
  expect(calls).toEqual(["a"]);
  // late subscribers run at once (asynchronously)
  l.onDrain(() => calls.push("late"));
  await Promise.resolve();
  expect(calls).toEqual(["a", "late"]);
});

test("a throwing subscriber does not stop the others", () => {
  const errors: unknown[] = [];
  const l = createLifecycle({ onSubscriberError: (e) => errors.push(e) });
  const calls: number[] = [];
  l.onDrain(() => {
    throw new Error("x");
  });
  l.onDrain(() => calls.push(2));
  l.startDrain();
  expect(calls).toEqual([2]);
  expect(errors).toHaveLength(1);
});

test("settled waits for tracked work (rejections count as done) or the window", async () => {
  const l = createLifecycle();
  expect(await l.settled(10)).toBe(true);
  let finish!: () => void;
  const p = l.track(new Promise<void>((r) => (finish = r)));
  l.track(Promise.reject(new Error("ignored"))).catch(() => {});
  expect(l.pending).toBe(2);
  expect(await l.settled(30)).toBe(false);
  setTimeout(finish, 20);
  expect(await l.settled(2000)).toBe(true);
  await p;
  expect(l.pending).toBe(0);
});
