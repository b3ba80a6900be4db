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
