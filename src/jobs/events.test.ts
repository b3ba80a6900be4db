import { expect, test } from "bun:test";
import { JobEvents, MAX_EVENT_SUBSCRIBERS } from "./events.ts";
import type { JobEvent } from "./types.ts";

test("subscribers get the events of their job only; a terminal event ends the feed", () => {
  const ev = new JobEvents();
  const a: JobEvent[] = [];
  const b: JobEvent[] = [];
  ev.subscribe("a", (e) => a.push(e));
  ev.subscribe("b", (e) => b.push(e));
  ev.emit("a", { type: "progress", percent: 10, processed_seconds: 1 });
  ev.emit("a", { type: "done" });
  ev.emit("a", { type: "progress", percent: 20, processed_seconds: 2 });
  expect(a).toEqual([{ type: "progress", percent: 10, processed_seconds: 1 }, { type: "done" }]);
  expect(b).toEqual([]);
  expect(ev.size).toBe(1);
});

test("unsubscribe; a throwing subscriber does not stop the others; at most MAX_EVENT_SUBSCRIBERS per job (the oldest goes)", () => {
  const errors: unknown[] = [];
  const ev = new JobEvents((_id, e) => errors.push(e));
  const got: number[] = [];
  const off = ev.subscribe("j", () => got.push(-1));
  off();
  ev.subscribe("j", () => {
    throw new Error("boom");
  });
  for (let i = 0; i < MAX_EVENT_SUBSCRIBERS; i++) ev.subscribe("j", () => got.push(i));
  ev.emit("j", { type: "cancelled" });
  expect(got).toEqual(Array.from({ length: MAX_EVENT_SUBSCRIBERS }, (_, i) => i));
  expect(errors).toEqual([]); // the throwing one was the oldest and was dropped
  expect(ev.size).toBe(0);
});
