/**
 * POST /v1/admin/reload through a real socket: the swap, a WebSocket session
 * that started on the old model finishing on it, 409 for a concurrent reload,
 * a failed load leaving the old model serving, loopback-only, API keys.
 *
 * Two tone models with different vocabularies tell the models apart: the same
 * tones read "привет мир" on the old one and "ПРИВЕТ МИР" on the new one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { E2E_RNNT_HEAD } from "../../src/model/head.ts";
import { forwardedFor, reloadAllowed } from "../../src/server/routes/admin.ts";
import type { ModelLoader } from "../../src/server/reload.ts";
import { DEFAULT_TONE_PIECES } from "../helpers/tone.ts";
import { finalText, makeToneModelDir, pcm16, phraseToAudio, splitBytes, startToneServer, type TestServer, WsClient, wavBytes } from "./streaming-helpers.ts";

const UPPER = DEFAULT_TONE_PIECES.map((p) => p.toUpperCase());
const PHRASE = "привет мир";
const wav = () => wavBytes(phraseToAudio(PHRASE).samples);

/** a loader handing out fresh Transcribers of `pieces` (each closed by the server once retired) */
function loaderOf(pieces: readonly string[], made: Transcriber[], gate?: Promise<void>): ModelLoader {
  return async () => {
    await gate;
    const t = await Transcriber.load({ modelDir: makeToneModelDir(pieces), workers: 1 });
    made.push(t);
    return { transcriber: t, head: E2E_RNNT_HEAD };
  };
}

async function transcribeText(url: string): Promise<string> {
  const r = await fetch(`${url}/v1/transcribe?format=text`, { method: "POST", body: wav() });
  expect(r.status).toBe(200);
  return (await r.text()).trim();
}

const reload = (url: string, query = "", headers: Record<string, string> = {}) => fetch(`${url}/v1/admin/reload${query}`, { method: "POST", headers });

let boot: Transcriber;
let srv: TestServer | null = null;
const made: Transcriber[] = [];

beforeAll(async () => {
  boot = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
});
afterEach(async () => {
  await srv?.server.closeModels();
  await srv?.stop();
  srv = null;
  for (const t of made.splice(0)) await t.close();
});
afterAll(async () => {
  await boot.close();
});

