/**
 * The server platform over real loopback sockets: endpoints, error bodies,
 * security headers, request ids, Origin/Host/rate-limit rules, metrics, drain.
 * Anything needing a transcriber uses the real engine on the tone model.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import pkg from "../../package.json" with { type: "json" };
import { GigasttError } from "../../src/errors.ts";
import type { ServerDeps } from "../../src/server/deps.ts";
import { closeToneTranscriber, type PlatformServer, rawExchange, rawRequest, startPlatform, toneTranscriber, upgradeHeaders } from "./http-helpers.ts";

let s: PlatformServer | null = null;
afterEach(async () => {
  await s?.stop();
  s = null;
});
afterAll(closeToneTranscriber);

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function expectErrorBody(json: unknown, code: string) {
  const body = json as Record<string, unknown>;
  expect(body.code).toBe(code);
  expect(typeof body.error).toBe("string");
  expect(body.message).toBe(body.error as string);
  expect(Object.keys(body).sort()).toEqual(body.retry_after_ms === undefined ? ["code", "error", "message"] : ["code", "error", "message", "retry_after_ms"]);
}

function expectSecurityHeaders(h: Headers | Record<string, string>) {
  const get = (k: string) => (h instanceof Headers ? h.get(k) : (h[k] ?? null));
  expect(get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(get("x-content-type-options")).toBe("nosniff");
  expect(get("x-frame-options")).toBe("DENY");
  expect(get("referrer-policy")).toBe("no-referrer");
  expect(get("cross-origin-opener-policy")).toBe("same-origin");
  expect(get("strict-transport-security")).toBeNull();
}

describe("endpoints", () => {
  test("GET /health: {status, model, variant, version, punctuation, itn} (model \"loading\" before the model), security headers, minted UUIDv7 request id", async () => {
    s = await startPlatform();
    let r = await fetch(`${s.url}/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: "ok", model: "loading", version: pkg.version, punctuation: false, itn: false });
    s.server.setTranscriber(await toneTranscriber());
    r = await fetch(`${s.url}/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: "ok", model: "gigaam-v3-e2e-rnnt", variant: "e2e_rnnt", version: pkg.version, punctuation: false, itn: false });
    expectSecurityHeaders(r.headers);
    expect(r.headers.get("x-request-id")).toMatch(UUID_V7);
  });

  test("GET /ready: 503 initializing while loading, 200 once loaded, 503 pool_exhausted with every slot busy (as Rust), 503 shutting_down while draining", async () => {
    s = await startPlatform(["--pool-size", "2"]);
    let r = await fetch(`${s.url}/ready`);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ status: "not_ready", reason: "initializing", pool_available: 2, pool_total: 2 });
    s.server.setTranscriber(await toneTranscriber());
    r = await fetch(`${s.url}/ready`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: "ready", pool_available: 2, pool_total: 2 });
    const slots = [await s.server.deps.admission.acquire(), await s.server.deps.admission.acquire()];
    r = await fetch(`${s.url}/ready`);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ status: "not_ready", reason: "pool_exhausted", pool_available: 0, pool_total: 2 });
    slots.pop()!.release();
    r = await fetch(`${s.url}/ready`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: "ready", pool_available: 1, pool_total: 2 });
    for (const slot of slots) slot.release();
    s.server.lifecycle.startDrain();
    r = await fetch(`${s.url}/ready`);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ status: "not_ready", reason: "shutting_down", pool_available: 0, pool_total: 2 });
  });

  test("GET /v1/models: 503 not_ready before the model, then the capabilities", async () => {
    s = await startPlatform(["--pool-size", "3"]);
    const before = await fetch(`${s.url}/v1/models`);
    expect(before.status).toBe(503);
    expectErrorBody(await before.json(), "not_ready");
    s.server.setTranscriber(await toneTranscriber());
    const r = await fetch(`${s.url}/v1/models`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: "gigaam-v3-e2e-rnnt",
      name: "GigaAM v3 E2E RNN-T",
      variant: "e2e_rnnt",
      version: pkg.version,
      precision: "fp32",
      encoder: "fp32",
      partial_encoder: "fp32",
      vocab_size: 20,
      sample_rate: 16000,
      pool_size: 3,
      pool_available: 3,
      workers: 1,
      supported_formats: ["wav", "mp3", "flac", "ogg", "opus", "webm", "m4a", "mp4", "aac"],
      supported_rates: [8000, 16000, 24000, 44100, 48000],
      punctuation: false,
      itn: false,
      diarization: false,
    });
    expect(body.capabilities).toMatchObject({ rest: true, sse: true, websocket: true, protocol_version: "1.0" });    // OpenAI clients (client.models.list()) read a list of model objects
    expect(body.object).toBe("list");
    expect(body.data).toEqual([{ id: "gigaam-v3-e2e-rnnt", object: "model", created: 0, owned_by: "gigastt" }]);
  });

  test("unknown path → 404 not_found JSON; wrong method → 405 method_not_allowed with Allow", async () => {
    s = await startPlatform();
    const nf = await fetch(`${s.url}/nope`);
    expect(nf.status).toBe(404);
    expectErrorBody(await nf.json(), "not_found");
    expectSecurityHeaders(nf.headers);
    const wm = await fetch(`${s.url}/v1/transcribe`, { method: "GET" });
    expect(wm.status).toBe(405);
    expect(wm.headers.get("allow")).toBe("OPTIONS, POST");
    expectErrorBody(await wm.json(), "method_not_allowed");
    const h = await fetch(`${s.url}/health`, { method: "POST" });
    expect(h.status).toBe(405);
    expect(h.headers.get("allow")).toBe("GET");
  });

  test("OPTIONS preflight: 204 with CORS for an allowed origin, 403 for a denied one, 404 for an unknown path", async () => {
    s = await startPlatform();
    const ok = await fetch(`${s.url}/v1/transcribe`, { method: "OPTIONS", headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(ok.headers.get("access-control-allow-methods")).toBe("GET, POST, OPTIONS");
    expect(ok.headers.get("vary")).toBe("Origin");
    expectSecurityHeaders(ok.headers);
    const denied = await fetch(`${s.url}/v1/transcribe/stream`, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
    expect(denied.status).toBe(403);
    expectErrorBody(await denied.json(), "origin_denied");
    expect((await fetch(`${s.url}/nowhere`, { method: "OPTIONS" })).status).toBe(404);
  });

  test("IPv6 loopback bind: reachable at [::1], Host [::1]:port accepted", async () => {
    s = await startPlatform(["--host", "[::1]"], { transcriber: await toneTranscriber() });
    expect(s.url).toBe(`http://[::1]:${s.port}`);
    const r = await fetch(`${s.url}/v1/models`);
    expect(r.status).toBe(200);
  });

  test("the WS route answers 405 to POST with Allow: GET, OPTIONS", async () => {
    s = await startPlatform();
    const r = await fetch(`${s.url}/v1/ws`, { method: "POST", body: "x" });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, OPTIONS");
  });
});

describe("errors", () => {
  const throwing = (_deps: ServerDeps) =>
    new Elysia()
      .get("/t/plain", () => {
        throw new Error("secret /home/user/model.onnx ORT failure");
      })
      .get("/t/busy", () => {
        throw new GigasttError("timeout", undefined, { details: { retry_after_ms: 2500 } });
      })
      .post("/t/json", ({ body }) => body);

  test("a GigasttError gets its catalogue status, body shape and Retry-After", async () => {
    s = await startPlatform([], { routes: [throwing] });
    const r = await fetch(`${s.url}/t/busy`);
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("3");
    const body = (await r.json()) as Record<string, unknown>;
    expectErrorBody(body, "timeout");
    expect(body).toEqual({ error: "Server busy, try again later", message: "Server busy, try again later", code: "timeout", retry_after_ms: 2500 });
    expectSecurityHeaders(r.headers);
  });

  test("an unknown error is a 500 internal that leaks nothing; the detail is logged with the request id", async () => {
    s = await startPlatform([], { routes: [throwing] });
    const r = await fetch(`${s.url}/t/plain`, { headers: { "x-request-id": "trace-42" } });
    expect(r.status).toBe(500);
    const text = await r.text();
    expect(text).not.toContain("secret");
    expect(text).not.toContain("/home");
    expectErrorBody(JSON.parse(text), "internal");
    const line = s.logs.find((l) => l.msg === "unhandled error");
    expect(line?.request_id).toBe("trace-42");
    expect(String(line?.error)).toContain("secret");
  });

  test("a framework parse error becomes 400 bad_message", async () => {
    s = await startPlatform([], { routes: [throwing] });
    const r = await fetch(`${s.url}/t/json`, { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
    expect(r.status).toBe(400);
    expectErrorBody(await r.json(), "bad_message");
  });

  test("a declared body over --body-limit-bytes → 413 payload_too_large JSON before any route runs", async () => {
    s = await startPlatform(["--body-limit-bytes", "100"]);
    const r = await rawRequest(s.port, { method: "POST", path: "/v1/transcribe", headers: { "content-length": "101" }, body: "x".repeat(101) });
    expect(r.status).toBe(413);
    expectErrorBody(r.json(), "payload_too_large");
  });
});

describe("request id", () => {
  test("routes see the same request id and client IP through deps.context", async () => {
    const probe = (deps: ServerDeps) => new Elysia().get("/t/ctx", ({ request }) => ({ id: deps.context(request).id, ip: deps.context(request).ip }));
    s = await startPlatform([], { routes: [probe] });
    const r = await fetch(`${s.url}/t/ctx`, { headers: { "x-request-id": "same-1" } });
    expect(await r.json()).toEqual({ id: "same-1", ip: "127.0.0.1" });
    const minted = await fetch(`${s.url}/t/ctx`);
    expect(((await minted.json()) as { id: string }).id).toBe(minted.headers.get("x-request-id")!);
  });

  test("a safe incoming id is echoed and on the log line; an unsafe one is replaced", async () => {
    s = await startPlatform();
    const ok = await fetch(`${s.url}/nope`, { headers: { "x-request-id": "client-req_1.2" } });
    expect(ok.headers.get("x-request-id")).toBe("client-req_1.2");
    expect(s.logs.some((l) => l.request_id === "client-req_1.2" && l.msg === "request rejected")).toBe(true);
    const bad = await fetch(`${s.url}/health`, { headers: { "x-request-id": "x".repeat(129) } });
    expect(bad.headers.get("x-request-id")).toMatch(UUID_V7);
    const evil = await rawRequest(s.port, { path: "/health", headers: { "x-request-id": "a<script>" } });
    expect(evil.headers["x-request-id"]).toMatch(UUID_V7);
  });

  test("the WebSocket 101 carries the request id and security headers", async () => {
    s = await startPlatform([], { transcriber: await toneTranscriber() });
    const r = await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders({ "x-request-id": "ws-1" }) });
    expect(r.status).toBe(101);
    expect(r.headers["x-request-id"]).toBe("ws-1");
    expectSecurityHeaders(r.headers);
  });
});

describe("origin allowlist", () => {
  test.each(["/v1/models", "/v1/transcribe", "/v1/transcribe/stream", "/metrics"])("%s: a foreign origin gets 403 origin_denied", async (path) => {
    s = await startPlatform(["--metrics"]);
    const r = await fetch(`${s.url}${path}`, { method: path.startsWith("/v1/transcribe") ? "POST" : "GET", headers: { origin: "http://localhost.evil.com" }, body: path.startsWith("/v1/transcribe") ? "x" : undefined });
    expect(r.status).toBe(403);
    expectErrorBody(await r.json(), "origin_denied");
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("the WebSocket upgrade is refused with 403 for a foreign origin, allowed for loopback", async () => {
    s = await startPlatform([], { transcriber: await toneTranscriber() });
    const denied = await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders({ origin: "https://evil.example" }) });
    expect(denied.status).toBe(403);
    expectErrorBody(denied.json(), "origin_denied");
    const ok = await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders({ origin: "http://127.0.0.1:3000" }) });
    expect(ok.status).toBe(101);
  });

  test("a flood of refused requests (403/421) writes one log line per client per minute, not one per request", async () => {
    s = await startPlatform([]);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await fetch(`${s.url}/v1/models`, { headers: { origin: "https://evil.example" } })).status);
    for (let i = 0; i < 40; i++) statuses.push((await rawRequest(s.port, { path: "/v1/models", headers: { host: "evil.example" } })).status);
    expect(statuses.filter((x) => x === 403).length).toBe(40);
    expect(statuses.filter((x) => x === 421).length).toBe(40);
    const lines = s.logs.filter((l) => l.msg === "request rejected");
    expect(lines.map((l) => l.code).sort()).toEqual(["host_not_allowed", "origin_denied"]);
    // the access lines of the refusals are throttled the same way
    const access = s.logs.filter((l) => l.msg === "request" && (l.status === 403 || l.status === 421));
    expect(access.map((l) => l.status).sort()).toEqual([403, 421]);
  });

  test("an HTTP/1.0 WebSocket upgrade without Host → 400 bad_message (never 500 internal)", async () => {
    s = await startPlatform([], { transcriber: await toneTranscriber() });
    const key = "dGhlIHNhbXBsZSBub25jZQ==";
    const res = await rawExchange(s.port, `GET /v1/ws?sample_rate=16000 HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    expect(res).toStartWith("HTTP/1.1 400 ");
    expect(res).toContain('"code":"bad_message"');
    expect(res.toLowerCase()).toContain("x-content-type-options: nosniff");
    expect(s.logs.filter((l) => l.level === "error")).toEqual([]);
    // other HTTP/1.0 requests without Host still work
    expect(await rawExchange(s.port, "GET /v1/models HTTP/1.0\r\n\r\n")).toStartWith("HTTP/1.1 200 ");
  });

  test("GET /v1/ws without Upgrade → 426 upgrade_required with Upgrade: websocket (not 404)", async () => {
    s = await startPlatform([], { transcriber: await toneTranscriber() });
    const r = await fetch(`${s.url}/v1/ws`);
    expect(r.status).toBe(426);
    expect(r.headers.get("upgrade")).toBe("websocket");
    expectErrorBody(await r.json(), "upgrade_required");
    expectSecurityHeaders(r.headers);
  });

  test("/health and /ready are exempt", async () => {
    s = await startPlatform();
    expect((await fetch(`${s.url}/health`, { headers: { origin: "https://evil.example" } })).status).toBe(200);
    expect((await fetch(`${s.url}/ready`, { headers: { origin: "https://evil.example" } })).status).toBe(503);
  });

  test("Origin: null is a foreign origin (403 on REST and on the WS upgrade) unless --allow-origin null", async () => {
    s = await startPlatform([], { transcriber: await toneTranscriber() });
    const rest = await fetch(`${s.url}/v1/models`, { headers: { origin: "null" } });
    expect(rest.status).toBe(403);
    expectErrorBody(await rest.json(), "origin_denied");
    const ws = await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders({ origin: "null" }) });
    expect(ws.status).toBe(403);
    expectErrorBody(ws.json(), "origin_denied");
    await s.stop();
    s = await startPlatform(["--allow-origin", "null"], { transcriber: await toneTranscriber() });
    const allowed = await fetch(`${s.url}/v1/models`, { headers: { origin: "null" } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("null");
    expect((await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders({ origin: "null" }) })).status).toBe(101);
  });

  test("loopback origins are echoed; listed origins match exactly; no Origin gets no CORS headers", async () => {
    s = await startPlatform(["--allow-origin", "https://app.example.com"], { transcriber: await toneTranscriber() });
    const lo = await fetch(`${s.url}/v1/models`, { headers: { origin: "http://[::1]:8080" } });
    expect(lo.status).toBe(200);
    expect(lo.headers.get("access-control-allow-origin")).toBe("http://[::1]:8080");
    expect(lo.headers.get("access-control-expose-headers")).toBe("X-Request-Id, Retry-After");
    const listed = await fetch(`${s.url}/v1/models`, { headers: { origin: "https://app.example.com" } });
    expect(listed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect((await fetch(`${s.url}/v1/models`, { headers: { origin: "https://app.example.com:8443" } })).status).toBe(403);
    const none = await fetch(`${s.url}/v1/models`);
    expect(none.status).toBe(200);
    expect(none.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("--cors-allow-any answers * for any origin", async () => {
    s = await startPlatform(["--cors-allow-any"], { transcriber: await toneTranscriber() });
    const r = await fetch(`${s.url}/v1/models`, { headers: { origin: "https://anything.example" } });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("Host allowlist (DNS rebinding)", () => {
  test("foreign Host → 421 host_not_allowed on REST and WS; loopback names with the port pass; probes exempt", async () => {
    s = await startPlatform([], { transcriber: await toneTranscriber() });
    const port = s.port;
    const bad = await rawRequest(port, { path: "/v1/models", headers: { host: `rebind.evil.com:${port}` } });
    expect(bad.status).toBe(421);
    expectErrorBody(bad.json(), "host_not_allowed");
    expect((await rawRequest(port, { path: "/v1/ws", headers: upgradeHeaders({ host: "evil.com" }) })).status).toBe(421);
    expect((await rawRequest(port, { path: "/v1/models", headers: { host: `localhost:${port + 1}` } })).status).toBe(421);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "localhost"])
      expect((await rawRequest(port, { path: "/v1/models", headers: { host } })).status).toBe(200);
    expect((await rawRequest(port, { path: "/health", headers: { host: "evil.com" } })).status).toBe(200);
    expect((await rawRequest(port, { path: "/ready", headers: { host: "evil.com" } })).status).toBe(200);
  });

  test("--allow-host extends the list", async () => {
    s = await startPlatform(["--allow-host", "stt.example.com"], { transcriber: await toneTranscriber() });
    expect((await rawRequest(s.port, { path: "/v1/models", headers: { host: "stt.example.com" } })).status).toBe(200);
    expect((await rawRequest(s.port, { path: "/v1/models", headers: { host: "other.example.com" } })).status).toBe(421);
  });
});

describe("rate limit", () => {
  test("the bucket empties → 429 rate_limited with a computed Retry-After; probes are exempt", async () => {
    s = await startPlatform(["--rate-limit-per-minute", "6", "--rate-limit-burst", "2"]); // one token per 10 s
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    const r = await fetch(`${s.url}/nope`);
    expect(r.status).toBe(429);
    const body = (await r.json()) as Record<string, unknown>;
    expectErrorBody(body, "rate_limited");
    expect(body.retry_after_ms as number).toBeGreaterThan(9000);
    expect(body.retry_after_ms as number).toBeLessThanOrEqual(10_000);
    expect(r.headers.get("retry-after")).toBe("10");
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  test("a forged X-Forwarded-For without --trust-proxy does not buy a new bucket", async () => {
    s = await startPlatform(["--rate-limit-per-minute", "1", "--rate-limit-burst", "1"]);
    expect((await rawRequest(s.port, { path: "/nope", headers: { "x-forwarded-for": "1.1.1.1" } })).status).toBe(404);
    expect((await rawRequest(s.port, { path: "/nope", headers: { "x-forwarded-for": "2.2.2.2", "x-real-ip": "3.3.3.3" } })).status).toBe(429);
  });

  test("with --trust-proxy (loopback proxy) each forwarded client has its own bucket; the right-most untrusted hop wins", async () => {
    s = await startPlatform(["--trust-proxy", "--rate-limit-per-minute", "1", "--rate-limit-burst", "1"]);
    expect((await rawRequest(s.port, { path: "/nope", headers: { "x-forwarded-for": "1.1.1.1" } })).status).toBe(404);
    expect((await rawRequest(s.port, { path: "/nope", headers: { "x-forwarded-for": "1.1.1.1" } })).status).toBe(429);
    // a client-supplied left-most entry cannot hide the real (right-most) client
    expect((await rawRequest(s.port, { path: "/nope", headers: { "x-forwarded-for": "9.9.9.9, 1.1.1.1" } })).status).toBe(429);
    expect((await rawRequest(s.port, { path: "/nope", headers: { "x-forwarded-for": "2.2.2.2" } })).status).toBe(404);
  });
});

describe("HSTS", () => {
  test("only behind a trusted proxy that says https", async () => {
    s = await startPlatform(["--trust-proxy"]);
    const https = await rawRequest(s.port, { path: "/health", headers: { "x-forwarded-proto": "https" } });
    expect(https.headers["strict-transport-security"]).toBe("max-age=31536000");
    expect((await rawRequest(s.port, { path: "/health", headers: { "x-forwarded-proto": "http" } })).headers["strict-transport-security"]).toBeUndefined();
    await s.stop();
    s = await startPlatform();
    expect((await rawRequest(s.port, { path: "/health", headers: { "x-forwarded-proto": "https" } })).headers["strict-transport-security"]).toBeUndefined();
  });
});

describe("metrics", () => {
  test("404 metrics_disabled without --metrics", async () => {
    s = await startPlatform();
    const r = await fetch(`${s.url}/metrics`);
    expect(r.status).toBe(404);
    expectErrorBody(await r.json(), "metrics_disabled");
  });

  test("Prometheus text with route templates, rejected requests and errors by code, live pool gauges", async () => {
    s = await startPlatform(["--metrics", "--pool-size", "2"], { transcriber: await toneTranscriber() });
    await fetch(`${s.url}/v1/models`);
    await fetch(`${s.url}/v1/models`, { headers: { origin: "https://evil.example" } });
    await fetch(`${s.url}/some/random/path?x=1`);
    expect((await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders() })).status).toBe(101);
    const slot = await s.server.deps.admission.acquire();
    const r = await fetch(`${s.url}/metrics`);
    slot.release();
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await r.text();
    expect(text).toContain('gigastt_http_requests_total{method="GET",path="/v1/models",status="200"} 1\n');
    expect(text).toContain('gigastt_http_requests_total{method="GET",path="/v1/models",status="403"} 1\n');
    expect(text).toContain('gigastt_http_requests_total{method="GET",path="unmatched",status="404"} 1\n');
    expect(text).not.toContain("/some/random/path");
    expect(text).toContain('gigastt_http_requests_total{method="GET",path="/v1/ws",status="101"} 1\n');
    expect(text).toContain('gigastt_errors_total{code="origin_denied"} 1\n');
    expect(text).toContain('gigastt_errors_total{code="not_found"} 1\n');
    expect(text).toContain("gigastt_pool_in_use 1\n");
    expect(text).toContain("gigastt_pool_available 1\n");
    expect(text).toContain("gigastt_pool_size 2\n");
    expect(text).toContain("# TYPE gigastt_inference_duration_seconds histogram\n");
    expect(text).toContain("# TYPE gigastt_ws_active_connections gauge\n");
  });
});

describe("drain (in-process)", () => {
  test("new requests get 503 shutting_down, /health stays up, subscribers run, tracked work finishes in the window", async () => {
    s = await startPlatform(["--shutdown-drain-secs", "5"], { transcriber: await toneTranscriber() });
    const { lifecycle } = s.server.deps;
    let flushed = 0;
    lifecycle.onDrain(() => flushed++);
    let finishWork!: () => void;
    lifecycle.track(new Promise<void>((r) => (finishWork = r)));
    const draining = s.server.drain();
    expect(flushed).toBe(1);
    const r = await rawRequest(s.port, { path: "/v1/models" });
    expect(r.status).toBe(503);
    expectErrorBody(r.json(), "shutting_down");
    const ws = await rawRequest(s.port, { path: "/v1/ws", headers: upgradeHeaders() });
    expect(ws.status).toBe(503);
    expect((await rawRequest(s.port, { path: "/health" })).status).toBe(200);
    await expect(s.server.deps.admission.acquire()).rejects.toMatchObject({ code: "pool_closed" });
    finishWork();
    const result = await draining;
    expect(result.clean).toBe(true);
    expect(result.seconds).toBeLessThan(5);
    await expect(rawRequest(s.port, { path: "/health" })).rejects.toThrow();
  });

  test("idle keep-alive and half-sent requests do not hold the drain; a plain request in flight still finishes", async () => {
    let answer!: () => void;
    const slow = new Promise<void>((r) => (answer = r));
    const slowRoute = () => new Elysia().get("/v1/slow", async () => (await slow, "done"));
    s = await startPlatform(["--shutdown-drain-secs", "5"], { routes: [slowRoute] });
    const port = s.port;
    const { connect } = await import("node:net");
    const open = (first: string) =>
      new Promise<{ closed: Promise<void> }>((resolve) => {
        const sock = connect(port, "127.0.0.1", () => {
          sock.write(first);
          resolve({ closed: new Promise<void>((r) => sock.on("close", () => r())) });
        });
        sock.on("data", () => {});
        sock.on("error", () => {});
      });
    // one keep-alive connection that already got its answer and now idles, one that never finishes its head
    const idle = await open(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    const half = await open(`GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    const inFlight = fetch(`${s.url}/v1/slow`).then((r) => r.text());
    await Bun.sleep(100);
    const t0 = performance.now();
    const draining = s.server.drain();
    await Bun.sleep(200);
    answer();
    expect(await inFlight).toBe("done");
    const result = await draining;
    expect(result.clean).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1500);
    await idle.closed;
    await half.closed;
    expect(s.logs.some((l) => l.msg === "drain window expired: closing remaining connections")).toBe(false);
  });

  test("past the window the remaining work is abandoned and sockets are closed", async () => {
    s = await startPlatform(["--shutdown-drain-secs", "1"]);
    s.server.deps.lifecycle.track(new Promise(() => {}));
    const result = await s.server.drain();
    expect(result.clean).toBe(false);
    expect(result.seconds).toBeGreaterThanOrEqual(0.9);
    expect(result.seconds).toBeLessThan(3);
    expect(s.logs.some((l) => l.msg === "drain window expired: closing remaining connections")).toBe(true);
  });
});

describe("reload", () => {
  test("limits change live; the limiter can be turned on and off; a raised frame cap waits for a restart", async () => {
    s = await startPlatform(["--rate-limit-burst", "1"]);
    const base = s.server.deps.config;
    const on = s.server.reload({ ...base, rateLimitPerMinute: 1, idleTimeoutSecs: 7, wsFrameMaxBytes: base.wsFrameMaxBytes * 2 });
    expect(on).toEqual({ rateLimitPerMinute: { from: 0, to: 1 }, idleTimeoutSecs: { from: 300, to: 7 } });
    expect(s.server.deps.config.idleTimeoutSecs).toBe(7);
    expect(s.server.deps.config.wsFrameMaxBytes).toBe(base.wsFrameMaxBytes);
    expect(Object.isFrozen(s.server.deps.config)).toBe(true);
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/nope`)).status).toBe(429);
    s.server.reload({ ...s.server.deps.config, rateLimitPerMinute: 0 });
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
  });
});
