/**
 * A fixed-seed slice of the protocol fuzzer (test/helpers/fuzz.ts; the full
 * run is scripts/fuzz.ts): HTTP requests, WebSocket frames, Wyoming events
 * and WAV containers against an in-process server on the tone model. No
 * answer may be `internal`, a 5xx other than 503, an uncatalogued code or
 * late; the server must be healthy afterwards.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startWyoming, type WyomingListener } from "../src/wyoming/listener.ts";
import { fuzz, SURFACES } from "./helpers/fuzz.ts";
import { closeToneTranscriber, startToneServer, type TestServer } from "./server/streaming-helpers.ts";

const SEED = 20261204;
const CASES = 1000;

let srv: TestServer;
let wy: WyomingListener;
beforeAll(async () => {
  srv = await startToneServer(["--pool-size", "4", "--pool-checkout-timeout-secs", "2", "--body-idle-timeout-secs", "1", "--metrics", "--ws-frame-max-bytes", "65536"]);
  wy = startWyoming(srv.server.deps, { host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await wy.close();
  await srv.stop();
  await closeToneTranscriber();
});

test(`fuzz slice (seed ${SEED}, ${CASES} cases per surface): no internal, no 5xx, no hang, every code catalogued`, async () => {
  const port = Number(new URL(srv.url).port);
  const stats = await fuzz({ target: { httpPort: port, wyomingPort: wy.port }, seed: SEED, cases: CASES, concurrency: 4 });
  for (const s of SURFACES) {
    expect(stats[s].failures).toEqual([]);
    expect(stats[s].hangs).toBe(0);
    expect(stats[s].cases).toBeGreaterThanOrEqual(CASES);
  }
  // the answers are varied (the slice is not stuck on one refusal)
  expect(Object.keys(stats.http.outcomes).length).toBeGreaterThan(10);
  expect(Object.keys(stats.wav.outcomes).length).toBeGreaterThan(3);
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  expect(metrics).not.toMatch(/gigastt_errors_total\{code="internal"\} [1-9]/);
  expect((await fetch(`${srv.url}/health`)).status).toBe(200);
  expect(srv.server.deps.admission.inUse).toBe(0);
}, 120_000);
