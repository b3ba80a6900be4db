/**
 * API keys end to end: every API route needs `Authorization: Bearer KEY`, the
 * probes and the page stay open, WebSockets take the header or a sub-protocol
 * entry, keys rotate on reload, and no key reaches the log.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { keyFingerprint } from "../../src/server/auth.ts";
import { parseServeConfig } from "../../src/server/config.ts";
import { closeToneTranscriber, rawRequest, startPlatform, toneTranscriber, upgradeHeaders, type PlatformServer } from "./http-helpers.ts";
import { pcm16, toneAt, WsClient } from "./streaming-helpers.ts";
import { wavBytes, phraseToAudio } from "../helpers/tone.ts";

const KEY = "test-key-0123456789";
const OTHER = "other-key-9876543210";
let s: PlatformServer;

beforeAll(async () => {
  s = await startPlatform(["--api-key", KEY, "--api-key", OTHER, "--metrics"], { transcriber: await toneTranscriber() });
});
afterAll(async () => {
  await s.stop();
  await closeToneTranscriber();
});

const wav = () => wavBytes(phraseToAudio("привет мир").samples, 16000);
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

describe("HTTP routes", () => {
  const routes: [string, string, boolean][] = [
    ["GET", "/v1/models", false],
    ["GET", "/metrics", false],
    ["POST", "/v1/transcribe", true],
    ["POST", "/v1/transcribe/stream", true],
  ];
  test.each(routes)("%s %s: 401 unauthorized + WWW-Authenticate without a key or with a wrong one; 200 with a listed one", async (method, path, body) => {
    for (const headers of [{}, bearer("wrong-key-000000"), { authorization: `Basic ${btoa(`u:${KEY}`)}` }]) {
      const r = await fetch(`${s.url}${path}`, { method, headers, ...(body ? { body: wav() } : {}) });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toStartWith("Bearer");
      expect(await r.json()).toMatchObject({ code: "unauthorized" });
    }
    for (const k of [KEY, OTHER]) {
      const r = await fetch(`${s.url}${path}`, { method, headers: bearer(k), ...(body ? { body: wav() } : {}) });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
  });

  test("the OpenAI route answers 401 in OpenAI's error shape", async () => {
    const form = new FormData();
    form.append("model", "gigaam-v3-e2e-rnnt");
    form.append("file", new Blob([wav()]), "a.wav");
    const r = await fetch(`${s.url}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toStartWith("Bearer");
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    const form2 = new FormData();
    form2.append("model", "gigaam-v3-e2e-rnnt");
    form2.append("file", new Blob([wav()]), "a.wav");
    const ok = await fetch(`${s.url}/v1/audio/transcriptions`, { method: "POST", body: form2, headers: bearer(KEY) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { text: string }).text).toBe("привет мир");
  });

  test("/health, /ready and the page stay open; a CORS preflight needs no key", async () => {
    for (const p of ["/health", "/ready"]) expect((await fetch(`${s.url}${p}`)).status).toBe(200);
    expect((await fetch(`${s.url}/`, { headers: { accept: "text/html" } })).status).toBe(200);
    const pre = await fetch(`${s.url}/v1/transcribe`, { method: "OPTIONS", headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(204);
  });
});

describe("WebSocket", () => {
  test("the upgrade is refused with 401 without a key", async () => {
    const r = await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders() });
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toStartWith("Bearer");
    const bad = await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders({ "sec-websocket-protocol": "gigastt, gigastt-key.wrong-key-000000" }) });
    expect(bad.status).toBe(401);
  });

  test("the Authorization header opens a session", async () => {
    const c = new WsClient(`${s.url.replace("http", "ws")}/v1/ws?sample_rate=16000`, bearer(KEY));
    await c.opened;
    await c.next("ready");
    c.socket.send(pcm16(toneAt("привет", 16000)));
    c.socket.send(JSON.stringify({ type: "stop" }));
    const f = await c.next("final");
    expect(f.text).toBe("привет");
    await c.closed;
  });

  test("a browser's sub-protocol entry gigastt-key.KEY opens a session, answered with `gigastt` (never the key)", async () => {
    const raw = await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders({ "sec-websocket-protocol": `gigastt, gigastt-key.${KEY}` }) });
    expect(raw.status).toBe(101);
    expect(raw.headers["sec-websocket-protocol"]).toBe("gigastt");
    const ws = new WebSocket(`${s.url.replace("http", "ws")}/v1/ws`, ["gigastt", `gigastt-key.${KEY}`]);
    const first = await new Promise<string>((resolve, reject) => {
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("ws error"));
    });
    expect(ws.protocol).toBe("gigastt");
    expect(JSON.parse(first).type).toBe("ready");
    ws.close();
  });
});

describe("rotation and logs", () => {
  let own: PlatformServer | null = null;
  afterEach(async () => {
    await own?.stop();
    own = null;
  });

  test("reload() with a re-read key file swaps the keys (SIGHUP); the log shows only short hashes", async () => {
    let file = "first-key-00000001\n";
    const read = () => file;
    own = await startPlatform(["--api-key-file", "/keys"], { transcriber: await toneTranscriber(), readFile: read });
    expect((await fetch(`${own.url}/v1/models`, { headers: bearer("first-key-00000001") })).status).toBe(200);
    file = "# rotated\nsecond-key-0000002\n";
    own.server.reload(parseServeConfig(["--port", "0", "--api-key-file", "/keys"], {}, { isTTY: false, cpus: 1, readFile: read }));
    expect((await fetch(`${own.url}/v1/models`, { headers: bearer("first-key-00000001") })).status).toBe(401);
    expect((await fetch(`${own.url}/v1/models`, { headers: bearer("second-key-0000002") })).status).toBe(200);
    const text = JSON.stringify(own.logs);
    expect(text).not.toContain("first-key-00000001");
    expect(text).not.toContain("second-key-0000002");
    expect(own.logs.some((l) => l.msg === "api key accepted" && l.key === keyFingerprint("second-key-0000002"))).toBe(true);
    expect(own.logs.some((l) => l.msg === "api keys reloaded" && l.keys === 1)).toBe(true);
  });

  test("without keys nothing asks for one", async () => {
    own = await startPlatform([], { transcriber: await toneTranscriber() });
    expect((await fetch(`${own.url}/v1/models`)).status).toBe(200);
  });
});