describe("POST /v1/admin/reload", () => {
  test("swaps the model: {reloaded, variant, encoder}; new requests run on the new model", async () => {
    srv = await startToneServer([], {}, boot);
    srv.server.setModelLoader(loaderOf(UPPER, made));
    expect(await transcribeText(srv.url)).toBe(PHRASE);
    const r = await reload(srv.url);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ reloaded: true, variant: "e2e_rnnt", encoder: "fp32" });
    expect(await transcribeText(srv.url)).toBe(PHRASE.toUpperCase());
    const health = (await (await fetch(`${srv.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "ok", model: "gigaam-v3-e2e-rnnt", variant: "e2e_rnnt" });
  });

  test("a WebSocket session open across the reload gets its final from the old model; the old pool closes after it", async () => {
    const old = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
    srv = await startToneServer([], {}, old);
    srv.server.setTranscriber(old, { owned: true });
    srv.server.setModelLoader(loaderOf(UPPER, made));
    const c = await WsClient.open(srv.ws.replace("/v1/ws", "/v1/ws?sample_rate=16000"));
    await c.next("ready");
    const frames = splitBytes(pcm16(phraseToAudio(PHRASE, { tailSec: 0.05 }).samples), 3200);
    const half = Math.floor(frames.length / 2);
    for (const f of frames.slice(0, half)) c.send(f);
    const r = await reload(srv.url);
    expect(r.status).toBe(200);
    // new work goes to the new model while the session still runs on the old one
    expect(await transcribeText(srv.url)).toBe(PHRASE.toUpperCase());
    expect(old.available).toBe(true);
    for (const f of frames.slice(half)) c.send(f);
    c.json({ type: "stop" });
    const closed = await c.closed;
    expect(closed.code).toBe(1000);
    expect(finalText(c.messages)).toBe(PHRASE);
    // the retired model's Workers are closed once its last session ended
    const deadline = Date.now() + 10_000;
    while (old.available && Date.now() < deadline) await Bun.sleep(20);
    expect(old.available).toBe(false);
  });

  test("a second reload while one runs → 409 reload_in_progress; the first completes", async () => {
    srv = await startToneServer([], {}, boot);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    srv.server.setModelLoader(loaderOf(UPPER, made, gate));
    const first = reload(srv.url);
    await Bun.sleep(50);
    const second = await reload(srv.url);
    expect(second.status).toBe(409);
    expect(((await second.json()) as { code: string }).code).toBe("reload_in_progress");
    open();
    expect((await first).status).toBe(200);
    expect(await transcribeText(srv.url)).toBe(PHRASE.toUpperCase());
  });

  test("a failed load → 503 reload_failed; the old model keeps serving; a later reload works", async () => {
    srv = await startToneServer([], {}, boot);
    let fail = true;
    const good = loaderOf(UPPER, made);
    srv.server.setModelLoader(async () => {
      if (fail) throw new Error("model files missing: v3_e2e_rnnt_encoder.onnx in /somewhere");
      return good();
    });
    const r = await reload(srv.url);
    expect(r.status).toBe(503);
    const body = (await r.json()) as { code: string; error: string };
    expect(body.code).toBe("reload_failed");
    expect(body.error).not.toContain("/somewhere"); // no paths to clients
    expect(await transcribeText(srv.url)).toBe(PHRASE);
    expect((await fetch(`${srv.url}/ready`)).status).toBe(200);
    fail = false;
    expect((await reload(srv.url)).status).toBe(200);
  });

  test("?soft=true: swap, wait for the old model, warm; answers soft and soft_drained", async () => {
    const old = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
    srv = await startToneServer([], {}, old);
    srv.server.setTranscriber(old, { owned: true });
    srv.server.setModelLoader(loaderOf(UPPER, made));
    const r = await reload(srv.url, "?soft=true");
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ reloaded: true, variant: "e2e_rnnt", encoder: "fp32", soft: true, soft_drained: true });
    expect(old.available).toBe(false);
    expect(await transcribeText(srv.url)).toBe(PHRASE.toUpperCase());
    expect((await reload(srv.url, "?soft=maybe")).status).toBe(400);
  });

  test("without a loader (an embedded server) → 503 reload_unsupported", async () => {
    srv = await startToneServer([], {}, boot);
    const r = await reload(srv.url);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { code: string }).code).toBe("reload_unsupported");
  });

  test("API keys apply: no key → 401, the key → 200", async () => {
    srv = await startToneServer(["--api-key", "k-admin-1"], {}, boot);
    srv.server.setModelLoader(loaderOf(UPPER, made));
    expect((await reload(srv.url)).status).toBe(401);
    expect((await reload(srv.url, "", { authorization: "Bearer k-admin-1" })).status).toBe(200);
  });

  test("forwarded by a proxy for a remote client → 403 loopback_only (also with --trust-proxy)", async () => {
    srv = await startToneServer(["--trust-proxy"], {}, boot);
    srv.server.setModelLoader(loaderOf(UPPER, made));
    const forwarded: Record<string, string>[] = [{ "x-forwarded-for": "203.0.113.7" }, { "x-real-ip": "203.0.113.7" }, { forwarded: 'for="[2001:db8::1]:4711"' }, { "x-forwarded-for": "127.0.0.1, 198.51.100.2" }];
    for (const h of forwarded) {
      const r = await reload(srv.url, "", h);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { code: string }).code).toBe("loopback_only");
    }
    expect(await transcribeText(srv.url)).toBe(PHRASE);
  });

  // a real non-loopback peer: this machine's own external address (most hosts have one)
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  test.if(external !== undefined)("from a non-loopback peer (bound with --bind-all) → 403 loopback_only", async () => {
    srv = await startToneServer(["--host", "0.0.0.0", "--bind-all"], {}, boot);
    srv.server.setModelLoader(loaderOf(UPPER, made));
    const r = await fetch(`http://${external}:${srv.server.port}/v1/admin/reload`, { method: "POST" });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { code: string }).code).toBe("loopback_only");
    expect((await reload(srv.url.replace("0.0.0.0", "127.0.0.1"))).status).toBe(200);
  });
});

describe("the loopback decision", () => {
  test("peer and forwarded clients", () => {
    const h = (o: Record<string, string> = {}) => new Headers(o);
    expect(reloadAllowed("127.0.0.1", h())).toBe(true);
    expect(reloadAllowed("::1", h())).toBe(true);
    expect(reloadAllowed("::ffff:127.0.0.1", h())).toBe(true);
    expect(reloadAllowed("192.168.1.5", h())).toBe(false);
    expect(reloadAllowed(null, h())).toBe(false);
    expect(reloadAllowed("127.0.0.1", h({ "x-forwarded-for": "127.0.0.1" }))).toBe(true);
    expect(reloadAllowed("127.0.0.1", h({ forwarded: "for=unknown" }))).toBe(false);
    expect(reloadAllowed("127.0.0.1", h({ forwarded: 'for="_hidden"' }))).toBe(false);
    expect(forwardedFor(h({ forwarded: 'for=192.0.2.60:80;proto=http, for="[2001:db8::1]:4711"' }))).toEqual(["192.0.2.60", "2001:db8::1"]);
  });
});
