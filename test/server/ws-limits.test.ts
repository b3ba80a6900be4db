/**
 * WebSocket limits and close codes with small values: frame cap (1009),
 * idle timeout (1001), max session (1008), pool saturation (1013), drain
 * (1001), upgrades while draining (503).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { closeToneTranscriber, makeToneModelDir, finalText, pcm16, splitBytes, startToneServer, type TestServer, toneAt, toneTranscriber, wavBytes, WsClient } from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
const servers: TestServer[] = [];
async function server(flags: string[]): Promise<TestServer> {
  const s = await startToneServer(flags);
  servers.push(s);
  return s;
}
afterAll(async () => {
  for (const s of servers) await s.stop();
  await closeToneTranscriber();
});

describe("limits", () => {
  test("a frame over --ws-frame-max-bytes → error frame_too_large, the final, close 1009; the server stays healthy", async () => {
    const s = await server(["--ws-frame-max-bytes", "4096"]);
    const c = await WsClient.open(s.ws);
    await c.next("ready");
    c.send(new Uint8Array(4096)); // at the cap: fine
    c.send(new Uint8Array(4097));
    expect((await c.closed).code).toBe(1009);
    expect(c.messages.slice(1).map((m) => m.type)).toEqual(["error", "final"]);
    expect(c.messages[1]).toMatchObject({ code: "frame_too_large", message: "WebSocket frame exceeds 4096 bytes" });
    // an oversized text frame, and one before ready, are refused the same way
    const t = await WsClient.open(s.ws);
    await t.next("ready");
    t.send(JSON.stringify({ type: "configure", pad: "x".repeat(5000) }));
    expect((await t.closed).code).toBe(1009);
    expect(t.ofType("error").map((m) => m.code)).toEqual(["frame_too_large"]);
    // far beyond the cap the WebSocket layer cuts the socket itself (still 1009)
    const huge = await WsClient.open(s.ws);
    await huge.next("ready");
    huge.send(new Uint8Array(4096 * 2 + 1));
    expect((await huge.closed).code).toBe(1009);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    // the slot came back
    const d = await WsClient.open(s.ws);
    await d.next("ready");
    d.json({ type: "stop" });
    expect((await d.closed).code).toBe(1000);
  });

  test("idle timeout → error idle_timeout, the final (with the audio so far), close 1001", async () => {
    const s = await server(["--idle-timeout-secs", "1"]);
    const c = await WsClient.open(s.ws);
    await c.next("ready");
    for (const f of splitBytes(pcm16(toneAt(PHRASE, 48000)), 9600)) c.send(f);
    const close = await c.closed;
    expect(close.code).toBe(1001);
    const tail = c.messages.slice(c.messages.findIndex((m) => m.type === "error"));
    expect(tail.map((m) => m.type)).toEqual(["error", "final"]);
    expect(tail[0]!.code).toBe("idle_timeout");
    expect(finalText(c.messages)).toBe(PHRASE);
  });

  test("max session → error max_session_duration_exceeded, final, close 1008, even while audio keeps coming", async () => {
    const s = await server(["--max-session-secs", "1"]);
    const c = await WsClient.open(s.ws);
    await c.next("ready");
    const silence = new Uint8Array(1920); // 20 ms at 48 kHz
    const timer = setInterval(() => c.socket.readyState === WebSocket.OPEN && c.send(silence), 100);
    const close = await c.closed;
    clearInterval(timer);
    expect(close.code).toBe(1008);
    expect(c.messages.slice(1).map((m) => m.type)).toEqual(["error", "final"]);
    expect(c.messages[1]!.code).toBe("max_session_duration_exceeded");
  });

  test("pool saturated → the next client waits, then error timeout with retry_after_ms and close 1013; no slot is lost", async () => {
    const s = await server(["--pool-size", "2", "--pool-checkout-timeout-secs", "1"]);
    const holders = await Promise.all([WsClient.open(s.ws), WsClient.open(s.ws)]);
    await Promise.all(holders.map((h) => h.next("ready")));
    const late = await WsClient.open(s.ws);
    const close = await late.closed;
    expect(close.code).toBe(1013);
    expect(late.messages).toEqual([{ type: "error", code: "timeout", message: "Server busy, try again later", retry_after_ms: 1000 }]);
    // REST (once its audio starts: a slot is taken only when there is audio to decode) waits the same way and says so in Retry-After
    const r = await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: wavBytes(toneAt(PHRASE, 16000), 16000) });
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("1");
    expect(((await r.json()) as { code: string }).code).toBe("timeout");
    for (const h of holders) h.json({ type: "stop" });
    for (const h of holders) expect((await h.closed).code).toBe(1000);
    const again = await Promise.all([WsClient.open(s.ws), WsClient.open(s.ws)]);
    await Promise.all(again.map((h) => h.next("ready", 2000)));
    for (const h of again) h.close();
  });

  test("messages sent while waiting for a slot are kept and handled in order once ready", async () => {
    const s = await server(["--pool-size", "1", "--pool-checkout-timeout-secs", "10"]);
    const holder = await WsClient.open(s.ws);
    await holder.next("ready");
    const c = await WsClient.open(s.ws);
    c.json({ type: "configure", sample_rate: 16000 });
    for (const f of splitBytes(pcm16(toneAt(PHRASE, 16000)), 3200)) c.send(f);
    c.json({ type: "stop" });
    await Bun.sleep(200);
    expect(c.messages).toEqual([]); // no ready while waiting
    holder.json({ type: "stop" });
    expect((await c.closed).code).toBe(1000);
    expect(c.messages.map((m) => m.type)).toEqual(["ready", "final"]);
    expect(finalText(c.messages)).toBe(PHRASE);
  });

  test("100 abandoned waiters, then the pool still serves pool-size sessions at once", async () => {
    const s = await server(["--pool-size", "2", "--pool-checkout-timeout-secs", "30"]);
    const holders = await Promise.all([WsClient.open(s.ws), WsClient.open(s.ws)]);
    await Promise.all(holders.map((h) => h.next("ready")));
    const waiters = await Promise.all(Array.from({ length: 100 }, () => WsClient.open(s.ws)));
    for (const w of waiters) w.close();
    await Promise.all(waiters.map((w) => w.closed));
    await Bun.sleep(50);
    expect(s.server.deps.admission.waiting).toBe(0);
    for (const h of holders) h.json({ type: "stop" });
    await Promise.all(holders.map((h) => h.closed));
    const again = await Promise.all([WsClient.open(s.ws), WsClient.open(s.ws)]);
    await Promise.all(again.map((h) => h.next("ready", 2000)));
    expect(s.server.deps.admission.inUse).toBe(2);
    for (const h of again) h.close();
  });
});

describe("backlog", () => {
  test("a client sending faster than inference runs → error backlog_exceeded, the final with everything sent, close 1008", async () => {
    const own = await toneTranscriberForBacklog();
    const s = await startToneServer([], {}, own.transcriber as unknown as Transcriber);
    servers.push(s);
    const c = await WsClient.open(s.ws);
    await c.next("ready");
    c.json({ type: "configure", sample_rate: 16000 });
    // 2 s utterances (phrase + pause) pushed as fast as possible while every decode is held back
    const utterance = pcm16(toneAt("привет мир", 16000, { tailSec: 0.9 }));
    const seconds = utterance.length / 2 / 16000;
    let sent = 0;
    while (c.socket.readyState === WebSocket.OPEN && c.ofType("error").length === 0 && sent < 90) {
      c.send(utterance);
      sent += seconds;
      await Bun.sleep(1);
    }
    await c.next("error");
    expect(c.ofType("error")[0]).toMatchObject({ code: "backlog_exceeded", message: "More than 60 s of audio waiting to be transcribed" });
    own.release();
    expect((await c.closed).code).toBe(1008);
    // the frame that took the backlog past 60 s is the last one accepted, and nothing accepted is
    // lost: every utterance is in the finals (frames sent after the error are ignored)
    const accepted = Math.floor(60 / seconds) + 1;
    expect(sent).toBeGreaterThanOrEqual(accepted * seconds);
    expect(finalText(c.messages)).toBe(Array.from({ length: accepted }, () => "привет мир").join(" "));
    expect(c.messages.at(-1)!.type).toBe("final");
    expect(s.server.deps.admission.inUse).toBe(0);
  });
});

/** the tone model, every decode held until release() */
async function toneTranscriberForBacklog() {
  const real = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const transcriber = {
    info: real.info,
    async decodeSegment(...args: Parameters<Transcriber["decodeSegment"]>) {
      await gate;
      return real.decodeSegment(...args);
    },
  };
  afterAll(() => real.close());
  return { transcriber, release };
}

