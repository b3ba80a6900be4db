/**
 * The Wyoming listener (`serve --wyoming-port`) over real loopback TCP with
 * the tone model: describe/info, full transcribe sessions (16 kHz mono,
 * 22.05 kHz stereo), the event order Home Assistant relies on, error cases,
 * concurrency through the shared admission pool, and drain.
 *
 * The client here is written from the Wyoming spec (header line + optional
 * data + payload), independently of src/wyoming/framing.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import pkg from "../package.json" with { type: "json" };
import { parseServeConfig } from "../src/server/config.ts";
import { startServer } from "../src/server/server.ts";
import { createLogger } from "../src/log.ts";
import { startWyoming, type WyomingListener } from "../src/wyoming/listener.ts";
import { concatBytes } from "./helpers/wav.ts";
import { closeToneTranscriber, pcm16, startToneServer, type TestServer, toneAt } from "./server/streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
const PHRASE2 = "это тест один два три";

interface Ev {
  type: string;
  data: Record<string, unknown>;
  payload: Uint8Array | null;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A Wyoming TCP client that records every event and the close. */
class WyClient {
  readonly events: Ev[] = [];
  isClosed = false;
  readonly closed: Promise<void>;
  private socket!: Socket<undefined>;
  private inbuf: Uint8Array = new Uint8Array(0);
  private out: Uint8Array[] = [];
  private flushed: Array<() => void> = [];
  private waiters: Array<() => void> = [];
  private resolveClosed!: () => void;

  private constructor() {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  static async connect(port: number): Promise<WyClient> {
    const c = new WyClient();
    c.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, bytes) => c.onData(bytes),
        drain: () => c.flush(),
        close: () => c.onClose(),
        error: () => c.onClose(),
      },
    });
    return c;
  }

  /** one event; `separateData` sends data after the header with data_length (as the Python library does) */
  send(type: string, data?: Record<string, unknown>, payload?: Uint8Array, separateData = false): Promise<void> {
    const header: Record<string, unknown> = { type };
    let dataBytes: Uint8Array | null = null;
    if (data && separateData) {
      dataBytes = enc.encode(JSON.stringify(data));
      header.data_length = dataBytes.length;
    } else if (data) header.data = data;
    if (payload?.length) header.payload_length = payload.length;
    const parts = [enc.encode(`${JSON.stringify(header)}\n`), ...(dataBytes ? [dataBytes] : []), ...(payload?.length ? [payload] : [])];
    return this.raw(concatBytes(...parts));
  }

  raw(bytes: Uint8Array): Promise<void> {
    this.out.push(bytes);
    const p = new Promise<void>((r) => this.flushed.push(r));
    this.flush();
    return p;
  }

  /** a whole audio stream: transcribe, audio-start, chunks, audio-stop */
  async stream(pcm: Uint8Array, fmt: { rate: number; channels?: number }, chunkBytes = 4096, transcribe: Record<string, unknown> | null = { language: "ru" }): Promise<void> {
    const f = { rate: fmt.rate, width: 2, channels: fmt.channels ?? 1 };
    if (transcribe) await this.send("transcribe", transcribe);
    await this.send("audio-start", f);
    for (let i = 0; i < pcm.length; i += chunkBytes) await this.send("audio-chunk", f, pcm.subarray(i, i + chunkBytes), true);
    await this.send("audio-stop", {});
  }

  /** wait for the first event of `type` at index ≥ from */
  async next(type: string, ms = 10_000, from = 0): Promise<Ev> {
    const deadline = Date.now() + ms;
    for (;;) {
      const e = this.events.slice(from).find((x) => x.type === type);
      if (e) return e;
      if (this.isClosed) throw new Error(`closed before '${type}': ${JSON.stringify(this.events.map((x) => [x.type, x.data]))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no '${type}' within ${ms} ms: ${JSON.stringify(this.events.map((x) => x.type))}`);
      await this.wait(left);
    }
  }

  async waitClosed(ms = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms)));
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.end();
  }

  private flush(): void {
    while (this.out.length) {
      const b = this.out[0]!;
      const n = Math.max(0, this.socket.write(b));
      if (n < b.length) {
        this.out[0] = b.subarray(n);
        return;
      }
      this.out.shift();
      this.flushed.shift()?.();
    }
  }

  private onData(bytes: Uint8Array): void {
    this.inbuf = concatBytes(this.inbuf, bytes);
    for (;;) {
      const nl = this.inbuf.indexOf(10);
      if (nl < 0) break;
      const h = JSON.parse(dec.decode(this.inbuf.subarray(0, nl))) as Record<string, unknown>;
      const dl = (h.data_length as number | undefined) ?? 0;
      const pl = (h.payload_length as number | undefined) ?? 0;
      if (this.inbuf.length < nl + 1 + dl + pl) break;
      let data = (h.data as Record<string, unknown> | undefined) ?? {};
      if (dl) data = { ...data, ...JSON.parse(dec.decode(this.inbuf.subarray(nl + 1, nl + 1 + dl))) };
      const payload = pl ? this.inbuf.slice(nl + 1 + dl, nl + 1 + dl + pl) : null;
      this.events.push({ type: h.type as string, data, payload });
      this.inbuf = this.inbuf.slice(nl + 1 + dl + pl);
    }
    this.wake();
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.resolveClosed();
    for (const f of this.flushed.splice(0)) f();
    this.wake();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  private wake(): void {
    for (const f of this.waiters.splice(0)) f();
  }
}


