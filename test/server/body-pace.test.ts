/**
 * Stalled and trickling uploads (issue 13, hole 1): a client that sends a
 * WAV header and then nothing, or a byte now and then, never holds a pool
 * slot other users need, ends with 408 `body_timeout` within
 * `--body-idle-timeout-secs`, and never holds the drain. REST, SSE, the
 * OpenAI route and the jobs upload (which leaves no job and no file behind).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeToneTranscriber, parseSse, phraseToAudio, rawChunkedPost, startToneServer, type TestServer, wavBytes } from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
const wav = wavBytes(phraseToAudio(PHRASE).samples, 16000);
/** a WAV header and 0.1 s of audio: enough for the decoder to yield (the upload then stalls) */
const START = wav.subarray(0, 44 + 3200);
const HEADER_ONLY = wav.subarray(0, 44);
const BOUNDARY = "----gigasttPace";
const enc = new TextEncoder();
const FILE_HEAD = enc.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`);
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

let srv: TestServer;
const extra: TestServer[] = [];
beforeAll(async () => {
  srv = await startToneServer(["--pool-size", "1", "--pool-checkout-timeout-secs", "1", "--body-idle-timeout-secs", "1"]);
});
afterAll(async () => {
  await srv.stop();
  for (const s of extra) await s.stop();
  await closeToneTranscriber();
});

function port(s: TestServer = srv): number {
  return Number(new URL(s.url).port);
}

function codeOf(body: string): string | undefined {
  const j = JSON.parse(body) as { code?: string; error?: { code?: string } };
  return j.code ?? j.error?.code;
}

/** a chunked upload that sends `chunks` and then nothing (no terminating chunk) */
function stalled(path: string, chunks: Uint8Array[], contentType?: string, s: TestServer = srv) {
  return rawChunkedPost(port(s), path, chunks, { end: false, holdMs: 8000, delayMs: 1, ...(contentType ? { contentType } : {}) });
}

describe("a stalled upload", () => {
  test("REST: a header and then nothing holds no slot; it ends in 408 body_timeout after the body idle timeout", async () => {
    const started = performance.now();
    const stall = stalled("/v1/transcribe", [HEADER_ONLY]);
    await Bun.sleep(150);
    // with --pool-size 1 and a 1 s checkout timeout, a slot held by the stalled upload would give 503 timeout
    const ok = await fetch(`${srv.url}/v1/transcribe?format=text`, { method: "POST", body: wav });
    expect(ok.status).toBe(200);
    expect((await ok.text()).trim()).toBe(PHRASE);
    const r = await stall;
    expect(r.status).toBe(408);
    expect(codeOf(r.body)).toBe("body_timeout");
    expect(performance.now() - started).toBeLessThan(4000);
    expect(srv.server.deps.admission.inUse).toBe(0);
  });

  test("REST: audio, then a stall, releases its slot at the body idle timeout (the next upload gets in)", async () => {
    const stall = stalled("/v1/transcribe", [START]);
    await Bun.sleep(150);
    // the stalled upload holds the slot (it has audio to decode) until its body times out (1 s);
    // the checkout waits at most 1 s — the stalled upload must be cut before a slot is needed for long
    const r = await stall;
    expect(r.status).toBe(408);
    expect(codeOf(r.body)).toBe("body_timeout");
    expect(srv.server.deps.admission.inUse).toBe(0);
    const ok = await fetch(`${srv.url}/v1/transcribe?format=text`, { method: "POST", body: wav });
    expect((await ok.text()).trim()).toBe(PHRASE);
  });

  test("REST: one byte every 50 ms (under --body-min-bytes-per-sec) → 408 body_timeout", async () => {
    const started = performance.now();
    const bytes = [...wav.subarray(0, 200)].map((b) => Uint8Array.of(b));
    const r = await rawChunkedPost(port(), "/v1/transcribe", bytes, { delayMs: 50, holdMs: 8000 });
    expect(r.status).toBe(408);
    expect(codeOf(r.body)).toBe("body_timeout");
    expect(r.written).toBeLessThan(60); // cut after about a second, not after the whole trickle
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test("SSE: a header and then nothing holds no slot → 408 body_timeout", async () => {
    const stall = stalled("/v1/transcribe/stream", [HEADER_ONLY]);
    await Bun.sleep(150);
    const ok = await fetch(`${srv.url}/v1/transcribe/stream`, { method: "POST", body: wav });
    expect(ok.status).toBe(200);
    const { events } = parseSse(await ok.text());
    expect(events.at(-1)).toMatchObject({ type: "done", text: PHRASE });
    const r = await stall;
    expect(r.status).toBe(408);
    expect(codeOf(r.body)).toBe("body_timeout");
  });

  test("SSE: audio, then a stall → error body_timeout and the stream ends", async () => {
    const r = await rawChunkedPost(port(), "/v1/transcribe/stream", [START], { end: false, holdMs: 8000, pastHead: true });
    expect(r.status).toBe(200);
    const { events } = parseSse(r.body);
    expect(events.at(-1)).toMatchObject({ type: "error", code: "body_timeout" });
    expect(srv.server.deps.admission.inUse).toBe(0);
  });

  test("OpenAI: the file part's head and then nothing holds no slot → 408 body_timeout in OpenAI's shape", async () => {
    const stall = stalled("/v1/audio/transcriptions", [FILE_HEAD, HEADER_ONLY], MULTIPART);
    await Bun.sleep(150);
    const form = new FormData();
    form.set("file", new Blob([wav], { type: "audio/wav" }), "a.wav");
    const ok = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { text: string }).text).toBe(PHRASE);
    const r = await stall;
    expect(r.status).toBe(408);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: "body_timeout" } });
  });
});

describe("a stalled channels=split upload holds no slot", () => {
  const CHANNELS_FIELD = enc.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="channels"\r\n\r\nsplit\r\n`);
  const cases: [string, string, Uint8Array[], string | undefined][] = [
    ["REST", "/v1/transcribe?channels=split", [HEADER_ONLY], undefined],
    ["SSE", "/v1/transcribe/stream?channels=split", [HEADER_ONLY], undefined],
    ["OpenAI", "/v1/audio/transcriptions", [CHANNELS_FIELD, FILE_HEAD, HEADER_ONLY], MULTIPART],
  ];
  for (const [name, path, chunks, type] of cases) {
    test(`${name}: a header and then nothing takes no slot (another upload gets in); it ends in 408 body_timeout`, async () => {
      const stall = stalled(path, chunks, type);
      await Bun.sleep(300);
      expect(srv.server.deps.admission.inUse).toBe(0);
      // with --pool-size 1 and a 1 s checkout timeout, a slot held by the stalled upload would give 503 timeout
      const ok = await fetch(`${srv.url}/v1/transcribe?format=text`, { method: "POST", body: wav });
      expect(ok.status).toBe(200);
      expect((await ok.text()).trim()).toBe(PHRASE);
      const r = await stall;
      expect(r.status).toBe(408);
      expect(codeOf(r.body)).toBe("body_timeout");
      expect(srv.server.deps.admission.inUse).toBe(0);
    });
  }
});

