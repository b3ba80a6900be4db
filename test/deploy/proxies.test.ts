/**
 * Two `gigastt serve` replicas (tone model) behind the shipped nginx recipe
 * and, at the same time, behind the shipped Caddyfile — both rendered only
 * with loopback ports (test/deploy/harness.ts). Through each proxy: REST, SSE
 * and WebSocket give the exact phrase; a client-forged X-Forwarded-For does
 * not pick the rate-limit bucket (the replicas trust the proxy via
 * `--trust-proxy`); the public name passes the Host allowlist via
 * `--allow-host`; and a rolling restart — SIGTERM one replica while streams
 * run — loses nothing but the documented 503s of the drain window.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeToneModelDir, phraseToAudio, piecesToText, wavBytes } from "../helpers/tone.ts";
import { finalText, parseSse, pcm16, splitBytes, WsClient } from "../server/streaming-helpers.ts";
import { freePorts, killAll, type NginxProxy, type Proxy, PUBLIC_NAME, Replica, requireTool, sleep, startCaddy, startNginx, until } from "./harness.ts";

const TLS = { rejectUnauthorized: false };
const PHRASE = "привет мир, как дела?";
const AUDIO = phraseToAudio(PHRASE);
const TEXT = piecesToText(AUDIO.pieces);
const WAV = wavBytes(AUDIO.samples);
const PCM_FRAMES = splitBytes(pcm16(AUDIO.samples), 6400); // 200 ms frames
const DRAIN_SECS = 10;

let replicas: [Replica, Replica];
let configFile = "";
let nginx: NginxProxy;
let caddy: Proxy;
let seq = 0;
const rid = (tag: string) => `${tag}-${++seq}`;

beforeAll(async () => {
  for (const tool of ["nginx", "caddy", "promtool", "openssl"]) requireTool(tool);
  const modelDir = makeToneModelDir();
  const dir = mkdtempSync(join(tmpdir(), "gigastt-deploy-"));
  configFile = join(dir, "gigastt.toml");
  writeFileSync(configFile, "rate_limit_per_minute = 0\n");
  const env = { PATH: process.env.PATH ?? "", HOME: mkdtempSync(join(tmpdir(), "gigastt-home-")), GIGASTT_OFFLINE: "1", NO_COLOR: "1" };
  // the proxies connect from 127.0.0.1: bare --trust-proxy trusts loopback, as a replica would trust its proxy's address
  const args = ["--model-dir", modelDir, "--workers", "1", "--pool-size", "4", "--trust-proxy", "--allow-host", PUBLIC_NAME, "--metrics", "--log-level", "debug", "--log-format", "json", "--shutdown-drain-secs", String(DRAIN_SECS), "--config", configFile];
  const [pa, pb, nginxHttps, nginxHttp, caddyHttps, caddyHttp] = freePorts(6) as [number, number, number, number, number, number];
  replicas = [new Replica("replica-a", pa, args, env), new Replica("replica-b", pb, args, env)];
  await Promise.all(replicas.map((r) => r.start()));
  [nginx, caddy] = await Promise.all([startNginx([pa, pb], [nginxHttps, nginxHttp]), startCaddy([pa, pb], [caddyHttps, caddyHttp])]);
}, 60_000);

afterAll(async () => {
  await killAll();
});

// ---- clients through a proxy ---------------------------------------------------------

function headers(id: string, extra: Record<string, string> = {}): Record<string, string> {
  return { host: PUBLIC_NAME, "x-request-id": id, ...extra };
}

async function rest(proxy: Proxy, id: string, extra: Record<string, string> = {}): Promise<{ status: number; text?: string; code?: string; res: Response }> {
  const res = await fetch(`${proxy.url}/v1/transcribe`, { method: "POST", body: WAV, headers: headers(id, extra), tls: TLS } as RequestInit);
  const body = (await res.json()) as { text?: string; code?: string };
  return { status: res.status, text: body.text, code: body.code, res };
}

async function sse(proxy: Proxy, id: string): Promise<{ status: number; text?: string; code?: string }> {
  const res = await fetch(`${proxy.url}/v1/transcribe/stream`, { method: "POST", body: WAV, headers: headers(id), tls: TLS } as RequestInit);
  if (res.status !== 200) return { status: res.status, code: ((await res.json()) as { code: string }).code };
  const { events } = parseSse(await res.text());
  const done = events.find((e) => e.type === "done");
  expect(finalText(events)).toBe(TEXT);
  return { status: 200, text: done?.text as string | undefined };
}

function openWs(proxy: Proxy, id: string): WsClient {
  return new WsClient(`${proxy.wsUrl}?sample_rate=16000`, headers(id), { tls: TLS });
}

/** a whole session: ready → frames → stop → finals, close; or the failure to open */
async function wsSession(proxy: Proxy, id: string): Promise<{ ok: true; text: string; close: number } | { ok: false }> {
  const c = openWs(proxy, id);
  try {
    await c.opened;
  } catch {
    return { ok: false };
  }
  await c.next("ready");
  for (const f of PCM_FRAMES) c.send(f);
  c.json({ type: "stop" });
  const close = await Promise.race([c.closed, sleep(10_000).then(() => ({ code: -1, reason: "no close within 10 s" }))]);
  return { ok: true, text: finalText(c.messages), close: close.code };
}

