/**
 * OpenAI-compatible POST /v1/audio/transcriptions over loopback with the tone
 * model: every response_format, timestamp granularities, SSE streaming, the
 * OpenAI error shape, body caps, and the same text as /v1/transcribe.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeToneTranscriber, parseSse, phraseToAudio, rawChunkedPost, splitBytes, startToneServer, type TestServer, toneAt, wavBytes } from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
const audio = phraseToAudio(PHRASE);
const wav = wavBytes(audio.samples, 16000);
/** two utterances (a 1 s pause between them) */
const two = wavBytes(Float32Array.from([...toneAt(PHRASE, 16000, { tailSec: 1 }), ...toneAt("это тест", 16000)]), 16000);
/** two file segments: a file is cut only near the 20 s limit, here in the 20 s pause */
const twoSegments = wavBytes(Float32Array.from([...toneAt(PHRASE, 16000, { tailSec: 20 }), ...toneAt("это тест", 16000)]), 16000);
const PATH = "/v1/audio/transcriptions";

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

type Field = [name: string, value: string] | [name: string, value: Uint8Array, filename: string];

/** a multipart body with the fields in exactly this order */
function multipart(fields: readonly Field[], boundary = "----gigasttTest7MA4YWxk"): { body: Uint8Array; type: string } {
  const enc = new TextEncoder();
  const out: Uint8Array[] = [];
  for (const f of fields) {
    if (f.length === 3) {
      out.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${f[0]}"; filename="${f[2]}"\r\nContent-Type: audio/wav\r\n\r\n`));
      out.push(f[1]);
    } else out.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${f[0]}"\r\n\r\n${f[1]}`));
    out.push(enc.encode("\r\n"));
  }
  out.push(enc.encode(`--${boundary}--\r\n`));
  return { body: Buffer.concat(out), type: `multipart/form-data; boundary=${boundary}` };
}

function postFields(fields: readonly Field[], url = srv.url): Promise<Response> {
  const { body, type } = multipart(fields);
  return fetch(`${url}${PATH}`, { method: "POST", body, headers: { "content-type": type } });
}

/** the SDK's way: a FormData body, text fields first or after the file */
function postForm(file: Uint8Array, fields: Record<string, string | string[]> = {}, fileFirst = false): Promise<Response> {
  const form = new FormData();
  const add = () => form.append("file", new Blob([file], { type: "audio/wav" }), "speech.wav");
  if (fileFirst) add();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) form.append(k, x);
  if (!fileFirst) add();
  return fetch(`${srv.url}${PATH}`, { method: "POST", body: form });
}

interface OpenAiError {
  error: { message: string; type: string; param: string | null; code: string };
}

async function openAiError(r: Response): Promise<OpenAiError["error"]> {
  expect(r.headers.get("content-type")).toStartWith("application/json");
  const body = (await r.json()) as OpenAiError;
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.type).toBe(r.status >= 500 ? "server_error" : "invalid_request_error");
  return body.error;
}

async function restText(bytes: Uint8Array, format = "text"): Promise<string> {
  const r = await fetch(`${srv.url}/v1/transcribe?format=${format}`, { method: "POST", body: bytes });
  expect(r.status).toBe(200);
  return r.text();
}

