import { expect, test } from "bun:test";
import { SseWriter, sseData } from "./sse.ts";

async function readAll(s: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(s).text();
}

test("one data line per event, JSON escapes newlines", () => {
  expect(sseData({ type: "final", text: "a\nb" })).toBe('data: {"type":"final","text":"a\\nb"}\n\n');
});

test("writer sends events and keep-alive comments, then ends; writes after end are dropped", async () => {
  const w = new SseWriter({ onCancel: () => {}, keepAliveMs: 10 });
  w.send({ type: "partial", text: "x" });
  await Bun.sleep(35);
  w.send({ type: "done" });
  w.end();
  w.send({ type: "late" });
  const text = await readAll(w.stream);
  expect(text.startsWith('data: {"type":"partial","text":"x"}\n\n:\n\n')).toBe(true);
  expect(text.endsWith('data: {"type":"done"}\n\n')).toBe(true);
  expect(text).not.toContain("late");
});

test("client cancel runs onCancel once and stops writing", async () => {
  let cancelled = 0;
  const w = new SseWriter({ onCancel: () => cancelled++, keepAliveMs: 5 });
  const reader = w.stream.getReader();
  await reader.cancel();
  w.send({ type: "final" });
  w.end();
  expect(cancelled).toBe(1);
  expect(w.closed).toBe(true);
});

test("a client that does not read is cut past twice maxQueuedBytes: onOverflow once, the stream errors, later sends are dropped", async () => {
  let overflows = 0;
  let cancels = 0;
  const w = new SseWriter({ onCancel: () => cancels++, onOverflow: () => overflows++, keepAliveMs: 60_000, maxQueuedBytes: 1000 });
  const event = { type: "partial", text: "x".repeat(80) }; // 116 bytes on the wire
  expect(sseData(event).length).toBe(116);
  for (let i = 0; i < 17; i++) w.send(event); // 1972 bytes queued: under twice the bound
  expect(overflows).toBe(0);
  w.send(event); // 2088: past it
  expect(overflows).toBe(1);
  for (let i = 0; i < 100; i++) w.send(event);
  expect(overflows).toBe(1);
  expect(cancels).toBe(0);
  expect(w.closed).toBe(true);
  const reader = w.stream.getReader();
  expect(await reader.read().catch((e: Error) => e.message)).toBe("SSE client does not read");
});

test("a client that reads (late) is never cut", async () => {
  let overflows = 0;
  const w = new SseWriter({ onCancel: () => {}, onOverflow: () => overflows++, keepAliveMs: 60_000, maxQueuedBytes: 1000 });
  const reader = w.stream.getReader();
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 15; i++) w.send({ type: "partial", text: "x".repeat(80) });
    for (let i = 0; i < 15; i++) await reader.read();
  }
  w.end();
  expect((await reader.read()).done).toBe(true);
  expect(overflows).toBe(0);
});