/** interleave channels sample by sample */
function interleave(...channels: Float32Array[]): Float32Array {
  const n = channels[0]!.length;
  const out = new Float32Array(n * channels.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels.length; c++) out[i * channels.length + c] = channels[c]![i]!;
  return out;
}

/** the events that answer one audio stream, from `from` to its transcript-stop */
async function answer(c: WyClient, from = 0): Promise<{ types: string[]; text: string; chunks: string[] }> {
  const stop = await c.next("transcript-stop", 15_000, from);
  const evs = c.events.slice(from, c.events.indexOf(stop) + 1);
  const t = evs.find((e) => e.type === "transcript")!;
  return {
    types: evs.map((e) => e.type),
    text: t.data.text as string,
    chunks: evs.filter((e) => e.type === "transcript-chunk").map((e) => e.data.text as string),
  };
}

/** error event → connection closed; returns the error data */
async function expectErrorClose(c: WyClient, code: string): Promise<Record<string, unknown>> {
  const e = await c.next("error");
  expect(e.data.code).toBe(code);
  expect(typeof e.data.text).toBe("string");
  expect((e.data.text as string).length).toBeGreaterThan(0);
  await c.waitClosed();
  return e.data;
}

const quietLog = () => createLogger({ level: "silent", format: "json", write: () => {} });