describe("response formats", () => {
  test("json (default) is exactly {text}, the same text as /v1/transcribe; model/prompt/temperature are accepted and ignored", async () => {
    const r = await postForm(wav, { model: "whisper-1", prompt: "Привет.", temperature: "0.7", language: "ru" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.headers.get("x-request-id")).toBeTruthy();
    expect(await r.json()).toEqual({ text: PHRASE });
    expect((await restText(wav)).trim()).toBe(PHRASE);
    const long = (await (await postForm(two, { model: "gigaam-v3" })).json()) as { text: string };
    expect(long.text).toBe((await restText(two)).trim());
    expect(long.text).toBe(`${PHRASE} это тест`);
  });

  test("text, srt and vtt equal /v1/transcribe's renderings", async () => {
    for (const [format, type] of [
      ["text", "text/plain"],
      ["srt", "application/x-subrip"],
      ["vtt", "text/vtt"],
    ] as const) {
      const r = await postForm(two, { model: "m", response_format: format });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toStartWith(type);
      expect(await r.text()).toBe(await restText(two, format));
    }
    const srt = await (await postForm(wav, { response_format: "srt" })).text();
    expect(srt).toMatch(/^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\nпривет мир, как дела\?\n\n$/);
  });

  test("verbose_json: task, language, duration, text and Whisper-shaped segments (segment granularity by default)", async () => {
    const r = await postForm(two, { response_format: "verbose_json" });
    expect(r.status).toBe(200);
    const v = (await r.json()) as Record<string, unknown> & { segments: Record<string, unknown>[] };
    expect(Object.keys(v).sort()).toEqual(["duration", "language", "segments", "task", "text"]);
    expect(v.task).toBe("transcribe");
    expect(v.language).toBe("russian");
    expect(v.text).toBe(`${PHRASE} это тест`);
    expect(v.duration as number).toBeCloseTo((two.length - 44) / 2 / 16000, 2);
    const rest = (await (await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: two })).json()) as { segments: { start: number; end: number; text: string }[] };
    expect(v.segments.map((s) => [s.start, s.end, s.text])).toEqual(rest.segments.map((s) => [s.start, s.end, s.text]));
    v.segments.forEach((s, i) => {
      expect(Object.keys(s).sort()).toEqual(["avg_logprob", "compression_ratio", "end", "id", "no_speech_prob", "seek", "start", "temperature", "text", "tokens"]);
      expect(s.id).toBe(i);
      expect(s.seek).toBe(Math.round((s.start as number) * 100));
      expect(s.tokens).toEqual([]);
      expect(s.temperature).toBe(0);
      expect(s.avg_logprob as number).toBeLessThanOrEqual(0);
      expect(s.avg_logprob as number).toBeGreaterThan(-2); // the tone model is confident
      expect(s.compression_ratio as number).toBeGreaterThan(0);
      expect(s.no_speech_prob).toBe(0);
    });
  });

  test("verbose_json with timestamp_granularities[]=word: words with start/end, no segments; both → both", async () => {
    const w = (await (await postForm(wav, { response_format: "verbose_json", "timestamp_granularities[]": "word" })).json()) as {
      words: { word: string; start: number; end: number }[];
      segments?: unknown;
    };
    expect(w.segments).toBeUndefined();
    expect(w.words.map((x) => x.word)).toEqual(["привет", "мир,", "как", "дела?"]);
    const onsets = audio.onsets.filter((_, i) => audio.pieces[i]!.startsWith("▁"));
    w.words.forEach((x, i) => {
      expect(Object.keys(x).sort()).toEqual(["end", "start", "word"]);
      expect(Math.abs(x.start - onsets[i]!)).toBeLessThanOrEqual(0.1);
      expect(x.end).toBeGreaterThan(x.start);
    });
    const both = (await (await postForm(wav, { response_format: "verbose_json", "timestamp_granularities[]": ["word", "segment"] })).json()) as {
      words: unknown[];
      segments: unknown[];
    };
    expect(both.words.length).toBe(4);
    expect(both.segments.length).toBe(1);
    // granularities are ignored (not an error) for the other formats
    const j = await postForm(wav, { "timestamp_granularities[]": "word" });
    expect(await j.json()).toEqual({ text: PHRASE });
  });

  test("fields after the file (curl / Node SDK order) are honoured", async () => {
    const r = await postForm(wav, { model: "x", response_format: "text", language: "ru" }, true);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(`${PHRASE}\n`);
  });
});

