/**
 * `--inference-timeout-secs`: a segment decode that never finishes (the Worker stuck, as in a
 * native call that does not return) fails with `inference_timeout` — REST 504, a WebSocket
 * `error` with that code and close 1001 (as Rust) —
 * and the stuck Worker is replaced, so the next request is served. The real engine on the
 * tone model, with a Worker that hangs on cue (test/helpers/crashing-model-worker.ts: a sample
 * between 0.8 and 0.9), over real sockets.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { finalText, makeToneModelDir, pcm16, splitBytes, startToneServer, type TestServer, toneAt, WsClient, wavBytes } from "./streaming-helpers.ts";

// each test waits out one 2 s timeout (and a Worker's replacement) on a loaded machine
setDefaultTimeout(30_000);

const WORKER = new URL("../helpers/crashing-model-worker.ts", import.meta.url).href;
const FIRST = "привет мир,";
const SECOND = "как дела?";
const OTHER = "привет мир, как дела?";
const HANG = 0.85;

let transcriber: Transcriber;
let srv: TestServer;
beforeAll(async () => {
  // what `serve --inference-timeout-secs 2` gives the engine
  transcriber = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1, workerUrl: WORKER, inferenceTimeoutMs: 2000 });
  srv = await startToneServer(["--pool-size", "3", "--inference-timeout-secs", "2"], {}, transcriber);
});
afterAll(async () => {
  await srv.stop();
  await transcriber.close();
});

/** the first phrase, a pause, then the second phrase with one sample at `spike` */
function stuckAudio(): Float32Array {
  const a = toneAt(FIRST, 16000, { tailSec: 1.2 });
  const b = toneAt(SECOND, 16000, { tailSec: 1.2 });
  b[Math.floor(b.length / 4)] = HANG;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

test("the config carries the flag", () => {
  expect(srv.server.deps.config.inferenceTimeoutSecs).toBe(2);
});

test("REST: a stuck decode is 504 inference_timeout (never a hang); the Worker is replaced and the next upload is transcribed", async () => {
  const r = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: wavBytes(stuckAudio(), 16000) });
  expect(r.status).toBe(504);
  const body = (await r.json()) as { code: string; error: string };
  expect(body.code).toBe("inference_timeout");
  const ok = await fetch(`${srv.url}/v1/transcribe?format=text`, { method: "POST", body: wavBytes(toneAt(OTHER, 16000), 16000) });
  expect(ok.status).toBe(200);
  expect((await ok.text()).trim()).toBe(OTHER);
  expect(transcriber.timeouts).toBeGreaterThanOrEqual(1);
  expect(srv.server.deps.admission.inUse).toBe(0);
  expect((await fetch(`${srv.url}/ready`)).status).toBe(200);
});

test("WebSocket: error inference_timeout, then close 1001 (as Rust); the next session runs on the replacement Worker", async () => {
  const c = await WsClient.open(srv.ws);
  await c.next("ready");
  c.json({ type: "configure", sample_rate: 16000 });
  for (const f of splitBytes(pcm16(stuckAudio()), 3200)) {
    c.send(f);
    await Bun.sleep(5);
  }
  c.json({ type: "stop" });
  expect((await c.closed).code).toBe(1001);
  expect(c.ofType("error").map((e) => e.code)).toEqual(["inference_timeout"]);
  // the next session runs on the replacement Worker
  const after = await WsClient.open(srv.ws);
  await after.next("ready");
  after.json({ type: "configure", sample_rate: 16000 });
  for (const f of splitBytes(pcm16(toneAt(OTHER, 16000, { tailSec: 0.5 })), 3200)) after.send(f);
  after.json({ type: "stop" });
  expect((await after.closed).code).toBe(1000);
  expect(finalText(after.messages)).toBe(OTHER);
});