let srv: TestServer;
let wy: WyomingListener;
beforeAll(async () => {
  srv = await startToneServer(["--pool-size", "4"]);
  wy = startWyoming(srv.server.deps, { host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await wy.close();
  await srv.stop();
  await closeToneTranscriber();
});

describe("logs", () => {
  test("one info line per connection end, with the audio seconds and transcripts", async () => {
    const logs: Record<string, unknown>[] = [];
    const own = await startToneServer([], {}, undefined, { logs });
    const l = startWyoming(own.server.deps, { host: "127.0.0.1", port: 0 });
    try {
      const c = await WyClient.connect(l.port);
      await c.stream(pcm16(toneAt(PHRASE, 16000)), { rate: 16000 }, 3200);
      await answer(c);
      c.close();
      await c.waitClosed();
      const until = Date.now() + 5000;
      while (!logs.some((x) => x.msg === "wyoming session ended") && Date.now() < until) await Bun.sleep(20);
      const ended = logs.filter((x) => x.msg === "wyoming session ended");
      expect(ended).toHaveLength(1);
      expect(ended[0]).toMatchObject({ level: "info", transcripts: 1 });
      expect(ended[0]!.audio_seconds as number).toBeGreaterThan(1);
      expect(typeof ended[0]!.duration_ms).toBe("number");
    } finally {
      await l.close();
      await own.stop();
    }
  });
});

describe("describe", () => {
  test("info: program gigastt, model gigaam-v3-e2e-rnnt, Russian, installed, streaming", async () => {
    const c = await WyClient.connect(wy.port);
    await c.send("describe");
    const info = await c.next("info");
    const asr = info.data.asr as Array<Record<string, unknown>>;
    expect(asr).toHaveLength(1);
    const p = asr[0]!;
    expect(p.name).toBe("gigastt");
    expect(p.installed).toBe(true);
    expect(p.version).toBe(pkg.version);
    expect(p.supports_transcript_streaming).toBe(true);
    expect(p.attribution).toEqual({ name: expect.any(String), url: expect.stringMatching(/^https:\/\//) });
    const models = p.models as Array<Record<string, unknown>>;
    expect(models).toHaveLength(1);
    expect(models[0]!.name).toBe("gigaam-v3-e2e-rnnt");
    expect(models[0]!.languages).toEqual(["ru"]);
    expect(models[0]!.installed).toBe(true);
    expect((models[0]!.attribution as Record<string, unknown>).url).toMatch(/^https:\/\//);
    // the connection stays open for more requests
    await c.send("ping", { text: "hi" });
    expect((await c.next("pong")).data).toEqual({ text: "hi" });
    expect(c.isClosed).toBe(false);
    c.close();
    await c.waitClosed();
  });

  test("url is tcp://host:port on the --host address", () => {
    expect(wy.url).toBe(`tcp://127.0.0.1:${wy.port}`);
    expect(wy.port).toBeGreaterThan(0);
  });
});

describe("transcribe", () => {
  test("16 kHz mono: transcript-start, chunks that join into the transcript, transcript, transcript-stop", async () => {
    const c = await WyClient.connect(wy.port);
    // odd chunk size: samples split across chunks
    await c.stream(pcm16(toneAt(PHRASE, 16000)), { rate: 16000 }, 3001);
    const a = await answer(c);
    expect(a.text).toBe(PHRASE);
    expect(a.types[0]).toBe("transcript-start");
    expect(a.types.slice(-2)).toEqual(["transcript", "transcript-stop"]);
    expect(a.types.slice(1, -2).every((t) => t === "transcript-chunk")).toBe(true);
    expect(a.chunks.join("")).toBe(a.text);
    expect(c.events.find((e) => e.type === "transcript")!.data.language).toBe("ru");
    expect(c.events.some((e) => e.type === "error")).toBe(false);

    // same connection, a second stream (no transcribe event this time)
    const from = c.events.length;
    await c.stream(pcm16(toneAt(PHRASE2, 16000)), { rate: 16000 }, 8000, null);
    expect((await answer(c, from)).text).toBe(PHRASE2);
    expect(c.isClosed).toBe(false);
    c.close();
    await c.waitClosed();
  });

  test("each utterance is sent as a transcript-chunk as soon as it is cut, before audio-stop", async () => {
    const f = { rate: 16000, width: 2, channels: 1 };
    const first = pcm16(toneAt(PHRASE, 16000, { tailSec: 1 }));
    const c = await WyClient.connect(wy.port);
    await c.send("audio-start", f);
    for (let i = 0; i < first.length; i += 3200) await c.send("audio-chunk", f, first.subarray(i, i + 3200));
    const chunk = await c.next("transcript-chunk");
    expect(chunk.data.text).toBe(PHRASE);
    expect(c.events.some((e) => e.type === "transcript")).toBe(false);
    await c.send("audio-chunk", f, pcm16(toneAt(PHRASE2, 16000)));
    await c.send("audio-stop");
    const a = await answer(c);
    expect(a.chunks).toEqual([PHRASE, ` ${PHRASE2}`]);
    expect(a.text).toBe(`${PHRASE} ${PHRASE2}`);
    c.close();
  });

  test("22050 Hz stereo is downmixed and resampled", async () => {
    const x = toneAt(PHRASE2, 22050);
    const c = await WyClient.connect(wy.port);
    await c.stream(pcm16(interleave(x, x)), { rate: 22050, channels: 2 }, 5003);
    expect((await answer(c)).text).toBe(PHRASE2);
    c.close();
  });

  test("stereo channels are averaged: opposite phases cancel to an empty transcript", async () => {
    const x = toneAt(PHRASE, 22050);
    const neg = x.map((v) => -v);
    const c = await WyClient.connect(wy.port);
    await c.stream(pcm16(interleave(x, neg)), { rate: 22050, channels: 2 });
    const a = await answer(c);
    expect(a.text).toBe("");
    expect(a.chunks).toEqual([]);
    c.close();
  });

  test("audio-chunk without audio-start starts the stream with the chunk's format", async () => {
    const pcm = pcm16(toneAt(PHRASE, 48000));
    const c = await WyClient.connect(wy.port);
    const f = { rate: 48000, width: 2, channels: 1, timestamp: null };
    for (let i = 0; i < pcm.length; i += 9600) await c.send("audio-chunk", f, pcm.subarray(i, i + 9600));
    await c.send("audio-stop", { timestamp: null });
    expect((await answer(c)).text).toBe(PHRASE);
    c.close();
  });

  test("audio-stop with no audio answers an empty transcript; unknown events and select-program are dropped", async () => {
    const c = await WyClient.connect(wy.port);
    await c.send("select-program", { name: "gigastt" });
    await c.send("voice-started", { timestamp: 0 });
    await c.send("audio-stop");
    const a = await answer(c);
    expect(a.types).toEqual(["transcript-start", "transcript", "transcript-stop"]);
    expect(a.text).toBe("");
    expect(c.events.some((e) => e.type === "error")).toBe(false);
    c.close();
  });

  test("pipelined events in one write are answered in order", async () => {
    const pcm = pcm16(toneAt(PHRASE, 16000));
    const f = { rate: 16000, width: 2, channels: 1 };
    const line = (h: Record<string, unknown>) => enc.encode(`${JSON.stringify(h)}\n`);
    const bytes = concatBytes(
      line({ type: "describe" }),
      line({ type: "transcribe", data: { language: "ru-RU", name: "gigaam-v3-e2e-rnnt" } }),
      line({ type: "audio-start", data: f }),
      line({ type: "audio-chunk", data: f, payload_length: pcm.length }),
      pcm,
      line({ type: "audio-stop" }),
      line({ type: "describe" }),
    );
    const c = await WyClient.connect(wy.port);
    await c.raw(bytes);
    const a = await answer(c);
    expect(a.text).toBe(PHRASE);
    await c.next("info", 5000, c.events.indexOf(c.events.find((e) => e.type === "transcript-stop")!));
    expect(c.events[0]!.type).toBe("info");
    c.close();
  });

  test("two clients at once get their own transcripts", async () => {
    const [a, b] = await Promise.all([WyClient.connect(wy.port), WyClient.connect(wy.port)]);
    await Promise.all([
      a.stream(pcm16(toneAt(PHRASE, 16000)), { rate: 16000 }, 1600),
      b.stream(pcm16(toneAt(PHRASE2, 44100)), { rate: 44100 }, 4410),
    ]);
    const [ra, rb] = await Promise.all([answer(a), answer(b)]);
    expect(ra.text).toBe(PHRASE);
    expect(rb.text).toBe(PHRASE2);
    a.close();
    b.close();
    await Promise.all([a.waitClosed(), b.waitClosed()]);
    expect(srv.server.deps.admission.inUse).toBe(0);
  });
});

describe("errors: an error event {text, code}, then the connection closes", () => {
  const f16 = { rate: 16000, width: 2, channels: 1 };

  test("a header that is not JSON", async () => {
    const c = await WyClient.connect(wy.port);
    await c.raw(enc.encode("hello there\n"));
    await expectErrorClose(c, "bad_message");
  });

  test("a JSON header without a type, or with a bad payload_length", async () => {
    const c = await WyClient.connect(wy.port);
    await c.raw(enc.encode('{"data":{}}\n'));
    await expectErrorClose(c, "bad_message");
    const d = await WyClient.connect(wy.port);
    await d.raw(enc.encode('{"type":"audio-chunk","payload_length":-5}\n'));
    await expectErrorClose(d, "bad_message");
  });

  test("a header line over 64 KiB", async () => {
    const c = await WyClient.connect(wy.port);
    await c.raw(enc.encode(`{"type":"describe","data":{"x":"${"a".repeat(70 * 1024)}`));
    await expectErrorClose(c, "payload_too_large");
  });

  test("payload_length over the cap is refused before any payload arrives", async () => {
    const c = await WyClient.connect(wy.port);
    await c.raw(enc.encode(`${JSON.stringify({ type: "audio-chunk", data: f16, payload_length: 1_000_000_000 })}\n`));
    await expectErrorClose(c, "payload_too_large");
  });

  test("width other than 2 bytes", async () => {
    const c = await WyClient.connect(wy.port);
    await c.send("audio-start", { rate: 16000, width: 4, channels: 1 });
    await expectErrorClose(c, "unsupported_format");
  });

  test("a sample rate outside 8–192 kHz", async () => {
    const c = await WyClient.connect(wy.port);
    await c.send("audio-start", { rate: 4000, width: 2, channels: 1 });
    await expectErrorClose(c, "invalid_sample_rate");
  });

  test("a chunk whose format differs from audio-start", async () => {
    const c = await WyClient.connect(wy.port);
    await c.send("audio-start", f16);
    await c.send("audio-chunk", { rate: 22050, width: 2, channels: 1 }, new Uint8Array(100));
    await c.next("transcript-start");
    await expectErrorClose(c, "unsupported_format");
  });

  test("a language other than Russian", async () => {
    const c = await WyClient.connect(wy.port);
    await c.send("transcribe", { language: "en" });
    const e = await expectErrorClose(c, "unsupported_language");
    expect(e.text).toContain("ru");
  });

  test("audio-start twice", async () => {
    const c = await WyClient.connect(wy.port);
    await c.send("audio-start", f16);
    await c.send("audio-start", f16);
    await expectErrorClose(c, "bad_message");
    // the slot went back to the pool
    await Bun.sleep(20);
    expect(srv.server.deps.admission.inUse).toBe(0);
  });

  test("garbage after good events: the good ones are answered first", async () => {
    const c = await WyClient.connect(wy.port);
    await c.raw(concatBytes(enc.encode('{"type":"describe"}\n'), enc.encode("{not json\n")));
    await c.next("info");
    await expectErrorClose(c, "bad_message");
    expect(c.events.map((e) => e.type)).toEqual(["info", "error"]);
  });

  test("a client that disconnects mid-stream frees its slot", async () => {
    const c = await WyClient.connect(wy.port);
    await c.send("audio-start", f16);
    await c.next("transcript-start");
    await c.send("audio-chunk", f16, pcm16(toneAt(PHRASE, 16000)).subarray(0, 16000));
    expect(srv.server.deps.admission.inUse).toBe(1);
    c.close();
    await c.waitClosed();
    for (let i = 0; i < 50 && srv.server.deps.admission.inUse > 0; i++) await Bun.sleep(10);
    expect(srv.server.deps.admission.inUse).toBe(0);
  });
});

describe("shared pool, model loading, drain", () => {
  test("a full pool: the second stream waits, then gets error timeout after the checkout timeout", async () => {
    const s = await startToneServer(["--pool-size", "1", "--pool-checkout-timeout-secs", "1"]);
    const w = startWyoming(s.server.deps, { host: "127.0.0.1", port: 0 });
    try {
      const a = await WyClient.connect(w.port);
      await a.send("audio-start", { rate: 16000, width: 2, channels: 1 });
      await a.next("transcript-start");
      const b = await WyClient.connect(w.port);
      await b.send("audio-start", { rate: 16000, width: 2, channels: 1 });
      const e = await expectErrorClose(b, "timeout");
      expect(typeof e.retry_after_ms).toBe("number");
      // the first stream is unaffected
      const pcm = pcm16(toneAt(PHRASE, 16000));
      await a.send("audio-chunk", { rate: 16000, width: 2, channels: 1 }, pcm);
      await a.send("audio-stop");
      expect((await answer(a)).text).toBe(PHRASE);
      a.close();
    } finally {
      await w.close();
      await s.stop();
    }
  });

  test("before the model is loaded: describe works, audio-start gets not_ready", async () => {
    const config = parseServeConfig(["--port", "0", "--log-level", "silent"], {}, { isTTY: false, cpus: 1 });
    const server = await startServer(config, { transcriber: null, log: quietLog() });
    const w = startWyoming(server.deps, { host: "127.0.0.1", port: 0 });
    try {
      const c = await WyClient.connect(w.port);
      await c.send("describe");
      await c.next("info");
      await c.send("audio-start", { rate: 16000, width: 2, channels: 1 });
      await expectErrorClose(c, "not_ready");
    } finally {
      await w.close();
      await server.stop();
    }
  });

  test("drain: idle connections close, a running stream finishes its transcript, new connections are refused", async () => {
    const s = await startToneServer(["--shutdown-drain-secs", "4"]);
    const w = startWyoming(s.server.deps, { host: "127.0.0.1", port: 0 });
    try {
      const f = { rate: 16000, width: 2, channels: 1 };
      const pcm = pcm16(toneAt(PHRASE, 16000));
      const idle = await WyClient.connect(w.port);
      await idle.send("describe");
      await idle.next("info");
      const running = await WyClient.connect(w.port);
      await running.send("audio-start", f);
      await running.next("transcript-start");
      await running.send("audio-chunk", f, pcm.subarray(0, 20000));

      const drained = s.server.drain();
      await idle.waitClosed(2000);
      await expect(WyClient.connect(w.port)).rejects.toThrow();
      // the client still sends the rest and audio-stop within the grace period
      await running.send("audio-chunk", f, pcm.subarray(20000));
      await running.send("audio-stop");
      expect((await answer(running)).text).toBe(PHRASE);
      await running.waitClosed(2000);
      expect((await drained).clean).toBe(true);
    } finally {
      await w.close();
      await s.stop();
    }
  });

  test("drain: a stream without audio-stop gets the transcript of what was heard, then the close", async () => {
    const s = await startToneServer(["--shutdown-drain-secs", "2"]);
    const w = startWyoming(s.server.deps, { host: "127.0.0.1", port: 0 });
    try {
      const f = { rate: 16000, width: 2, channels: 1 };
      const c = await WyClient.connect(w.port);
      await c.send("audio-start", f);
      await c.next("transcript-start");
      await c.send("audio-chunk", f, pcm16(toneAt(PHRASE, 16000)));
      const started = performance.now();
      const drained = s.server.drain();
      const a = await answer(c);
      expect(a.text).toBe(PHRASE);
      await c.waitClosed(2000);
      // it waited for audio-stop for about half the window first
      expect(performance.now() - started).toBeGreaterThan(900);
      expect((await drained).clean).toBe(true);
    } finally {
      await w.close();
      await s.stop();
    }
  });
});

describe("limits", () => {
  test("a long stream sent as fast as possible (input paused and resumed) gives every utterance", async () => {
    const one = toneAt(PHRASE, 48000, { tailSec: 0.8 });
    const reps = 12;
    const x = new Float32Array(one.length * reps);
    for (let i = 0; i < reps; i++) x.set(one, i * one.length);
    const pcm = pcm16(x); // ≈ 3.4 MB at 48 kHz, well over the 1 MiB input queue
    const c = await WyClient.connect(wy.port);
    await c.stream(pcm, { rate: 48000 }, 48000);
    const a = await answer(c, 0);
    expect(a.chunks).toHaveLength(reps);
    expect(a.text).toBe(Array(reps).fill(PHRASE).join(" "));
    c.close();
  });

  test("idle timeout and session cap: error, then the transcript of what was heard, then close", async () => {
    const s = await startToneServer(["--idle-timeout-secs", "1", "--max-session-secs", "2"]);
    const w = startWyoming(s.server.deps, { host: "127.0.0.1", port: 0 });
    const f = { rate: 16000, width: 2, channels: 1 };
    const pcm = pcm16(toneAt(PHRASE, 16000));
    try {
      await Promise.all([
        (async () => {
          // an idle connection just closes
          const c = await WyClient.connect(w.port);
          await c.send("describe");
          await c.next("info");
          await c.waitClosed(3000);
          expect(c.events.map((e) => e.type)).toEqual(["info"]);
        })(),
        (async () => {
          // a stream that goes quiet
          const c = await WyClient.connect(w.port);
          await c.send("audio-start", f);
          await c.send("audio-chunk", f, pcm);
          const a = await answer(c);
          expect(a.text).toBe(PHRASE);
          expect(c.events.find((e) => e.type === "error")!.data.code).toBe("idle_timeout");
          await c.waitClosed(2000);
        })(),
        (async () => {
          // a stream that keeps sending past the cap
          const c = await WyClient.connect(w.port);
          await c.send("audio-start", f);
          await c.send("audio-chunk", f, pcm);
          const silence = new Uint8Array(3200);
          while (!c.events.some((e) => e.type === "error") && !c.isClosed) {
            await c.send("audio-chunk", f, silence);
            await Bun.sleep(100);
          }
          expect((await c.next("error")).data.code).toBe("max_session_duration_exceeded");
          expect((await answer(c)).text).toBe(PHRASE);
          await c.waitClosed(2000);
        })(),
      ]);
    } finally {
      await w.close();
      await s.stop();
    }
  });
});

describe("serve flag", () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => parseServeConfig(argv, env, { isTTY: false, cpus: 1 });

  test("--wyoming-port / GIGASTT_WYOMING_PORT, off by default", () => {
    expect(parse([]).wyomingPort).toBeNull();
    expect(parse(["--wyoming-port", "10300"]).wyomingPort).toBe(10300);
    expect(parse([], { GIGASTT_WYOMING_PORT: "10301" }).wyomingPort).toBe(10301);
    expect(parse(["--wyoming-port=10302"], { GIGASTT_WYOMING_PORT: "10301" }).wyomingPort).toBe(10302);
  });

  test("bad values are usage errors naming the flag", () => {
    expect(() => parse(["--wyoming-port", "abc"])).toThrow(/--wyoming-port/);
    expect(() => parse(["--wyoming-port", "70000"])).toThrow(/--wyoming-port/);
    expect(() => parse(["--port", "9000", "--wyoming-port", "9000"])).toThrow(/differ/);
    expect(() => parse([], { GIGASTT_WYOMING_PORT: "-1" })).toThrow(/GIGASTT_WYOMING_PORT/);
  });

  test("a port in use is bind_refused", async () => {
    const blocker = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      expect(() => startWyoming(srv.server.deps, { host: "127.0.0.1", port: blocker.port })).toThrow(/already in use/);
    } finally {
      blocker.stop(true);
    }
  });
});
