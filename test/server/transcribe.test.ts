/**
 * POST /v1/transcribe (json | txt | srt | vtt | md; the other query options in
 * export-options.test.ts) and POST /v1/transcribe/stream
 * (SSE) over loopback with the tone model: formats, body rules, caps,
 * errors, admission, client disconnects.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GigasttError } from "../../src/errors.ts";
import {
  closeToneTranscriber,
  parseSse,
  pcm16,
  phraseToAudio,
  rawChunkedPost,
  splitBytes,
  startToneServer,
  type TestServer,
  toneAt,
  toneTranscriber,
  WsClient,
  wavBytes,
} from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
const audio = phraseToAudio(PHRASE);
const wav = wavBytes(audio.samples, 16000);

let srv: TestServer;
const extra: TestServer[] = [];
beforeAll(async () => {
  srv = await startToneServer(["--pool-size", "2", "--pool-checkout-timeout-secs", "1"]);
});
afterAll(async () => {
  await srv.stop();
  for (const s of extra) await s.stop();
  await closeToneTranscriber();
});

function post(path: string, body: RequestInit["body"], init: RequestInit = {}): Promise<Response> {
  return fetch(`${srv.url}${path}`, { method: "POST", body, ...init });
}

async function errorCode(r: Response): Promise<string> {
  return ((await r.json()) as { code: string }).code;
}

describe("POST /v1/transcribe: what newcomers try first", () => {
  const form = (fields: Record<string, string | Blob>) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    return f;
  };

  test("multipart/form-data (curl -F file=@talk.wav) transcribes the file part like the raw body", async () => {
    const r = await post("/v1/transcribe", form({ model: "x", file: new File([wav], "talk.wav", { type: "audio/wav" }) }));
    expect(r.status).toBe(200);
    expect(((await r.json()) as { text: string }).text).toBe(PHRASE);
    // the SSE route too
    const sse = await post("/v1/transcribe/stream", form({ file: new File([wav], "talk.wav") }));
    expect(sse.status).toBe(200);
    expect(parseSse(await sse.text()).events.at(-1)).toMatchObject({ type: "done", text: PHRASE });
  });

  test("a form's format/response_format field is honoured, also after the file", async () => {
    const f = new FormData();
    f.append("file", new File([wav], "talk.wav"));
    f.append("response_format", "srt");
    const r = await post("/v1/transcribe", f);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("application/x-subrip");
    expect(await r.text()).toContain("привет мир, как дела?");
  });

  test("a form without a file part → 400 usage saying how to send it", async () => {
    const r = await post("/v1/transcribe", form({ audio: new File([wav], "talk.wav") }));
    expect(r.status).toBe(400);
    const body = (await r.json()) as { code: string; message: string };
    expect(body.code).toBe("usage");
    expect(body.message).toContain("file=@");
  });

  test("?response_format= is an alias of ?format=; both disagreeing, or verbose_json, is a 400 naming the parameter", async () => {
    const srt = await post("/v1/transcribe?response_format=srt", wav);
    expect(srt.status).toBe(200);
    expect(srt.headers.get("content-type")).toStartWith("application/x-subrip");
    const clash = await post("/v1/transcribe?format=vtt&response_format=srt", wav);
    expect(clash.status).toBe(400);
    expect(((await clash.json()) as { message: string }).message).toContain("disagree");
    const verbose = await post("/v1/transcribe?response_format=verbose_json", wav);
    expect(verbose.status).toBe(400);
    expect(((await verbose.json()) as { message: string }).message).toContain("/v1/audio/transcriptions");
  });

  test("the unsupported-format hint names the uploaded file", async () => {
    // 4 kHz: a rate no decoder here takes (the hint says how to resample it)
    const r = await post("/v1/transcribe", form({ file: new File([wavBytes(new Float32Array(4000), 4000)], "meeting notes.wav") }));
    expect(r.status).toBe(415);
    const body = (await r.json()) as { code: string; message: string };
    expect(body.code).toBe("unsupported_format");
    expect(body.message).toContain("ffmpeg -i 'meeting notes.wav' -ar 16000 -ac 1 'meeting notes.16k.wav'");
  });
});

describe("POST /v1/transcribe", () => {
  test("json (default) is the CLI json shape with word times from the audio start", async () => {
    const r = await post("/v1/transcribe", wav, { headers: { "content-type": "audio/mpeg" } }); // Content-Type is ignored
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await r.json()) as { text: string; duration: number; words: { word: string; start: number }[]; segments: { text: string }[] };
    expect(Object.keys(body).sort()).toEqual(["confidence", "duration", "segments", "text", "words"]);
    expect(body.text).toBe(PHRASE);
    expect(body.duration).toBeCloseTo(audio.samples.length / 16000, 3);
    expect(body.words.map((w) => w.word)).toEqual(["привет", "мир,", "как", "дела?"]);
    const wordOnsets = audio.onsets.filter((_, i) => audio.pieces[i]!.startsWith("▁"));
    body.words.forEach((w, i) => expect(Math.abs(w.start - wordOnsets[i]!)).toBeLessThanOrEqual(0.1));
    expect(body.segments.map((s) => s.text).join(" ")).toBe(PHRASE);
  });

  test("text, srt and vtt", async () => {
    const text = await post("/v1/transcribe?format=text", wav);
    expect(text.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect((await text.text()).trim()).toBe(PHRASE);

    const srt = await post("/v1/transcribe?format=srt", wav);
    expect(srt.headers.get("content-type")).toStartWith("application/x-subrip");
    expect(await srt.text()).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\nпривет мир, как дела\?\n/);

    const vtt = await post("/v1/transcribe?format=vtt", wav);
    expect(vtt.headers.get("content-type")).toStartWith("text/vtt");
    expect(await vtt.text()).toMatch(/^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\nпривет мир, как дела\?\n/);
  });

  test("an unknown format → 400 invalid_format (Rust's code)", async () => {
    const r = await post("/v1/transcribe?format=docx", wav);
    expect(r.status).toBe(400);
    expect(await errorCode(r)).toBe("invalid_format");
  });

  test("empty body → 400 empty_body (both routes, with or without Content-Length)", async () => {
    for (const path of ["/v1/transcribe", "/v1/transcribe/stream"]) {
      const r = await post(path, new Uint8Array(0));
      expect(r.status).toBe(400);
      expect(await errorCode(r)).toBe("empty_body");
      const chunked = await post(path, new ReadableStream({ start: (c) => c.close() }));
      expect(chunked.status).toBe(400);
      expect(await errorCode(chunked)).toBe("empty_body");
    }
  });

  test("a WAV shorter than 20 ms → 422 audio_too_short (both routes); 20 ms is enough", async () => {
    for (const path of ["/v1/transcribe", "/v1/transcribe/stream"]) {
      const r = await post(path, wavBytes(new Float32Array(100), 16000));
      expect(r.status).toBe(422);
      expect(await errorCode(r)).toBe("audio_too_short");
    }
    const ok = await post("/v1/transcribe", wavBytes(new Float32Array(320), 16000));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ text: "", duration: 0.02, words: [], segments: [] });
  });

  test("garbage → 422 invalid_audio; AIFF → 415 unsupported_format; an MP3 tag with no frames → 422; no paths or internals in the message", async () => {
    const g = await post("/v1/transcribe", new Uint8Array(1000).fill(7));
    expect(g.status).toBe(422);
    const gb = (await g.json()) as { code: string; message: string; error: string };
    expect(gb.code).toBe("invalid_audio");
    expect(gb.message).not.toMatch(/\/|at .*\.ts/);
    const aiff = new Uint8Array(2000);
    aiff.set(new TextEncoder().encode("FORM\0\0\x07\x48AIFF"));
    const m = await post("/v1/transcribe", aiff);
    expect(m.status).toBe(415);
    const mb = (await m.json()) as { code: string; message: string };
    expect(mb.code).toBe("unsupported_format");
    expect(mb.message).toContain("AIFF");
    const mp3 = new Uint8Array(2000);
    mp3.set([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0]); // "ID3" tag, then zeros
    const n = await post("/v1/transcribe", mp3);
    expect(n.status).toBe(422);
    expect(await errorCode(n)).toBe("invalid_audio");
  });

  test("the slot is released after errors: pool-size requests at once still succeed", async () => {
    for (let i = 0; i < 4; i++) await post("/v1/transcribe", new Uint8Array(1000).fill(7));
    const rs = await Promise.all([post("/v1/transcribe", wav), post("/v1/transcribe", wav)]);
    expect(rs.map((r) => r.status)).toEqual([200, 200]);
  });
});

describe("caps", () => {
  test("Content-Length over --body-limit-bytes → 413 payload_too_large before the body is read", async () => {
    const s = await startToneServer(["--body-limit-bytes", "10000"]);
    extra.push(s);
    const r = await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: new Uint8Array(20_000) });
    expect(r.status).toBe(413);
    expect(await errorCode(r)).toBe("payload_too_large");
  });

  test("a chunked upload crossing the cap → 413 payload_too_large, the rest of the upload is never read", async () => {
    const s = await startToneServer(["--body-limit-bytes", "100000"]);
    extra.push(s);
    const big = wavBytes(toneAt(PHRASE, 16000, { tailSec: 10 }), 16000); // ~420 kB
    const chunks = splitBytes(big, 8192);
    const r = await rawChunkedPost(s.server.port, "/v1/transcribe", chunks, { delayMs: 5 });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).code).toBe("payload_too_large");
    expect(r.written).toBeLessThan(chunks.length);
    // SSE has already answered 200 by then: the cap ends the stream with an error event
    const sse = await rawChunkedPost(s.server.port, "/v1/transcribe/stream", chunks, { delayMs: 5, pastHead: true });
    expect(sse.status).toBe(200);
    const { events } = parseSse(sse.body);
    expect(events.at(-1)).toMatchObject({ type: "error", code: "payload_too_large" });
    expect(s.server.deps.admission.inUse).toBe(0);
  });

  test("audio longer than the duration cap → 413 audio_too_long (reachable when the body cap is raised)", async () => {
    const s = await startToneServer([], { maxAudioSecs: 2 });
    extra.push(s);
    const r = await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: wav });
    expect(r.status).toBe(413);
    expect(await errorCode(r)).toBe("audio_too_long");
  });
});

describe("POST /v1/transcribe/stream", () => {
  test("SSE: final events with text, words and wall-clock timestamp, then done; the stream ends", async () => {
    // a file is cut only near the 20 s limit (issue 11): a 20 s pause makes two segments
    const two = wavBytes(
      Float32Array.from([...toneAt(PHRASE, 16000, { tailSec: 20 }), ...toneAt("это тест", 16000)]),
      16000,
    );
    const r = await post("/v1/transcribe/stream", two);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/event-stream");
    expect(r.headers.get("cache-control")).toBe("no-cache");
    const { events } = parseSse(await r.text());
    for (const e of events) expect(["final", "done"]).toContain(e.type);
    const finals = events.filter((e) => e.type === "final");
    expect(finals.map((e) => e.text)).toEqual([PHRASE, "это тест"]);
    for (const f of finals) {
      expect(Math.abs((f.timestamp as number) - Date.now() / 1000)).toBeLessThan(60);
      expect(f.words!.length).toBeGreaterThan(0);
      expect("is_final" in f).toBe(false);
    }
    const done = events.at(-1)!;
    expect(done.type).toBe("done");
    expect(done.text).toBe(`${PHRASE} это тест`);
    expect(done.duration).toBeCloseTo(two.length / 2 / 16000, 1);
    // the concatenated SSE finals equal the REST transcript
    const rest = (await (await post("/v1/transcribe?format=text", two)).text()).trim();
    expect(finals.map((e) => e.text).join(" ")).toBe(rest);
  });

  test("SSE decode errors before the stream starts are HTTP errors", async () => {
    const r = await post("/v1/transcribe/stream", new Uint8Array(1000).fill(7));
    expect(r.status).toBe(422);
    expect(await errorCode(r)).toBe("invalid_audio");
  });

  test("inference failing mid-stream → an error event inference_error, later utterances still come, then done", async () => {
    const real = await toneTranscriber();
    // every decode of the first utterance (it starts at 0 s) fails; the second one decodes
    const flaky = {
      info: real.info,
      decodeSegment(samples: Float32Array, offset: number, opts?: Parameters<typeof real.decodeSegment>[2]) {
        if (offset < 1) return Promise.reject(new GigasttError("inference_error"));
        return real.decodeSegment(samples, offset, opts);
      },
    };
    const s = await startToneServer([], {}, flaky as unknown as typeof real);
    extra.push(s);
    // two segments: the file is cut in the 20 s pause, near the limit
    const two = wavBytes(Float32Array.from([...toneAt(PHRASE, 16000, { tailSec: 20 }), ...toneAt("это тест", 16000)]), 16000);
    const r = await fetch(`${s.url}/v1/transcribe/stream`, { method: "POST", body: two });
    expect(r.status).toBe(200);
    const { events } = parseSse(await r.text());
    const kinds = events.map((e) => e.type);
    expect(kinds).toEqual(["error", "final", "done"]);
    expect(events.find((e) => e.type === "error")).toEqual({ type: "error", code: "inference_error", message: "Inference failed" });
    expect(events.find((e) => e.type === "final")!.text).toBe("это тест");
    expect(events.at(-1)).toMatchObject({ type: "done", text: "это тест" });
    // REST on the same audio: the whole request fails with 500 inference_error, the slot comes back
    const rest = await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: two });
    expect(rest.status).toBe(500);
    expect(await rest.json()).toEqual({ error: "Inference failed", message: "Inference failed", code: "inference_error" });
    expect(s.server.deps.admission.inUse).toBe(0);
  });

  test("an SSE client that disconnects mid-upload frees its slot", async () => {
    // a raw socket: fetch would buffer a streaming request body
    let got = "";
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: srv.server.port,
      socket: {
        data(_s, d) {
          got += d.toString();
        },
      },
    });
    sock.write(`POST /v1/transcribe/stream HTTP/1.1\r\nHost: 127.0.0.1:${srv.server.port}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const part = wav.subarray(0, 20_000);
    sock.write(`${part.length.toString(16)}\r\n`);
    sock.write(part);
    sock.write("\r\n");
    for (let i = 0; i < 100 && !got.includes("\r\n\r\n"); i++) await Bun.sleep(10);
    expect(got).toStartWith("HTTP/1.1 200");
    expect(srv.server.deps.admission.inUse).toBe(1);
    sock.end();
    for (let i = 0; i < 100 && srv.server.deps.admission.inUse > 0; i++) await Bun.sleep(10);
    expect(srv.server.deps.admission.inUse).toBe(0);
  });
});

describe("client disconnects", () => {
  test("a REST client that leaves mid-upload or while waiting is a client abort (499), never an internal error", async () => {
    const s = await startToneServer(["--metrics", "--pool-size", "1", "--pool-checkout-timeout-secs", "10"]);
    extra.push(s);
    const port = s.server.port;
    const leaveAfter = async (head: string, body: Uint8Array, ms: number) => {
      const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      sock.write(head);
      sock.write(body);
      await Bun.sleep(ms);
      sock.end();
    };
    const head = (n: number) => `POST /v1/transcribe HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${n}\r\n\r\n`;
    // mid-upload: half the declared body, then gone
    await leaveAfter(head(wav.length), wav.subarray(0, wav.length >> 1), 200);
    for (let i = 0; i < 100 && s.server.deps.admission.inUse > 0; i++) await Bun.sleep(10);
    expect(s.server.deps.admission.inUse).toBe(0);
    // while waiting for the only slot
    const holder = await WsClient.open(s.ws);
    await holder.next("ready");
    await leaveAfter(head(wav.length), new Uint8Array(0), 200);
    for (let i = 0; i < 100 && s.server.deps.admission.waiting > 0; i++) await Bun.sleep(10);
    expect(s.server.deps.admission.waiting).toBe(0);
    holder.json({ type: "stop" });
    await holder.closed;
    await Bun.sleep(50);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain('gigastt_http_requests_total{method="POST",path="/v1/transcribe",status="499"} 2\n');
    expect(metrics).not.toContain('code="internal"');
    expect(metrics).not.toContain('status="500"');
    expect((await post("/v1/transcribe", wav)).status).toBe(200);
  });
});

describe("metrics", () => {
  test("routes record WS sessions, pool use, inference time, real-time factor, audio seconds and errors by code", async () => {
    const s = await startToneServer(["--metrics"]);
    extra.push(s);
    const scrape = async () => (await fetch(`${s.url}/metrics`)).text();
    const c = await WsClient.open(`${s.ws}?sample_rate=16000`);
    await c.next("ready");
    const during = await scrape();
    expect(during).toContain("gigastt_ws_active_connections 1\n");
    expect(during).toContain("gigastt_pool_in_use 1\n");
    c.send(pcm16(audio.samples));
    c.json({ type: "stop" });
    await c.closed;
    expect((await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: wav })).status).toBe(200);
    expect((await (await fetch(`${s.url}/v1/transcribe/stream`, { method: "POST", body: wav })).text()).length).toBeGreaterThan(0);
    expect((await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: new Uint8Array(0) })).status).toBe(400);
    const after = await scrape();
    // one utterance decoded for the final of each: WS, REST, SSE
    expect(after).toContain("gigastt_inference_duration_seconds_count 3\n");
    expect(after).toContain("gigastt_inference_real_time_factor_count 3\n");
    const audioSeconds = Number(/^gigastt_audio_seconds_total (\S+)$/m.exec(after)?.[1]);
    expect(audioSeconds).toBeGreaterThan(3 * 2);
    expect(audioSeconds).toBeLessThanOrEqual(3 * (audio.samples.length / 16000) + 1e-6);
    expect(after).toContain("gigastt_ws_active_connections 0\n");
    expect(after).toContain("gigastt_pool_in_use 0\n");
    expect(after).toContain('gigastt_errors_total{code="empty_body"} 1\n');
    expect(after).toContain('gigastt_http_requests_total{method="POST",path="/v1/transcribe",status="200"} 1\n');
    expect(after).toContain('gigastt_http_requests_total{method="POST",path="/v1/transcribe/stream",status="200"} 1\n');
    expect(after).toContain('gigastt_http_requests_total{method="GET",path="/v1/ws",status="101"} 1\n');
  });
});

describe("admission", () => {
  test("saturated pool → 503 timeout with Retry-After after the checkout timeout, on both routes", async () => {
    const holders = await Promise.all([WsClient.open(srv.ws), WsClient.open(srv.ws)]);
    await Promise.all(holders.map((h) => h.next("ready")));
    for (const path of ["/v1/transcribe", "/v1/transcribe/stream"]) {
      const r = await post(path, wav);
      expect(r.status).toBe(503);
      expect(r.headers.get("retry-after")).toBe("1");
      expect(await r.json()).toMatchObject({ code: "timeout", retry_after_ms: 1000 });
    }
    for (const h of holders) h.json({ type: "stop" });
    await Promise.all(holders.map((h) => h.closed));
    expect((await post("/v1/transcribe", wav)).status).toBe(200);
  });

  test("/health answers while every worker is busy with a long upload", async () => {
    // 10 minutes of tones: one Worker is busy for a while
    const long = wavBytes(toneAt(Array.from({ length: 150 }, () => PHRASE).join(" "), 16000, { gapSec: 0.2 }), 16000);
    let restDone = false;
    const rest = post("/v1/transcribe?format=text", long).then(async (r) => {
      restDone = true;
      return r;
    });
    await Bun.sleep(100);
    const health = await fetch(`${srv.url}/health`);
    expect(health.status).toBe(200);
    expect(restDone).toBe(false);
    const r = await rest;
    expect(r.status).toBe(200);
  });
});