/** a POST whose body is half sent now and finished by `finish()` */
function slowUpload(proxy: Proxy, id: string): { finish(): void; response: Promise<Response> } {
  let push!: (b: Uint8Array | null) => void;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      push = (b) => (b ? c.enqueue(b) : c.close());
    },
  });
  const half = WAV.length >> 1;
  push(WAV.subarray(0, half));
  const response = fetch(`${proxy.url}/v1/transcribe`, { method: "POST", body, duplex: "half", headers: headers(id), tls: TLS } as RequestInit);
  return {
    finish() {
      push(WAV.subarray(half));
      push(null);
    },
    response,
  };
}

// ---- the suites -----------------------------------------------------------------------

describe.each([
  ["nginx", () => nginx, 0],
  ["caddy", () => caddy, 1],
] as const)("behind %s", (_name, proxyOf, victimIndex) => {
  test("REST, SSE and WebSocket through the proxy give the exact phrase, on both replicas", async () => {
    const proxy = proxyOf();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const id = rid(`${proxy.name}-rest`);
      ids.push(id);
      const r = await rest(proxy, id);
      expect(r.status).toBe(200);
      expect(r.text).toBe(TEXT);
      // the proxy said X-Forwarded-Proto: https and the replica trusts it
      expect(r.res.headers.get("strict-transport-security")).toContain("max-age=");
    }
    for (let i = 0; i < 2; i++) {
      const id = rid(`${proxy.name}-sse`);
      ids.push(id);
      const r = await sse(proxy, id);
      expect(r).toEqual({ status: 200, text: TEXT });
    }
    for (let i = 0; i < 2; i++) {
      const id = rid(`${proxy.name}-ws`);
      ids.push(id);
      expect(await wsSession(proxy, id)).toEqual({ ok: true, text: TEXT, close: 1000 });
    }
    // round robin: each replica served one of every pair
    await until("request log lines", () => ids.every((id) => replicas.some((r) => r.served(id))), 3_000);
    for (const r of replicas) expect(ids.filter((id) => r.served(id)).length).toBe(3);
  }, 30_000);

  test("the public name passes the Host allowlist (--allow-host); others do not", async () => {
    const proxy = proxyOf();
    const ok = await fetch(`${proxy.url}/v1/models`, { headers: headers(rid("host")), tls: TLS } as RequestInit);
    expect(ok.status).toBe(200);
    // the allowlist is on: without --allow-host the replica refuses that name
    const direct = await fetch(`${replicas[0].url}/v1/models`, { headers: { host: "evil.example.com" } });
    expect(direct.status).toBe(421);
    expect(((await direct.json()) as { code: string }).code).toBe("host_not_allowed");
    if (proxy.name === "nginx") {
      // nginx's only TLS server also receives other names and forwards them: the replica refuses them
      const other = await fetch(`${proxy.url}/v1/models`, { headers: { host: "evil.example.com" }, tls: TLS } as RequestInit);
      expect(other.status).toBe(421);
    }
  });

  test("/health answers through the proxy; /metrics is not public", async () => {
    const proxy = proxyOf();
    const health = await fetch(`${proxy.url}/health`, { headers: headers(rid("health")), tls: TLS } as RequestInit);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe("ok");
    const metrics = await fetch(`${proxy.url}/metrics`, { headers: headers(rid("metrics")), tls: TLS } as RequestInit);
    expect(metrics.status).toBe(404);
    expect(await metrics.text()).not.toContain("gigastt_");
  });

  test("a client-forged X-Forwarded-For does not change the rate-limit bucket", async () => {
    const proxy = proxyOf();
    writeFileSync(configFile, "rate_limit_per_minute = 1\nrate_limit_burst = 3\n");
    await Promise.all(replicas.map((r) => r.reload())); // a fresh limiter on each
    try {
      const statuses: number[] = [];
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const id = rid(`${proxy.name}-xff`);
        ids.push(id);
        const forged = `203.0.113.${i + 1}`;
        const r = await fetch(`${proxy.url}/v1/models`, { headers: headers(id, { "x-forwarded-for": forged, "x-real-ip": forged }), tls: TLS } as RequestInit);
        await r.body?.cancel();
        statuses.push(r.status);
      }
      // one bucket per replica, keyed on the proxy's address: 3 each, then 429
      expect(statuses.filter((s) => s === 200).length).toBe(6);
      expect(statuses.filter((s) => s === 429).length).toBe(2);
      await until("request log lines", () => ids.every((id) => replicas.some((r) => r.served(id))), 3_000);
      for (const id of ids) {
        const line = replicas.map((r) => r.served(id)).find(Boolean)!;
        expect(Replica.client(line)).toBe("127.0.0.1");
      }
    } finally {
      writeFileSync(configFile, "rate_limit_per_minute = 0\n");
      await Promise.all(replicas.map((r) => r.reload()));
    }
  });

  test("rolling restart: SIGTERM one replica while streams run — only the drain window's documented 503s", async () => {
    const proxy = proxyOf();
    const victim = replicas[victimIndex];
    const other = replicas[1 - victimIndex]!;

    // 1. two WebSocket sessions with the whole phrase sent (no stop yet) and two half-sent uploads
    const streams: WsClient[] = [];
    for (let i = 0; i < 2; i++) {
      const c = openWs(proxy, rid(`${proxy.name}-roll-ws`));
      await c.opened;
      await c.next("ready");
      for (const f of PCM_FRAMES) c.send(f);
      streams.push(c);
    }
    const uploads = [0, 1].map(() => slowUpload(proxy, rid(`${proxy.name}-roll-upload`)));
    // half-sent uploads are admitted only if the proxy streams request bodies (proxy_request_buffering off)
    await until("4 sessions admitted", async () => (await victim.metric("gigastt_pool_in_use")) + (await other.metric("gigastt_pool_in_use")) === 4, 5_000);
    const victimWs = await victim.metric("gigastt_ws_active_connections");
    const victimUploads = (await victim.metric("gigastt_pool_in_use")) - victimWs;
    expect(victimWs).toBeGreaterThanOrEqual(1);
    expect(victimUploads).toBeGreaterThanOrEqual(1);

    // 2. SIGTERM: its WebSocket clients get their final and 1001; the others keep streaming
    victim.proc.kill("SIGTERM");
    await victim.waitFor((l) => l.msg === "draining");
    const isClosed = (c: WsClient) => c.socket.readyState === WebSocket.CLOSED;
    await until("the draining replica's WebSocket clients to close", () => streams.filter(isClosed).length >= victimWs, 4_000, 20);
    await sleep(200); // no other stream closes
    const closes = await Promise.all(streams.map((c) => (isClosed(c) ? c.closed : null)));
    expect(closes.filter((c) => c !== null).length).toBe(victimWs);
    for (const [i, c] of streams.entries()) {
      if (closes[i] === null) continue;
      expect(closes[i]!.code).toBe(1001);
      expect(finalText(c.messages)).toBe(TEXT);
    }

    // 3. new sessions and uploads during the drain (the victim is held open by its upload in flight)
    type Outcome = { kind: string; id: string; ok: boolean; status?: number; code?: string };
    const outcomes: Outcome[] = [];
    // pairs: round robin sends one of each pair to the other replica even when nothing marks the
    // draining one failed
    for (const kind of ["rest", "rest", "sse", "sse", "ws", "ws", "rest", "sse"]) {
      const id = rid(`${proxy.name}-drain-${kind}`);
      if (kind === "rest") {
        const r = await rest(proxy, id);
        if (r.status === 200) expect(r.text).toBe(TEXT);
        outcomes.push({ kind, id, ok: r.status === 200, status: r.status, code: r.code });
      } else if (kind === "sse") {
        const r = await sse(proxy, id);
        if (r.status === 200) expect(r.text).toBe(TEXT);
        outcomes.push({ kind, id, ok: r.status === 200, status: r.status, code: r.code });
      } else {
        const r = await wsSession(proxy, id);
        if (r.ok) expect(r).toEqual({ ok: true, text: TEXT, close: 1000 });
        outcomes.push({ kind, id, ok: r.ok });
      }
    }
    expect(victim.running).toBe(true); // all of it happened inside the drain window
    await until("request log lines", () => outcomes.every((o) => other.served(o.id) || victim.rejected(o.id)), 3_000);
    for (const o of outcomes) {
      if (o.ok) {
        // served by the other replica
        expect(other.served(o.id)?.status).toBe(o.kind === "ws" ? 101 : 200);
      } else {
        // the documented answer of a draining replica: 503 shutting_down
        expect(victim.rejected(o.id)?.code).toBe("shutting_down");
        if (o.kind !== "ws") expect({ status: o.status, code: o.code }).toEqual({ status: 503, code: "shutting_down" });
      }
    }
    const failed = outcomes.filter((o) => !o.ok);
    if (proxy.name === "caddy") {
      // a 503 (or the active check on /ready) takes the draining replica out: at most one request sees it
      expect(failed.length, JSON.stringify(outcomes)).toBeLessThanOrEqual(1);
    } else {
      // nginx retries GETs (WebSocket upgrades) on the other replica; an upload (POST, streamed
      // unbuffered) that round robin sends to the draining replica gets its 503, and since nginx
      // did not retry it, it does not count as a failure of that replica either
      expect(failed.filter((o) => o.kind === "ws"), JSON.stringify(outcomes)).toEqual([]);
    }
    for (const kind of ["rest", "sse", "ws"]) expect(outcomes.some((o) => o.kind === kind && o.ok)).toBe(true);

    // 4. the uploads in flight finish with their transcript; the victim exits 0, drained cleanly
    for (const u of uploads) u.finish();
    for (const u of uploads) {
      const res = await u.response;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { text: string }).text).toBe(TEXT);
    }
    expect(await victim.proc.exited).toBe(0);
    expect(victim.lines.some((l) => l.msg === "drained" && l.clean === true)).toBe(true);

    // 5. the surviving streams end normally
    for (const [i, c] of streams.entries()) {
      if (closes[i] !== null) continue;
      c.json({ type: "stop" });
      expect((await c.closed).code).toBe(1000);
      expect(finalText(c.messages)).toBe(TEXT);
    }

    // 6. with the victim gone, every request succeeds on the other replica
    for (let i = 0; i < 2; i++) {
      const r = await rest(proxy, rid(`${proxy.name}-gone`));
      expect(r.status).toBe(200);
      expect(r.text).toBe(TEXT);
    }

    // 7. back on the same port: once ready, both take traffic again, and nothing fails
    await victim.start();
    const served = new Set<string>();
    const deadline = Date.now() + 20_000;
    while (served.size < 2) {
      if (Date.now() > deadline) throw new Error(`only ${[...served].join(", ")} took traffic within 20 s of the restart`);
      const id = rid(`${proxy.name}-back`);
      const r = await rest(proxy, id);
      expect(r.status).toBe(200);
      expect(r.text).toBe(TEXT);
      await until("request log line", () => victim.served(id) ?? other.served(id), 3_000);
      served.add(victim.served(id) ? victim.name : other.name);
      await sleep(250);
    }
  }, 60_000);
});