describe("stream=true", () => {
  test("SSE: a transcript.text.delta per segment, transcript.text.done with the whole text, then data: [DONE]", async () => {
    const r = await postForm(twoSegments, { model: "gigaam-v3", stream: "true" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/event-stream");
    const raw = await r.text();
    expect(raw.endsWith("data: [DONE]\n\n")).toBe(true);
    const { events } = parseSse(raw.slice(0, -"data: [DONE]\n\n".length));
    expect(events).toEqual([
      { type: "transcript.text.delta", delta: PHRASE },
      { type: "transcript.text.delta", delta: " это тест" },
      { type: "transcript.text.done", text: `${PHRASE} это тест` },
    ]);
  });

  test("stream=true after the file gives the same events", async () => {
    const live = await (await postForm(two, { stream: "true" })).text();
    const late = await (await postForm(two, { stream: "true" }, true)).text();
    expect(late).toBe(live);
  });

  test("a failure mid-stream ends the stream with an error event in OpenAI's shape (no [DONE])", async () => {
    // the decoder reads 256 KiB (8 s) at a time: 24 s of audio cross a 10 s cap after the stream began
    const s = await startToneServer([], { maxAudioSecs: 10 });
    extra.push(s);
    const long = wavBytes(toneAt(Array.from({ length: 10 }, () => PHRASE).join(" "), 16000), 16000);
    const form = new FormData();
    form.append("stream", "true");
    form.append("file", new Blob([long]), "long.wav");
    const r = await fetch(`${s.url}${PATH}`, { method: "POST", body: form });
    expect(r.status).toBe(200);
    const raw = await r.text();
    expect(raw).not.toContain("[DONE]");
    const { events } = parseSse(raw);
    expect(events.at(-1)).toEqual({
      type: "error",
      error: { message: expect.any(String), type: "invalid_request_error", param: null, code: "audio_too_long" },
    });
    expect(events.some((e) => e.type === "transcript.text.done")).toBe(false);
    expect(s.server.deps.admission.inUse).toBe(0);
  });

  test("deltas arrive while the upload is still coming in; a client that goes away frees its slot", async () => {
    const { body, type } = multipart([
      ["stream", "true"],
      ["file", twoSegments, "two.wav"],
    ]);
    // everything up to 21 s: past the 20 s limit that closes the first segment, inside the long pause
    const cut = Buffer.from(body).indexOf(twoSegments.subarray(0, 64)) + 44 + 21 * 16000 * 2;
    let got = "";
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: srv.server.port,
      socket: {
        data(_s, d) {
          got += Buffer.from(d).toString("utf8");
        },
      },
    });
    sock.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1:${srv.server.port}\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    for (const c of splitBytes(body.subarray(0, cut), 16384)) {
      sock.write(`${c.length.toString(16)}\r\n`);
      sock.write(c);
      sock.write("\r\n");
    }
    for (let i = 0; i < 300 && !got.includes("transcript.text.delta"); i++) await Bun.sleep(10);
    expect(got).toStartWith("HTTP/1.1 200");
    expect(got).toContain(JSON.stringify({ type: "transcript.text.delta", delta: PHRASE }));
    expect(got).not.toContain("transcript.text.done");
    expect(srv.server.deps.admission.inUse).toBe(1);
    sock.end();
    for (let i = 0; i < 200 && srv.server.deps.admission.inUse > 0; i++) await Bun.sleep(10);
    expect(srv.server.deps.admission.inUse).toBe(0);
  });

  test("drain mid-upload: the stream ends with what was heard — done, then [DONE]", async () => {
    const s = await startToneServer(["--shutdown-drain-secs", "5"]);
    const { body, type } = multipart([
      ["stream", "true"],
      ["file", two, "two.wav"],
    ]);
    const cut = Buffer.from(body).indexOf(two.subarray(0, 64)) + 44 + Math.round((audio.samples.length + 16000 * 0.5) * 2);
    let got = "";
    let closed = false;
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: s.server.port,
      socket: {
        data(_s, d) {
          got += Buffer.from(d).toString("utf8");
        },
        close() {
          closed = true;
        },
      },
    });
    sock.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1:${s.server.port}\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const part = body.subarray(0, cut);
    sock.write(`${part.length.toString(16)}\r\n`);
    sock.write(part);
    sock.write("\r\n");
    for (let i = 0; i < 300 && !got.includes("transcript.text.delta"); i++) await Bun.sleep(10);
    const drained = await s.server.drain();
    expect(drained.clean).toBe(true);
    for (let i = 0; i < 300 && !closed && !got.includes("[DONE]"); i++) await Bun.sleep(10);
    sock.end();
    await s.stop();
    expect(got).toContain(`data: ${JSON.stringify({ type: "transcript.text.done", text: PHRASE })}\n\ndata: [DONE]\n\n`);
  });

  test("audio errors before the stream starts are HTTP errors", async () => {
    const r = await postForm(new Uint8Array(1000).fill(7), { stream: "true" });
    expect(r.status).toBe(422);
    expect((await openAiError(r)).code).toBe("invalid_audio");
  });
});

