/**
 * A Worker that dies mid-utterance (its thread exits, as in a native crash)
 * or whose runtime throws: the session that owned the job gets `error
 * inference_error` and, at its end, the final of what was decoded; the pool
 * starts a replacement; other sessions are unaffected; `/ready` stays
 * truthful. The real engine on the tone model, with a Worker that faults on
 * cue (test/helpers/crashing-model-worker.ts: a sample above 0.95 kills the
 * thread, one above 0.9 makes the runtime throw).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { finalText, makeToneModelDir, pcm16, splitBytes, startToneServer, type TestServer, toneAt, WsClient, wavBytes } from "./streaming-helpers.ts";

const FIRST = "привет мир,";
const SECOND = "как дела?";
const OTHER = "привет мир, как дела?";
const CRASH = 0.97;
const WORKER = new URL("../helpers/crashing-model-worker.ts", import.meta.url).href;
const THROW = 0.92;

let transcriber: Transcriber;
let srv: TestServer;
beforeAll(async () => {
  transcriber = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1, workerUrl: WORKER });
  srv = await startToneServer(["--pool-size", "3"], {}, transcriber);
});
afterAll(async () => {
  await srv.stop();
  await transcriber.close();
});

/** the first phrase, a pause, then the second phrase with one sample at `spike` */
function faultyAudio(spike: number): Float32Array {
  const a = toneAt(FIRST, 16000, { tailSec: 1.2 });
  const b = toneAt(SECOND, 16000, { tailSec: 1.2 });
  b[Math.floor(b.length / 4)] = spike;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function session(samples: Float32Array, frameMs = 100): Promise<WsClient> {
  const c = await WsClient.open(srv.ws);
  await c.next("ready");
  c.json({ type: "configure", sample_rate: 16000 });
  for (const f of splitBytes(pcm16(samples), (16000 * 2 * frameMs) / 1000)) {
    c.send(f);
    await Bun.sleep(5);
  }
  c.json({ type: "stop" });
  return c;
}

for (const [what, level, restCode] of [
  ["the Worker thread dies", CRASH, "internal"],
  ["the runtime throws", THROW, "inference_error"],
] as const) {
  test(`${what} mid-utterance: error inference_error and the final of what was decoded; another session is unaffected; the pool recovers`, async () => {
    const [bad, good] = await Promise.all([session(faultyAudio(level)), session(toneAt(OTHER, 16000, { tailSec: 0.5 }), 100)]);
    expect((await bad.closed).code).toBe(1000);
    expect((await good.closed).code).toBe(1000);
    expect(bad.ofType("error").map((e) => e.code)).toContain("inference_error");
    expect(bad.ofType("error").every((e) => e.code === "inference_error")).toBe(true);
    expect(finalText(bad.messages)).toBe(FIRST);
    expect(good.ofType("error")).toEqual([]);
    expect(finalText(good.messages)).toBe(OTHER);
    // a replacement Worker serves the next session, and /ready says so
    const ready = await fetch(`${srv.url}/ready`);
    expect(ready.status).toBe(200);
    const after = await session(toneAt(OTHER, 16000, { tailSec: 0.5 }));
    expect((await after.closed).code).toBe(1000);
    expect(finalText(after.messages)).toBe(OTHER);
    // REST on the same pool: a fault is a 500 with a code, never a hang, and the next upload works
    const r = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: wavBytes(faultyAudio(level), 16000) });
    expect(r.status).toBe(500);
    expect(((await r.json()) as { code: string }).code).toBe(restCode); // a dead Worker is internal, a runtime error inference_error
    const ok = await fetch(`${srv.url}/v1/transcribe?format=text`, { method: "POST", body: wavBytes(toneAt(OTHER, 16000), 16000) });
    expect((await ok.text()).trim()).toBe(OTHER);
    expect(srv.server.deps.admission.inUse).toBe(0);
  });
}

test("a crash whose replacement Worker cannot load: /ready turns 503 workers_down, uploads fail at once with internal (never hang)", async () => {
  const dir = makeToneModelDir();
  const t = await Transcriber.load({ modelDir: dir, workers: 1, workerUrl: WORKER });
  const s = await startToneServer(["--pool-size", "2"], {}, t);
  try {
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    writeFileSync(join(dir, ".fail-worker-init"), "");
    const crash = await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: wavBytes(faultyAudio(CRASH), 16000) });
    expect(crash.status).toBe(500);
    let ready: Response = await fetch(`${s.url}/ready`);
    for (let i = 0; i < 100 && ready.status === 200; i++) {
      await Bun.sleep(20);
      ready = await fetch(`${s.url}/ready`);
    }
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toBe("workers_down");
    const t0 = performance.now();
    const r = await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: wavBytes(toneAt(OTHER, 16000), 16000) });
    expect(r.status).toBe(500);
    expect(((await r.json()) as { code: string }).code).toBe("internal");
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(s.server.deps.admission.inUse).toBe(0);
  } finally {
    await s.stop();
    await t.close();
  }
});
