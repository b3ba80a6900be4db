/**
 * `--batch-pool-size N` (the engine's `fileWorkers`): file segments run on Workers of their own,
 * so a file — even one whose decode is stuck — never holds up a live stream's decode; 0 shares
 * the Workers. `--file-window-concurrency` sets how many of a file's segments are in flight.
 * And serve's flags reach the engine's options (`engineOptions`). Tone model, real Workers.
 */
import { afterAll, expect, test } from "bun:test";
import { engineOptions } from "../src/cli/serve.ts";
import { Transcriber } from "../src/engine/transcriber.ts";
import { parseServeConfig } from "../src/server/config.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeToneModelDir, phraseToAudio } from "./helpers/tone.ts";

const WORKER = new URL("./helpers/crashing-model-worker.ts", import.meta.url).href;
/** test/helpers/crashing-model-worker.ts's FAIL_FIRST_INIT_MARKER (that module is a Worker entry: not imported here) */
const FAIL_FIRST_INIT_MARKER = ".fail-first-worker-init";
const dir = makeToneModelDir();
const open: Transcriber[] = [];
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
});

test("a file stuck on its own Worker does not hold up a live decode; the timeout then frees it", async () => {
  const t = await Transcriber.load({ modelDir: dir, workers: 2, fileWorkers: 1, workerUrl: WORKER, inferenceTimeoutMs: 4000 });
  open.push(t);
  expect(t.info).toMatchObject({ workers: 2, fileWorkers: 1, fileConcurrency: 2 });
  const stuck = phraseToAudio("привет мир").samples;
  stuck[Math.floor(stuck.length / 2)] = 0.85; // the scripted Worker never answers this segment
  const file = t.transcribe(stuck).then(
    () => "resolved",
    (e: { code?: string }) => e.code,
  );
  await Bun.sleep(100);
  const live = await t.decodeSegment(phraseToAudio("как дела").samples, 0, { purpose: "final" });
  expect(live.map((w) => w.word).join(" ")).toBe("как дела");
  // the live Worker answered while the file's was stuck; the file then fails with the timeout
  expect(await file).toBe("inference_timeout");
  expect((await t.transcribe(phraseToAudio("привет мир").samples)).text).toBe("привет мир");
}, 30_000);

test("without file Workers every decode shares the pool; --file-window-concurrency sets a file's segments in flight", async () => {
  const t = await Transcriber.load({ modelDir: dir, workers: 2, fileConcurrency: 1 });
  open.push(t);
  expect(t.info).toMatchObject({ workers: 2, fileWorkers: 0, fileConcurrency: 1 });
  expect((await t.transcribe(phraseToAudio("привет мир").samples)).text).toBe("привет мир");
  // at most workers − 1 are split off: one Worker stays for live streams
  const capped = await Transcriber.load({ modelDir: dir, workers: 1, fileWorkers: 3 });
  open.push(capped);
  expect(capped.info).toMatchObject({ workers: 1, fileWorkers: 0 });
});

test("--pool-min-size: a Worker that fails to load leaves the engine on the others, said once; below the minimum the load fails", async () => {
  const d = makeToneModelDir();
  writeFileSync(join(d, FAIL_FIRST_INIT_MARKER), "");
  const short: [number, string][] = [];
  const t = await Transcriber.load({ modelDir: d, workers: 2, minWorkers: 1, workerUrl: WORKER, onWorkersShort: (n, e) => short.push([n, e]) });
  open.push(t);
  expect(t.info.workers).toBe(1);
  expect(short).toEqual([[1, "scripted: the first Worker cannot load the model"]]);
  expect((await t.transcribe(phraseToAudio("привет мир").samples)).text).toBe("привет мир");
  const again = makeToneModelDir();
  writeFileSync(join(again, FAIL_FIRST_INIT_MARKER), "");
  const e = await Transcriber.load({ modelDir: again, workers: 2, minWorkers: 2, workerUrl: WORKER }).catch((x: { code?: string }) => x);
  expect((e as { code?: string }).code).toBe("model_invalid");
});

test("serve's flags reach the engine's options", () => {
  const c = parseServeConfig(
    ["--workers", "4", "--batch-pool-size", "1", "--encoder-intra-threads", "2", "--inference-timeout-secs", "30", "--pool-min-size", "2", "--file-window-concurrency", "3"],
    {},
    { isTTY: false, cpus: 4 },
  );
  const o = engineOptions(c, { warn: () => {} });
  expect(o).toMatchObject({ threadsPerWorker: 2, inferenceTimeoutMs: 30_000, minWorkers: 2, fileWorkers: 1, fileConcurrency: 3, compactPauses: true });
  const d = engineOptions(parseServeConfig([], {}, { isTTY: false, cpus: 2 }), { warn: () => {} });
  expect(d).toMatchObject({ threadsPerWorker: 1, inferenceTimeoutMs: 600_000, minWorkers: 1, fileWorkers: 0 });
  expect("fileConcurrency" in d).toBe(false);
});