describe("a stalled jobs upload (POST /v1/jobs)", () => {
  let jobs: TestServer;
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gigastt-jobs-pace-"));
    jobs = await startToneServer(["--enable-jobs", "--jobs-dir", dir, "--body-idle-timeout-secs", "1"]);
    extra.push(jobs);
  });
  /** every file the jobs folder holds besides the database */
  const files = () => ["audio", "results", "tmp"].flatMap((d) => readdirSync(join(dir, d)).map((f) => `${d}/${f}`));
  const listed = async () => ((await (await fetch(`${jobs.url}/v1/jobs`)).json()) as { jobs: unknown[] }).jobs;

  test("a WAV start and then nothing → 408 body_timeout after the body idle timeout; no job, no file left", async () => {
    const started = performance.now();
    const r = await stalled("/v1/jobs", [START], undefined, jobs);
    expect(r.status).toBe(408);
    expect(codeOf(r.body)).toBe("body_timeout");
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await listed()).toEqual([]);
    expect(files()).toEqual([]);
  });

  test("one byte every 50 ms → 408 body_timeout, cut after about a second; no job, no file left", async () => {
    const bytes = [...wav.subarray(0, 200)].map((b) => Uint8Array.of(b));
    const r = await rawChunkedPost(port(jobs), "/v1/jobs", bytes, { delayMs: 50, holdMs: 8000 });
    expect(r.status).toBe(408);
    expect(codeOf(r.body)).toBe("body_timeout");
    expect(r.written).toBeLessThan(60);
    expect(await listed()).toEqual([]);
    expect(files()).toEqual([]);
    // the same server still takes a whole upload
    const ok = await fetch(`${jobs.url}/v1/jobs`, { method: "POST", body: wav });
    expect(ok.status).toBe(202);
  });
});

describe("the drain", () => {
  test("a stalled REST upload (with a slot) does not hold the drain; a stalled SSE upload gets its done", async () => {
    const s = await startToneServer(["--pool-size", "2", "--body-idle-timeout-secs", "30", "--shutdown-drain-secs", "20"]);
    extra.push(s);
    const rest = stalled("/v1/transcribe", [START], undefined, s);
    const sse = rawChunkedPost(port(s), "/v1/transcribe/stream", [START], { end: false, holdMs: 15000, pastHead: true });
    await Bun.sleep(300);
    expect(s.server.deps.admission.inUse).toBe(2);
    const started = performance.now();
    const drained = await s.server.drain();
    expect(drained.clean).toBe(true);
    expect(performance.now() - started).toBeLessThan(5000); // not the 20 s window, not the 30 s body timeout
    const r = await rest;
    expect(r.status).toBe(503);
    expect(codeOf(r.body)).toBe("shutting_down");
    const events = parseSse((await sse).body).events;
    expect(events.at(-1)).toMatchObject({ type: "done", reason: "shutting_down" });
  });
});
