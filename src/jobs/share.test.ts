import { expect, test } from "bun:test";
import { WorkerShare } from "./share.ts";

test("at most `size` tasks run at once; the rest wait in order", async () => {
  const share = new WorkerShare(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const task = (i: number) => async () => {
    running++;
    peak = Math.max(peak, running);
    await Bun.sleep(5);
    order.push(i);
    running--;
  };
  await Promise.all([0, 1, 2, 3, 4].map((i) => share.run(task(i))));
  expect(peak).toBe(2);
  expect(order.slice(2)).toEqual([2, 3, 4]);
  expect(share.inUse).toBe(0);
});

test("an aborted wait leaves the queue and never takes a share", async () => {
  const share = new WorkerShare(1);
  let release!: () => void;
  const first = share.run(() => new Promise<void>((r) => (release = r)));
  const ctl = new AbortController();
  const waiting = share.run(async () => "never", ctl.signal);
  ctl.abort(new Error("gone"));
  await expect(waiting).rejects.toThrow("gone");
  release();
  await first;
  expect(await share.run(async () => "next")).toBe("next");
  expect(share.inUse).toBe(0);
});
