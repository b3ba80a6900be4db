/**
 * The access log: one `request` line per HTTP request at info (probes at debug),
 * 400/415/422 included, with the route template, status, duration, bytes in and
 * out, the client, the request id, and for transcriptions the audio seconds and
 * the real-time factor.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeToneTranscriber, phraseToAudio, rawChunkedPost, splitBytes, startToneServer, type TestServer, wavBytes } from "./streaming-helpers.ts";

const wav = wavBytes(phraseToAudio("привет мир, как дела?").samples, 16000);
const logs: Record<string, unknown>[] = [];
let srv: TestServer;

beforeAll(async () => {
  srv = await startToneServer(["--pool-size", "2"], {}, undefined, { logs });
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

/** the access line of the request with this id (waits for it: SSE lines come at the stream's end) */
async function line(id: string): Promise<Record<string, unknown>> {
  const until = Date.now() + 5000;
  for (;;) {
    const hits = logs.filter((l) => l.msg === "request" && l.request_id === id);
    if (hits.length > 1) throw new Error(`${hits.length} access lines for ${id}`);
    if (hits.length === 1) return hits[0]!;
    if (Date.now() > until) throw new Error(`no access line for ${id}`);
    await Bun.sleep(10);
  }
}

let n = 0;
async function send(path: string, init: RequestInit = {}): Promise<{ res: Response; body: Uint8Array; log: Record<string, unknown> }> {
  const id = `acc-${++n}`;
  const res = await fetch(`${srv.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), "x-request-id": id } });
  const body = new Uint8Array(await res.arrayBuffer());
  return { res, body, log: await line(id) };
}

test("a transcription: info line with route, status, duration, bytes in/out, audio seconds and RTF, request id and client", async () => {
  const { res, body, log } = await send("/v1/transcribe", { method: "POST", body: wav });
  expect(res.status).toBe(200);
  expect(log).toMatchObject({ level: "info", method: "POST", route: "/v1/transcribe", status: 200, bytes_in: wav.length, bytes_out: body.length, client: "127.0.0.1" });
  expect(log.duration_ms as number).toBeGreaterThan(0);
  expect(log.audio_seconds as number).toBeCloseTo(wav.length / 32000, 1);
  expect(log.rtf as number).toBeGreaterThan(0);
  // the response still carries its length (the body was counted, not turned into a chunked stream)
  expect(res.headers.get("content-length")).toBe(String(body.length));
});

test("400, 415 and 422 leave a line at the default level too, with their code", async () => {
  const cases: [Uint8Array, number, string][] = [
    [new Uint8Array(0), 400, "empty_body"],
    [wavBytes(new Float32Array(4000), 4000), 415, "unsupported_format"], // a 4 kHz WAV
    [new TextEncoder().encode("not audio at all, just text, long enough to sniff"), 422, "invalid_audio"],
  ];
  for (const [bodyIn, status, code] of cases) {
    const { res, body, log } = await send("/v1/transcribe", { method: "POST", body: bodyIn });
    expect(res.status).toBe(status);
    expect(log).toMatchObject({ level: "info", route: "/v1/transcribe", status, code, bytes_out: body.length });
  }
  const nf = await send("/nowhere");
  expect(nf.log).toMatchObject({ level: "info", method: "GET", route: "unmatched", status: 404, code: "not_found" });
});

test("SSE: the line comes at the end of the stream with every byte sent", async () => {
  const { res, body, log } = await send("/v1/transcribe/stream", { method: "POST", body: wav });
  expect(res.status).toBe(200);
  expect(log).toMatchObject({ level: "info", route: "/v1/transcribe/stream", status: 200, bytes_out: body.length, bytes_in: wav.length });
  expect(log.audio_seconds as number).toBeGreaterThan(1);
});

test("a chunked upload (no Content-Length) counts the bytes actually read", async () => {
  const before = logs.length;
  const r = await rawChunkedPost(srv.server.port, "/v1/transcribe", splitBytes(wav, 4096));
  expect(r.status).toBe(200);
  const until = Date.now() + 5000;
  let hit: Record<string, unknown> | undefined;
  while (!(hit = logs.slice(before).find((l) => l.msg === "request" && l.route === "/v1/transcribe")) && Date.now() < until) await Bun.sleep(10);
  expect(hit).toMatchObject({ status: 200, bytes_in: wav.length });
});

test("the OpenAI route logs its transcription too; probes only at debug", async () => {
  const form = new FormData();
  form.append("model", "x");
  form.append("file", new Blob([wav]), "a.wav");
  const { res, log } = await send("/v1/audio/transcriptions", { method: "POST", body: form });
  expect(res.status).toBe(200);
  expect(log).toMatchObject({ level: "info", route: "/v1/audio/transcriptions", status: 200 });
  expect(log.audio_seconds as number).toBeGreaterThan(1);
  expect((await send("/health")).log).toMatchObject({ level: "debug", route: "/health", status: 200 });
});

test("requests the platform refuses before any route (Host 421, Origin 403) leave an access line too", async () => {
  const { rawRequest } = await import("./http-helpers.ts");
  const bad = await rawRequest(srv.server.port, { path: "/v1/models", headers: { host: "evil.example:80", "x-request-id": "acc-host" } });
  expect(bad.status).toBe(421);
  expect(await line("acc-host")).toMatchObject({ level: "info", route: "/v1/models", status: 421, code: "host_not_allowed", bytes_out: Buffer.byteLength(bad.body) });
  const origin = await send("/v1/models", { headers: { origin: "https://evil.example" } });
  expect(origin.res.status).toBe(403);
  expect(origin.log).toMatchObject({ status: 403, code: "origin_denied" });
});
