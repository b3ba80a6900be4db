/**
 * The WebSocket surface of the Rust gigastt 2.15 through a real socket (issue 18): `ready`'s
 * limits and versions, `confidence` / `speech_final` / `endpoint_reason` on results, the
 * `configure` fields (`endpoint_mode`, `min_silence_ms`, `punctuation`, `itn`, `diarization`,
 * `protocol_version` 1.1), the server keepalive, and `inference_timeout`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GigasttError } from "../../src/errors.ts";
import { wsRoutes } from "../../src/server/routes/ws.ts";
import { realtimeRoutes } from "../../src/server/routes/realtime.ts";
import { startServer } from "../../src/server/server.ts";
import { parseServeConfig } from "../../src/server/config.ts";
import { createLogger } from "../../src/log.ts";
import type { TranscriberLike } from "../../src/server/deps.ts";
import type { Transcriber } from "../../src/engine/transcriber.ts";
import { closeToneTranscriber, finalText, pcm16, splitBytes, startToneServer, type TestServer, toneAt, toneTranscriber, WsClient } from "./streaming-helpers.ts";

const PHRASE = "привет мир";
const PHRASE2 = "как дела?";
let srv: TestServer;

beforeAll(async () => {
  srv = await startToneServer(["--idle-timeout-secs", "120", "--max-session-secs", "900"]);
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

const silence = (sec: number) => new Float32Array(Math.round(sec * 16000));
function concat(...xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** a 16 kHz session: configure, audio in 100 ms frames, stop; every message and the close */
async function session(audio: Float32Array, configure: Record<string, unknown> = {}, url = srv.ws) {
  const c = await WsClient.open(`${url}?sample_rate=16000`);
  await c.next("ready");
  if (Object.keys(configure).length > 0) c.json({ type: "configure", ...configure });
  for (const f of splitBytes(pcm16(audio), 3200)) c.send(f);
  c.json({ type: "stop" });
  const close = await c.closed;
  return { c, close, finals: c.ofType("final"), errors: c.ofType("error").map((e) => e.code) };
}

describe("ready", () => {
  test("announces the session limits of this server and protocol 1.1 down to 1.0; no diarization", async () => {
    const c = await WsClient.open(srv.ws);
    const ready = await c.next("ready");
    expect(ready).toMatchObject({ version: "1.1", min_protocol_version: "1.0", max_session_secs: 900, idle_timeout_secs: 120 });
    expect("diarization" in ready).toBe(false); // Rust omits it when the server cannot diarize
    c.close();
  });

  test("protocol_version 1.1 and 1.0 are accepted; 0.9 closes 1002", async () => {
    for (const v of ["1.1", "1.0"]) {
      const { close, errors, finals } = await session(toneAt(PHRASE, 16000), { protocol_version: v });
      expect(close.code).toBe(1000);
      expect(errors).toEqual([]);
      expect(finalText(finals)).toBe(PHRASE);
    }
    const c = await WsClient.open(srv.ws);
    await c.next("ready");
    c.json({ type: "configure", protocol_version: "0.9" });
    expect((await c.closed).code).toBe(1002);
    expect(c.ofType("error")[0]).toMatchObject({ code: "unsupported_protocol_version", message: expect.stringContaining("1.0 through 1.1") });
  });
});

describe("results", () => {
  test("a final cut at a pause: speech_final, endpoint_reason blank, confidence = duration-weighted word confidence", async () => {
    const { finals } = await session(concat(toneAt(PHRASE, 16000), silence(1), toneAt(PHRASE2, 16000)));
    expect(finals.map((f) => f.text)).toEqual([PHRASE, PHRASE2]);
    const [pause, stop] = finals;
    expect(pause).toMatchObject({ is_final: true, speech_final: true, endpoint_reason: "blank" });
    expect(stop).toMatchObject({ is_final: true, speech_final: true, endpoint_reason: "stop" });
    for (const f of finals) {
      const words = f.words!;
      const weight = words.reduce((s, w) => s + (w.end - w.start), 0);
      const expected = words.reduce((s, w) => s + w.confidence * (w.end - w.start), 0) / weight;
      expect(typeof f.confidence).toBe("number");
      expect(f.confidence as number).toBeGreaterThan(0);
      expect(f.confidence as number).toBeLessThanOrEqual(1);
      expect(f.confidence as number).toBeCloseTo(expected, 3);
    }
  });

  test("partials carry confidence but never speech_final / endpoint_reason; an empty final has no confidence", async () => {
    const c = await WsClient.open(`${srv.ws}?sample_rate=16000`);
    await c.next("ready");
    // 2.5 s of speech that has not ended: its partial is due, whatever the server's speed
    for (const f of splitBytes(pcm16(toneAt(`${PHRASE} ${PHRASE2} ${PHRASE}`, 16000, { tailSec: 0 })), 3200)) c.send(f);
    const partial = await c.next("partial", 20_000);
    expect(typeof partial.confidence).toBe("number");
    expect("speech_final" in partial || "endpoint_reason" in partial).toBe(false);
    c.json({ type: "stop" });
    await c.closed;
    expect(c.ofType("final").at(-1)).toMatchObject({ speech_final: true, endpoint_reason: "stop" });
    const empty = await session(silence(0.5));
    expect(empty.finals).toHaveLength(1);
    expect(empty.finals[0]).toMatchObject({ text: "", speech_final: true, endpoint_reason: "stop" });
    expect("confidence" in empty.finals[0]!).toBe(false);
  });
});