describe("failures", () => {
  test("an unexpected failure → error internal (nothing leaked), close 1011; the slot comes back", async () => {
    const real = await toneTranscriber();
    // a decoder bug: throws instead of returning a rejected promise (the partial path calls it directly)
    let broken = true;
    const buggy = {
      info: real.info,
      decodeSegment(...args: Parameters<Transcriber["decodeSegment"]>) {
        if (broken) throw new Error("bug at /secret/path/model.onnx");
        return real.decodeSegment(...args);
      },
    };
    const s = await startToneServer(["--pool-size", "1"], {}, buggy as unknown as Transcriber);
    servers.push(s);
    const c = await WsClient.open(s.ws);
    await c.next("ready");
    c.json({ type: "configure", sample_rate: 16000 });
    // no trailing pause: the push ends in speech, so a partial is due (no final is being decoded early)
    c.send(pcm16(toneAt("привет мир, как дела? привет мир", 16000, { tailSec: 0 })));
    const close = await c.closed;
    expect(close.code).toBe(1011);
    expect(c.messages.slice(1)).toEqual([{ type: "error", code: "internal", message: "Internal error" }]);
    expect(s.server.deps.admission.inUse).toBe(0);
    // an admission failure that is neither timeout nor pool_closed is internal too
    broken = false;
    const acquire = s.server.deps.admission.acquire;
    (s.server.deps.admission as { acquire: typeof acquire }).acquire = () => Promise.reject(new Error("boom"));
    const d = await WsClient.open(s.ws);
    expect((await d.closed).code).toBe(1011);
    expect(d.messages).toEqual([{ type: "error", code: "internal", message: "Internal error" }]);
    (s.server.deps.admission as { acquire: typeof acquire }).acquire = acquire;
    const e = await WsClient.open(s.ws);
    await e.next("ready");
    e.json({ type: "stop" });
    expect((await e.closed).code).toBe(1000);
  });

  test("inference failing mid-session → error inference_error, the session goes on to its final and close 1000", async () => {
    const own = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
    const s = await startToneServer([], {}, own);
    servers.push(s);
    const c = await WsClient.open(s.ws);
    await c.next("ready");
    c.json({ type: "configure", sample_rate: 16000 });
    await own.close(); // every decode from now on fails
    for (const f of splitBytes(pcm16(toneAt(PHRASE, 16000, { tailSec: 1 })), 3200)) c.send(f);
    await c.next("error");
    c.json({ type: "stop" });
    expect((await c.closed).code).toBe(1000);
    expect(c.ofType("error").map((m) => m.code)).toEqual(["inference_error"]);
    expect(c.ofType("error")[0]!.message).toBe("Inference failed");
    expect(c.messages.at(-1)).toMatchObject({ type: "final", text: "" });
  });
});

