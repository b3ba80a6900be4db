/**
 * GET /v1/ws, protocol 1.0, message by message, over a real loopback socket
 * with the tone model.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  closeToneTranscriber,
  finalText,
  pcm16,
  splitBytes,
  startToneServer,
  streamSession,
  type TestServer,
  toneAt,
  WsClient,
} from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";

let srv: TestServer;
beforeAll(async () => {
  srv = await startToneServer(["--pool-size", "4"]);
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

describe("session logs", () => {
  test("one info line per session end (duration, audio seconds, finals, close code); the assumed rate at debug", async () => {
    const logs: Record<string, unknown>[] = [];
    const own = await startToneServer([], {}, undefined, { logs });
    try {
      const frames = splitBytes(pcm16(toneAt(PHRASE, 48000)), 9600);
      const { close } = await streamSession(own.ws, frames);
      expect(close.code).toBe(1000);
      const until = Date.now() + 5000;
      while (!logs.some((l) => l.msg === "ws session ended") && Date.now() < until) await Bun.sleep(20);
      const ended = logs.filter((l) => l.msg === "ws session ended");
      expect(ended).toHaveLength(1);
      expect(ended[0]).toMatchObject({ level: "info", close_code: 1000, closed_by: "server", finals: expect.any(Number), sample_rate: 48000 });
      expect(ended[0]!.audio_seconds as number).toBeGreaterThan(1);
      expect(typeof ended[0]!.duration_ms).toBe("number");
      expect(typeof ended[0]!.request_id).toBe("string");
      expect(logs.find((l) => l.msg === "ws session ready")).toMatchObject({ level: "debug", sample_rate: 48000, rate_from: expect.stringContaining("default") });
    } finally {
      await own.stop();
    }
  });
});

describe("session lifecycle", () => {
  test("ready announces model, 48 kHz default, version 1.1 (min 1.0), the supported rates and the session limits", async () => {
    const c = await WsClient.open(srv.ws);
    const ready = await c.next("ready");
    expect(ready).toEqual({
      type: "ready",
      model: "gigaam-v3-e2e-rnnt",
      sample_rate: 48000,
      version: "1.1",
      supported_rates: [8000, 16000, 24000, 44100, 48000],
      min_protocol_version: "1.0",
      max_session_secs: 3600,
      idle_timeout_secs: 300,
      hint: expect.stringContaining("sample_rate 48000 is assumed"),
    });
    expect(ready.hint).toContain("?sample_rate=");
    expect(ready.hint).toContain('"configure"');
    c.close();
    await c.closed;
  });

  test("48 kHz audio without configure → final with the phrase, words with times, then close 1000", async () => {
    const frames = splitBytes(pcm16(toneAt(PHRASE, 48000)), 9600);
    const { messages, close } = await streamSession(srv.ws, frames);
    expect(close.code).toBe(1000);
    expect(messages[0]!.type).toBe("ready");
    expect(messages.some((m) => m.type === "error")).toBe(false);
    const last = messages.at(-1)!;
    expect(last.type).toBe("final");
    expect(finalText(messages)).toBe(PHRASE);
    const final = messages.find((m) => m.type === "final" && m.text)!;
    expect(final.is_final).toBe(true);
    expect(typeof final.timestamp).toBe("number");
    expect(Math.abs((final.timestamp as number) - Date.now() / 1000)).toBeLessThan(60);
    expect(final.words!.map((w) => w.word)).toEqual(["привет", "мир,", "как", "дела?"]);
    for (const w of final.words!) {
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      expect(w.confidence).toBeGreaterThan(0.5);
      expect(w.confidence).toBeLessThanOrEqual(1);
    }
  });

  test("configure 16000 is applied silently; ?sample_rate=16000 does the same and is announced in ready", async () => {
    const frames = splitBytes(pcm16(toneAt(PHRASE, 16000)), 3200);
    const a = await streamSession(srv.ws, frames, { configure: { sample_rate: 16000, protocol_version: "1.0" } });
    expect(a.messages.filter((m) => m.type === "error")).toEqual([]);
    expect(finalText(a.messages)).toBe(PHRASE);

    const b = await streamSession(`${srv.ws}?sample_rate=16000`, frames);
    expect(b.messages[0]!.sample_rate).toBe(16000);
    // the client chose the rate: no hint about the default
    expect(b.messages[0]!.hint).toBeUndefined();
    expect(finalText(b.messages)).toBe(PHRASE);
  });

  test("8, 24 and 44.1 kHz input give the same transcript", async () => {
    // the punctuation tones lie above 4 kHz, which 8 kHz audio cannot carry
    for (const [rate, phrase] of [[8000, "привет мир как дела"], [24000, PHRASE], [44100, PHRASE]] as const) {
      const frames = splitBytes(pcm16(toneAt(phrase, rate)), 4000);
      const { messages, close } = await streamSession(srv.ws, frames, { configure: { sample_rate: rate } });
      expect(close.code).toBe(1000);
      expect(finalText(messages)).toBe(phrase);
    }
  });

  test("stop without audio → one empty final, close 1000", async () => {
    const { messages, close } = await streamSession(srv.ws, []);
    expect(messages.map((m) => m.type)).toEqual(["ready", "final"]);
    expect(messages[1]).toMatchObject({ type: "final", text: "", words: [], is_final: true });
    expect(close.code).toBe(1000);
  });

  test("finals arrive as utterances end, before stop; partials come first and are not final", async () => {
    const c = await WsClient.open(srv.ws);
    await c.next("ready");
    c.json({ type: "configure", sample_rate: 16000 });
    // a phrase, then 1 s of silence: the pause ends the utterance without stop
    const bytes = pcm16(toneAt("один два три это тест", 16000, { tailSec: 1 }));
    for (const f of splitBytes(bytes, 1600)) {
      c.send(f);
      await Bun.sleep(2);
    }
    const final = await c.next("final");
    expect(final.text).toBe("один два три это тест");
    const partials = c.ofType("partial");
    for (const p of partials) {
      expect(p.is_final).toBe(false);
      expect(final.text!.startsWith(p.text!)).toBe(true);
    }
    expect(c.messages.findIndex((m) => m.type === "partial")).toBeLessThan(c.messages.findIndex((m) => m.type === "final") + (partials.length ? 0 : 1));
    c.json({ type: "stop" });
    expect((await c.closed).code).toBe(1000);
    expect(c.messages.at(-1)).toMatchObject({ type: "final", text: "" });
  });
});

describe("client messages", () => {
  test("malformed JSON, non-object, no type and huge JSON → bad_message; an unknown type is ignored (Rust); the session continues", async () => {
    const c = await WsClient.open(srv.ws);
    await c.next("ready");
    c.send("{not json");
    c.json({ type: "start" });
    c.json({ type: "KeepAlive" });
    c.send("42");
    c.json({ type: "configure", pad: "x".repeat(200_000) });
    c.json({ hello: 1 });
    for (const f of splitBytes(pcm16(toneAt(PHRASE, 48000)), 9600)) c.send(f);
    c.json({ type: "stop" });
    expect((await c.closed).code).toBe(1000);
    expect(c.ofType("error").map((m) => m.code)).toEqual(["bad_message", "bad_message", "bad_message", "bad_message"]);
    expect(finalText(c.messages)).toBe(PHRASE);
  });

  test("configure after audio → configure_too_late, the rate stays, the session continues", async () => {
    const c = await WsClient.open(srv.ws);
    await c.next("ready");
    const frames = splitBytes(pcm16(toneAt(PHRASE, 48000)), 9600);
    c.send(frames[0]!);
    c.json({ type: "configure", sample_rate: 16000 });
    for (const f of frames.slice(1)) c.send(f);
    c.json({ type: "stop" });
    expect((await c.closed).code).toBe(1000);
    expect(c.ofType("error")).toEqual([
      { type: "error", code: "configure_too_late", message: "Configure must be sent before first audio frame" },
    ]);
    expect(finalText(c.messages)).toBe(PHRASE);
  });

  test("unsupported rate → invalid_sample_rate, previous rate kept", async () => {
    const c = await WsClient.open(srv.ws);
    await c.next("ready");
    c.json({ type: "configure", sample_rate: 16000 });
    c.json({ type: "configure", sample_rate: 7000 });
    c.json({ type: "configure", sample_rate: "fast" });
    for (const f of splitBytes(pcm16(toneAt(PHRASE, 16000)), 3200)) c.send(f);
    c.json({ type: "stop" });
    expect((await c.closed).code).toBe(1000);
    expect(c.ofType("error").map((m) => m.code)).toEqual(["invalid_sample_rate", "invalid_sample_rate"]);
    expect(c.ofType("error")[0]!.message).toContain("8000, 16000, 24000, 44100, 48000");
    expect(finalText(c.messages)).toBe(PHRASE);
  });

  test("?sample_rate=7000 refuses the upgrade with 400 invalid_sample_rate", async () => {
    const r = await fetch(`${srv.url}/v1/ws?sample_rate=7000`, {
      headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { code: string }).code).toBe("invalid_sample_rate");
  });

  test("protocol_version other than 1.0 → unsupported_protocol_version, close 1002", async () => {
    const c = await WsClient.open(srv.ws);
    await c.next("ready");
    c.json({ type: "configure", protocol_version: "2.0" });
    const close = await c.closed;
    expect(close.code).toBe(1002);
    expect(c.ofType("error").map((m) => m.code)).toEqual(["unsupported_protocol_version"]);
  });

  test("odd-length frames: the odd byte carries over, transcript unchanged", async () => {
    const bytes = pcm16(toneAt(PHRASE, 16000));
    const { messages } = await streamSession(srv.ws, splitBytes(bytes, 3201), { configure: { sample_rate: 16000 } });
    const even = await streamSession(srv.ws, splitBytes(bytes, 3200), { configure: { sample_rate: 16000 } });
    const words = (ms: typeof messages) => ms.filter((m) => m.type === "final").flatMap((m) => m.words!.map((w) => [w.word, w.start, w.end]));
    expect(finalText(messages)).toBe(PHRASE);
    expect(words(messages)).toEqual(words(even.messages));
  });

  test("garbage binary is just noise: no crash, a final, close 1000", async () => {
    let seed = 7;
    const noise = new Uint8Array(48_000).map(() => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    });
    const { messages, close } = await streamSession(srv.ws, splitBytes(noise, 4097));
    expect(close.code).toBe(1000);
    expect(messages.at(-1)!.type).toBe("final");
    expect(messages.some((m) => m.type === "error")).toBe(false);
  });

  test("more than 1000 empty frames → policy_violation (Rust's code), final, close 1008", async () => {
    const c = await WsClient.open(srv.ws);
    await c.next("ready");
    for (let i = 0; i < 1001; i++) c.send(new Uint8Array(0));
    const close = await c.closed;
    expect(close.code).toBe(1008);
    expect(c.messages.slice(1).map((m) => m.type)).toEqual(["error", "final"]);
    expect(c.messages[1]!.code).toBe("policy_violation");
  });

  test("a client that closes without stop frees its slot (pool of 4 serves 4 more at once)", async () => {
    for (let i = 0; i < 6; i++) {
      const c = await WsClient.open(srv.ws);
      await c.next("ready");
      c.send(pcm16(toneAt(PHRASE, 48000)).subarray(0, 48_000));
      c.close();
      await c.closed;
    }
    const clients = await Promise.all(Array.from({ length: 4 }, () => WsClient.open(srv.ws)));
    await Promise.all(clients.map((c) => c.next("ready", 3000)));
    for (const c of clients) c.json({ type: "stop" });
    for (const c of clients) expect((await c.closed).code).toBe(1000);
  });
});