/** two phrases 300 ms apart */
const gap300 = () => concat(toneAt(PHRASE, 16000, { tailSec: 0.1 }), silence(0.1), toneAt(PHRASE2, 16000, { leadSec: 0.1 }));

describe("configure", () => {
  const twoUtterances = () => concat(toneAt(PHRASE, 16000), silence(1), toneAt(PHRASE2, 16000), silence(1));

  test("endpoint_mode manual (and assistant without a VAD): no final until stop, then one with endpoint_reason stop", async () => {
    for (const mode of ["manual", " Assistant "]) {
      const { finals, errors } = await session(twoUtterances(), { endpoint_mode: mode });
      expect(errors).toEqual([]);
      expect(finals).toHaveLength(1);
      expect(finals[0]).toMatchObject({ text: `${PHRASE} ${PHRASE2}`, speech_final: true, endpoint_reason: "stop" });
    }
    const auto = await session(twoUtterances(), { endpoint_mode: "auto" });
    expect(auto.finals.filter((f) => f.text).map((f) => f.endpoint_reason)).toEqual(["blank", "blank"]);
  });

  test("an unknown endpoint_mode → invalid_endpoint_mode, the session goes on with the previous mode", async () => {
    const { errors, finals, close } = await session(twoUtterances(), { endpoint_mode: "turbo" });
    expect(errors).toEqual(["invalid_endpoint_mode"]);
    expect(close.code).toBe(1000);
    expect(finals.filter((f) => f.text).map((f) => f.text)).toEqual([PHRASE, PHRASE2]);
  });

  test("min_silence_ms is the pause that ends an utterance: a 300 ms gap splits at 200, not at the default 500", async () => {
    const audio = gap300();
    const short = await session(audio, { min_silence_ms: 200 });
    expect(short.finals.map((f) => f.text).filter(Boolean)).toEqual([PHRASE, PHRASE2]);
    const dflt = await session(audio);
    expect(dflt.finals.map((f) => f.text)).toEqual([`${PHRASE} ${PHRASE2}`]);
  });

  test("min_silence_ms out of 100–5000 or not an integer → bad_message, the pause stays", async () => {
    for (const v of [50, 6000, 250.5, "300"]) {
      const { errors, finals } = await session(gap300(), { min_silence_ms: v });
      expect(errors).toEqual(["bad_message"]);
      expect(finals.map((f) => f.text)).toEqual([`${PHRASE} ${PHRASE2}`]);
    }
  });

  test("as on REST: punctuation true and diarization true are refused with Rust's codes; punctuation false and itn keep the output", async () => {
    for (const cfg of [{ punctuation: false, itn: true, diarization: false }, { itn: false }]) {
      const ok = await session(toneAt(PHRASE, 16000), cfg);
      expect(ok.errors).toEqual([]);
      expect(finalText(ok.finals)).toBe(PHRASE);
    }
    const refused = await session(toneAt(PHRASE, 16000), { punctuation: true, diarization: true });
    expect(refused.errors.sort()).toEqual(["diarization_not_available", "punctuation_not_available"]);
    expect(refused.close.code).toBe(1000);
    expect(finalText(refused.finals)).toBe(PHRASE);
    const typed = await session(toneAt(PHRASE, 16000), { punctuation: "yes" });
    expect(typed.errors).toEqual(["bad_message"]);
  });
});

describe("keepalive", () => {
  let quick: TestServer;
  beforeAll(async () => {
    // the WebSocket routes with a 100 ms ping interval
    const config = parseServeConfig(["--port", "0", "--log-level", "silent"], {}, { isTTY: false, cpus: 1 });
    const server = await startServer(config, {
      transcriber: await toneTranscriber(),
      log: createLogger({ level: "silent", format: "json", write: () => {} }),
      routes: [(d) => wsRoutes(d, { pingIntervalMs: 100 }), (d) => realtimeRoutes(d, { pingIntervalMs: 100 })],
    });
    quick = { server, url: server.url, ws: `${server.url.replace("http", "ws")}/v1/ws`, stop: () => server.stop() };
  });
  afterAll(() => quick.stop());

  test("a client that answers pings stays open; one that does not is closed 1001 'ping timeout' after two", async () => {
    const alive = await WsClient.open(quick.ws);
    await alive.next("ready");
    const silent = await RawWs.open(new URL(quick.ws));
    await silent.until(() => silent.texts.some((t) => t.includes('"ready"')));
    const close = await silent.closed;
    expect(close.code).toBe(1001);
    expect(close.reason).toBe("ping timeout");
    expect(silent.pings).toBe(2);
    expect(alive.socket.readyState).toBe(WebSocket.OPEN); // Bun's client answers every ping
    alive.json({ type: "stop" });
    expect((await alive.closed).code).toBe(1000);
  });

  test("the OpenAI Realtime route has the same keepalive", async () => {
    const silent = await RawWs.open(new URL(`${quick.ws.replace("/v1/ws", "/v1/realtime")}?intent=transcription`));
    await silent.until(() => silent.texts.some((t) => t.includes('"session.created"')));
    expect(await silent.closed).toEqual({ code: 1001, reason: "ping timeout" });
  });

  test("frames from the client count as answers", async () => {
    const busy = await RawWs.open(new URL(quick.ws));
    await busy.until(() => busy.texts.some((t) => t.includes('"ready"')));
    for (let i = 0; i < 8; i++) {
      busy.sendBinary(new Uint8Array(320));
      await Bun.sleep(60);
    }
    expect(busy.isClosed).toBe(false);
    expect(busy.pings).toBeGreaterThanOrEqual(3);
    busy.end();
  });
});