describe("errors (OpenAI shape, catalogue status, our code)", () => {
  test("no file → 400 usage, param file", async () => {
    const r = await postFields([
      ["model", "gigaam-v3"],
      ["response_format", "json"],
    ]);
    expect(r.status).toBe(400);
    const e = await openAiError(r);
    expect(e).toMatchObject({ code: "usage", param: "file" });
    expect(e.message).toContain("file");
  });

  test("not multipart → 400 bad_message; a truncated multipart body → 400 bad_message", async () => {
    const raw = await fetch(`${srv.url}${PATH}`, { method: "POST", body: wav, headers: { "content-type": "audio/wav" } });
    expect(raw.status).toBe(400);
    expect((await openAiError(raw)).code).toBe("bad_message");
    const { body, type } = multipart([["file", wav, "a.wav"]]);
    const cut = await fetch(`${srv.url}${PATH}`, { method: "POST", body: body.subarray(0, body.length - 30), headers: { "content-type": type } });
    expect(cut.status).toBe(400);
    expect((await openAiError(cut)).code).toBe("bad_message");
  });

  test("another language → 400 unsupported_language (before or after the file); Russian spellings are accepted", async () => {
    for (const fileFirst of [false, true]) {
      const r = await postForm(wav, { language: "en" }, fileFirst);
      expect(r.status).toBe(400);
      const e = await openAiError(r);
      expect(e).toMatchObject({ code: "unsupported_language", param: "language" });
      expect(e.message).toContain("Russian");
    }
    for (const language of ["ru", "RU", "ru-RU", "russian", ""]) {
      const r = await postForm(wav, { language });
      expect(r.status).toBe(200);
    }
  });

  test("language=auto is accepted, and verbose_json says what it detected: russian", async () => {
    for (const language of ["auto", "AUTO"]) {
      const r = await postForm(wav, { language, response_format: "verbose_json" });
      expect(r.status).toBe(200);
      const v = (await r.json()) as { language: string; text: string };
      expect(v.language).toBe("russian");
      expect(v.text.length).toBeGreaterThan(0);
    }
  });

  test("the unsupported-format hint names the uploaded file", async () => {
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("file", new Blob([wavBytes(new Float32Array(4000), 4000)]), "voice-note.wav"); // 4 kHz: refused with a resampling hint
    const r = await fetch(`${srv.url}${PATH}`, { method: "POST", body: form });
    expect(r.status).toBe(415);
    const e = await openAiError(r);
    expect(e.code).toBe("unsupported_format");
    expect(e.message).toContain("ffmpeg -i voice-note.wav -ar 16000 -ac 1 voice-note.16k.wav");
  });

  test("unknown response_format, granularity or stream value → 400 usage naming the param", async () => {
    for (const [field, value] of [
      ["response_format", "diarized_json"],
      ["timestamp_granularities[]", "char"],
      ["stream", "maybe"],
    ] as const) {
      const r = await postForm(wav, { [field]: value });
      expect(r.status).toBe(400);
      expect(await openAiError(r)).toMatchObject({ code: "usage", param: field });
    }
  });

  test("AIFF → 415 unsupported_format; garbage → 422 invalid_audio; empty file → 400 empty_body; two files → 400", async () => {
    const aiff = new Uint8Array(2000);
    aiff.set(new TextEncoder().encode("FORM\0\0\x07\x48AIFF"));
    const m = await postForm(aiff);
    expect(m.status).toBe(415);
    expect((await openAiError(m)).code).toBe("unsupported_format");
    const g = await postForm(new Uint8Array(1000).fill(7));
    expect(g.status).toBe(422);
    const ge = await openAiError(g);
    expect(ge.code).toBe("invalid_audio");
    expect(ge.message).not.toMatch(/\/|at .*\.ts/);
    const empty = await postForm(new Uint8Array(0));
    expect(empty.status).toBe(400);
    expect((await openAiError(empty)).code).toBe("empty_body");
    const dup = await postFields([
      ["file", wav, "a.wav"],
      ["file", wav, "b.wav"],
    ]);
    expect(dup.status).toBe(400);
    expect(await openAiError(dup)).toMatchObject({ code: "usage", param: "file" });
  });

  test("slots are released after errors: pool-size requests at once still succeed", async () => {
    for (let i = 0; i < 3; i++) await postForm(new Uint8Array(1000).fill(7));
    await postForm(wav, { language: "de" }, true);
    expect(srv.server.deps.admission.inUse).toBe(0);
    const rs = await Promise.all([postForm(wav), postForm(wav, { stream: "true" })]);
    expect(rs.map((r) => r.status)).toEqual([200, 200]);
    await Promise.all(rs.map((r) => r.text()));
    expect(srv.server.deps.admission.inUse).toBe(0);
  });
});

/** a raw chunked multipart POST to the OpenAI route (fetch sends a Content-Length) */
async function rawChunked(
  port: number,
  type: string,
  chunks: readonly Uint8Array[],
  opts: { end?: boolean; /** wait this long for the answer, then hang up */ holdMs?: number } = {},
): Promise<{ status: number; body: string; written: number }> {
  const { status, body, written } = await rawChunkedPost(port, PATH, chunks, { ...opts, contentType: type, delayMs: 3 });
  return { status, body, written };
}