test("nginx: a replica marked `down` and nginx reloaded before its SIGTERM drains with no request failing", async () => {
  const [victim, other] = [replicas[1], replicas[0]];
  const streams: WsClient[] = [];
  for (let i = 0; i < 2; i++) {
    const c = openWs(nginx, rid("down-ws"));
    await c.opened;
    await c.next("ready");
    for (const f of PCM_FRAMES) c.send(f);
    streams.push(c);
  }
  expect(await victim.metric("gigastt_ws_active_connections")).toBe(1);
  await nginx.setDown(victim.port);
  // new work goes to the other replica only; the open sessions stay where they are
  victim.proc.kill("SIGTERM");
  await victim.waitFor((l) => l.msg === "draining");
  const ids: string[] = [];
  for (const kind of ["rest", "sse", "ws", "rest", "sse", "ws"]) {
    const id = rid(`down-${kind}`);
    ids.push(id);
    if (kind === "rest") expect(await rest(nginx, id)).toMatchObject({ status: 200, text: TEXT });
    else if (kind === "sse") expect(await sse(nginx, id)).toEqual({ status: 200, text: TEXT });
    else expect(await wsSession(nginx, id)).toEqual({ ok: true, text: TEXT, close: 1000 });
  }
  await until("request log lines", () => ids.every((id) => other.served(id)), 3_000);
  expect(ids.filter((id) => victim.rejected(id))).toEqual([]);
  // the draining replica's session got its final and 1001, the other one goes on
  const closes = await Promise.all(streams.map((c) => Promise.race([c.closed, sleep(3_000).then(() => null)])));
  expect(closes.map((c) => c?.code ?? null).sort()).toEqual([1001, null]);
  for (const [i, c] of streams.entries()) {
    if (closes[i] === null) {
      c.json({ type: "stop" });
      expect((await c.closed).code).toBe(1000);
    }
    expect(finalText(c.messages)).toBe(TEXT);
  }
  expect(await victim.proc.exited).toBe(0);
  await victim.start();
  await nginx.setDown(null);
  const back = rid("down-back");
  expect(await rest(nginx, back)).toMatchObject({ status: 200, text: TEXT });
  const again = rid("down-back");
  expect(await rest(nginx, again)).toMatchObject({ status: 200, text: TEXT });
  await until("request log lines", () => [back, again].every((id) => victim.served(id) || other.served(id)), 3_000);
  expect([back, again].filter((id) => victim.served(id)).length).toBe(1);
}, 60_000);