describe("inference_timeout", () => {
  test("a final decode that times out → error inference_timeout and close 1001 (as Rust), the slot comes back", async () => {
    const real = await toneTranscriber();
    const stuck: TranscriberLike = {
      info: real.info,
      transcribeStream: (c, o) => real.transcribeStream(c, o),
      decodeSegment: (s, off, o) => (o?.purpose === "partial" ? real.decodeSegment(s, off, o) : Promise.reject(new GigasttError("inference_timeout"))),
    };
    const s = await startToneServer([], {}, stuck as unknown as Transcriber);
    try {
      const c = await WsClient.open(`${s.ws}?sample_rate=16000`);
      await c.next("ready");
      for (const f of splitBytes(pcm16(concat(toneAt(PHRASE, 16000), silence(1))), 3200)) c.send(f);
      const close = await c.closed;
      expect(close.code).toBe(1001);
      expect(c.ofType("error").map((e) => e.code)).toEqual(["inference_timeout"]);
      for (let i = 0; i < 50 && s.server.deps.admission.inUse > 0; i++) await Bun.sleep(10);
      expect(s.server.deps.admission.inUse).toBe(0);
    } finally {
      await s.stop();
    }
  });
});

/** A WebSocket client over raw TCP that never answers pings (Bun's own client always does). */
class RawWs {
  texts: string[] = [];
  pings = 0;
  isClosed = false;
  readonly closed: Promise<{ code: number; reason: string }>;
  private buf = new Uint8Array(0);
  private upgraded = false;
  private resolveClosed!: (v: { code: number; reason: string }) => void;
  private socket!: import("bun").Socket<undefined>;

  private constructor() {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  static async open(url: URL): Promise<RawWs> {
    const c = new RawWs();
    c.socket = await Bun.connect({
      hostname: url.hostname,
      port: Number(url.port),
      socket: { data: (_s, b) => c.onData(b), close: () => c.finish(1006, "") },
    });
    c.socket.write(
      `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    return c;
  }

  async until(cond: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end || this.isClosed) throw new Error(`condition not met: ${JSON.stringify(this.texts)}`);
      await Bun.sleep(10);
    }
  }

  /** a masked binary frame (clients must mask) */
  sendBinary(payload: Uint8Array): void {
    const mask = new Uint8Array([1, 2, 3, 4]);
    const head = payload.length < 126 ? new Uint8Array([0x82, 0x80 | payload.length]) : new Uint8Array([0x82, 0x80 | 126, payload.length >> 8, payload.length & 255]);
    const body = payload.map((b, i) => b ^ mask[i % 4]!);
    this.socket.write(new Uint8Array([...head, ...mask, ...body]));
  }

  end(): void {
    this.socket.end();
  }

  private onData(bytes: Uint8Array): void {
    const joined = new Uint8Array(this.buf.length + bytes.length);
    joined.set(this.buf);
    joined.set(bytes, this.buf.length);
    this.buf = joined;
    if (!this.upgraded) {
      const end = Buffer.from(this.buf).indexOf("\r\n\r\n");
      if (end < 0) return;
      this.upgraded = true;
      this.buf = this.buf.slice(end + 4);
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const op = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = (this.buf[2]! << 8) | this.buf[3]!;
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(new DataView(this.buf.buffer, this.buf.byteOffset + 2, 8).getBigUint64(0));
        at = 10;
      }
      if (this.buf.length < at + len) return;
      const payload = this.buf.slice(at, at + len);
      this.buf = this.buf.slice(at + len);
      if (op === 0x1) this.texts.push(new TextDecoder().decode(payload));
      else if (op === 0x9) this.pings++;
      else if (op === 0x8) {
        const code = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005;
        this.finish(code, new TextDecoder().decode(payload.subarray(2)));
      }
    }
  }

  private finish(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.resolveClosed({ code, reason });
    this.socket.end();
  }
}