describe("drain", () => {
  test("live sessions get their final then 1001, a waiter gets shutting_down + 1001", async () => {
    const s = await server(["--pool-size", "2", "--shutdown-drain-secs", "5"]);
    const live = await Promise.all([WsClient.open(s.ws), WsClient.open(s.ws)]);
    await Promise.all(live.map((c) => c.next("ready")));
    const frames = splitBytes(pcm16(toneAt(PHRASE, 48000)), 9600);
    for (const f of frames) live[0]!.send(f);
    const waiter = await WsClient.open(s.ws);
    await Bun.sleep(100);
    const drained = s.server.drain();
    const closes = await Promise.all(live.map((c) => c.closed));
    expect(closes.map((c) => c.code)).toEqual([1001, 1001]);
    expect(live[0]!.messages.at(-1)!.type).toBe("final");
    expect(finalText(live[0]!.messages)).toBe(PHRASE);
    expect(live[1]!.messages.map((m) => m.type)).toEqual(["ready", "final"]);
    expect((await waiter.closed).code).toBe(1001);
    expect(waiter.messages.map((m) => m.code)).toEqual(["shutting_down"]);
    expect((await drained).clean).toBe(true);
  });

  test("a REST request waiting for a slot when the drain starts gets 503 pool_closed; the live session its final", async () => {
    const s = await server(["--pool-size", "1", "--pool-checkout-timeout-secs", "10", "--shutdown-drain-secs", "5"]);
    const live = await WsClient.open(s.ws);
    await live.next("ready");
    const waiting = fetch(`${s.url}/v1/transcribe`, { method: "POST", body: wavBytes(toneAt(PHRASE, 16000), 16000) });
    for (let i = 0; i < 100 && s.server.deps.admission.waiting === 0; i++) await Bun.sleep(10);
    expect(s.server.deps.admission.waiting).toBe(1);
    const drained = s.server.drain();
    const r = await waiting;
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ error: "Server is shutting down", message: "Server is shutting down", code: "pool_closed" });
    expect((await live.closed).code).toBe(1001);
    expect(live.messages.map((m) => m.type)).toEqual(["ready", "final"]);
    expect((await drained).clean).toBe(true);
  });

  test("while draining, upgrades and uploads get 503 shutting_down", async () => {
    const s = await server([]);
    s.server.lifecycle.startDrain(); // the listener stays open until tracked work is done
    const refused = await fetch(`${s.url}/v1/ws`, {
      headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe("shutting_down");
    const rest = await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: new Uint8Array(100) });
    expect(rest.status).toBe(503);
    expect(((await rest.json()) as { code: string }).code).toBe("shutting_down");
  });
});
