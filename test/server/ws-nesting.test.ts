/**
 * Deeply nested JSON in WebSocket text frames (issue 13, hole 2): the frame
 * is measured as it arrived and its nesting checked before JSON.parse, so
 * `[[[…]]]` frames get `error bad_message` (the session goes on) and never
 * freeze the event loop: `/health` stays fast for everyone meanwhile.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeToneTranscriber, finalText, pcm16, splitBytes, startToneServer, type TestServer, toneAt, WsClient } from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
let srv: TestServer;
beforeAll(async () => {
  srv = await startToneServer([]);
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

const nested = (n: number) => "[".repeat(n) + "]".repeat(n);

test("4 frames of 488 KiB [[[…]]] and 4 of 15 KiB: bad_message each, /health stays fast, the session still transcribes", async () => {
  const c = await WsClient.open(srv.ws);
  await c.next("ready");
  const frames = [nested(250_000), nested(7_500), nested(250_000), `{"type":"configure","x":${nested(7_000)}}`, nested(250_000), nested(7_500), nested(250_000), nested(7_500)];
  const health: number[] = [];
  for (const f of frames) {
    c.send(f);
    const t = performance.now();
    const r = await fetch(`${srv.url}/health`);
    health.push(performance.now() - t);
    expect(r.status).toBe(200);
  }
  for (let i = 0; i < 50 && c.ofType("error").length < frames.length; i++) await Bun.sleep(20);
  const errors = c.ofType("error");
  expect(errors.map((e) => e.code)).toEqual(frames.map(() => "bad_message"));
  expect(Math.max(...health)).toBeLessThan(300);
  // the session is unharmed
  for (const f of splitBytes(pcm16(toneAt(PHRASE, 48000)), 9600)) c.send(f);
  c.json({ type: "stop" });
  expect((await c.closed).code).toBe(1000);
  expect(finalText(c.messages)).toBe(PHRASE);
});

test("a text frame over the frame cap is measured on the wire (frame_too_large, 1009), not after parsing", async () => {
  const s = await startToneServer(["--ws-frame-max-bytes", "4096"]);
  try {
    const c = await WsClient.open(s.ws);
    await c.next("ready");
    c.send(nested(3000)); // 6000 bytes of JSON text
    expect((await c.closed).code).toBe(1009);
    expect(c.ofType("error").map((e) => e.code)).toEqual(["frame_too_large"]);
  } finally {
    await s.stop();
  }
});