describe("platform layers", () => {
  test("foreign Origin → 403, foreign Host → 421, rate limit → 429, saturated pool → 503 timeout with Retry-After", async () => {
    const s = await startToneServer(["--rate-limit-per-minute", "6", "--rate-limit-burst", "2"]);
    extra.push(s);
    const { body, type } = multipart([["file", wav, "a.wav"]]);
    const origin = await fetch(`${s.url}${PATH}`, { method: "POST", body, headers: { "content-type": type, origin: "https://evil.example" } });
    expect(origin.status).toBe(403);
    expect(await openAiError(origin)).toMatchObject({ code: "origin_denied", type: "invalid_request_error" });
    const host = await fetch(`${s.url}${PATH}`, { method: "POST", body, headers: { "content-type": type, host: "rebind.example" } });
    expect(host.status).toBe(421);
    expect(await openAiError(host)).toMatchObject({ code: "host_not_allowed", type: "invalid_request_error" });
    // a burst of 2 (rejections above took no token)
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${s.url}${PATH}`, { method: "POST", body, headers: { "content-type": type } });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
      else await r.text();
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(limited!.headers.get("retry-after")).not.toBeNull();
    expect(await openAiError(limited!)).toMatchObject({ code: "rate_limited", type: "invalid_request_error" });

    // the main server: pool of 2, both slots held by slow uploads
    const held = [0, 1].map(() => {
      const m = multipart([["file", wav, "a.wav"]]);
      return rawChunked(srv.server.port, m.type, [m.body.subarray(0, 1000)], { end: false, holdMs: 1500 });
    });
    for (let i = 0; i < 100 && srv.server.deps.admission.inUse < 2; i++) await Bun.sleep(10);
    expect(srv.server.deps.admission.inUse).toBe(2);
    const busy = await postForm(wav);
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(busy.headers.get("retry-after-ms")).toBe("1000");
    expect(await openAiError(busy)).toMatchObject({ code: "timeout", type: "server_error" });
    await Promise.all(held);
    for (let i = 0; i < 100 && srv.server.deps.admission.inUse > 0; i++) await Bun.sleep(10);
    expect(srv.server.deps.admission.inUse).toBe(0);
  });
});

describe("client disconnects", () => {
  test("a client that leaves mid-upload is a client abort (499), never an internal error", async () => {
    const s = await startToneServer(["--metrics"]);
    extra.push(s);
    const port = s.server.port;
    const m = multipart([["file", wav, "a.wav"]]);
    const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    sock.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${m.type}\r\nContent-Length: ${m.body.length}\r\n\r\n`);
    sock.write(m.body.subarray(0, m.body.length >> 1));
    await Bun.sleep(200);
    sock.end();
    for (let i = 0; i < 100 && s.server.deps.admission.inUse > 0; i++) await Bun.sleep(10);
    expect(s.server.deps.admission.inUse).toBe(0);
    await Bun.sleep(50);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain(`gigastt_http_requests_total{method="POST",path="${PATH}",status="499"} 1\n`);
    expect(metrics).not.toContain('code="internal"');
  });
});

describe("body cap", () => {
  test("a chunked upload crossing --body-limit-bytes → 413 payload_too_large (OpenAI shape); the rest is never read", async () => {
    const s = await startToneServer(["--body-limit-bytes", "100000"]);
    extra.push(s);
    const big = wavBytes(toneAt(PHRASE, 16000, { tailSec: 10 }), 16000); // ~420 kB
    const { body, type } = multipart([
      ["model", "gigaam-v3"],
      ["file", big, "big.wav"],
    ]);
    const chunks = splitBytes(body, 8192);
    const r = await rawChunked(s.server.port, type, chunks);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: "payload_too_large", type: "invalid_request_error" } });
    expect(r.written).toBeLessThan(chunks.length);
    expect(s.server.deps.admission.inUse).toBe(0);
    // a declared Content-Length over the cap is refused by the platform gate before the route runs
    const declared = await fetch(`${s.url}${PATH}`, { method: "POST", body, headers: { "content-type": type } });
    expect(declared.status).toBe(413);
    expect(await openAiError(declared)).toMatchObject({ code: "payload_too_large", type: "invalid_request_error" });
  });

  test("a streamed upload under the cap is transcribed while it arrives", async () => {
    const { body, type } = multipart([
      ["response_format", "text"],
      ["file", two, "two.wav"],
    ]);
    const r = await rawChunked(srv.server.port, type, splitBytes(body, 4096));
    expect(r.status).toBe(200);
    expect(r.body).toBe(`${PHRASE} это тест\n`);
  });
});
