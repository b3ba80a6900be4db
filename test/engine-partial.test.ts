/**
 * Streaming partials on a second encoder: a tiny benchmark stand-in (random weights, the real
 * I/O contract), its dynamic int8 encoder made by the quantize Worker, and a Transcriber with a
 * partial Worker running it. With random weights int8 and fp32 disagree on many tokens, which is what lets
 * the test see which encoder ran: partials must equal the int8 model's words, finals the fp32's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { speechLikeClip } from "../scripts/bench/clip.ts";
import { writeStandIn } from "../scripts/make-bench-model.ts";
import { runDownload } from "../src/cli/download.ts";
import { Transcriber } from "../src/engine/transcriber.ts";
import { MODEL_FILE_NAMES, selectModelFiles } from "../src/model/files.ts";
import { INT8_ENCODER } from "../src/quantize/file.ts";
import { quantizeInWorker } from "../src/quantize/in-worker.ts";
import type { Word } from "../src/types.ts";

const tmp = mkdtempSync(join(tmpdir(), "gigastt-partial-enc-"));
const dir = join(tmp, "standin");
const closing: Transcriber[] = [];
afterAll(async () => {
  await Promise.all(closing.map((t) => t.close()));
  rmSync(tmp, { recursive: true, force: true });
});
const clip0 = speechLikeClip(3, 11).samples;
let int8Path = "";

beforeAll(async () => {
  await writeStandIn(dir, { layers: 1, dFf: 64, seed: 5 });
  const r = await quantizeInWorker({ modelDir: dir, mode: "dynamic" });
  int8Path = r.out;
});

async function load(opts: Parameters<typeof Transcriber.fromFiles>[1], precision: "fp32" | "int8" = "fp32"): Promise<Transcriber> {
  const t = await Transcriber.fromFiles(selectModelFiles(dir, precision), { workers: 1, compactPauses: false, ...opts });
  closing.push(t);
  return t;
}

describe("partial encoder", () => {
  test("the quantize Worker wrote the dynamic int8 encoder next to the fp32 one", () => {
    expect(int8Path).toBe(join(dir, INT8_ENCODER.dynamic));
    expect(statSync(int8Path).size).toBeGreaterThan(0);
    expect(statSync(int8Path).size).toBeLessThan(statSync(join(dir, "v3_e2e_rnnt_encoder.onnx")).size);
  });

  test("purpose partial runs on the partial encoder; finals and files on the main one", async () => {
    const both = await load({ partialEncoder: int8Path });
    expect(both.info.partialEncoder).toBe(int8Path);
    expect(both.info.partialWorkers).toBe(1);
    expect(both.load.workers).toBe(2); // one main Worker + one partial Worker
    expect(both.info.precision).toBe("fp32");
    const fp32 = await load({});
    const int8 = await load({}, "int8");
    expect(int8.info.precision).toBe("int8");
    // the test can only tell the encoders apart on a clip where they disagree: the first of a few
    let clip: Float32Array = new Float32Array(0);
    let wantFinal: Word[] = [];
    let wantPartial: Word[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      clip = speechLikeClip(4, seed).samples;
      wantFinal = await fp32.decodeSegment(clip, 1.5);
      wantPartial = await int8.decodeSegment(clip, 1.5);
      if (JSON.stringify(wantFinal) !== JSON.stringify(wantPartial)) break;
    }
    expect(wantPartial).not.toEqual(wantFinal);
    expect(await both.decodeSegment(clip, 1.5, { purpose: "partial" })).toEqual(wantPartial);
    expect(await both.decodeSegment(clip, 1.5, { purpose: "final" })).toEqual(wantFinal);
    expect(await both.decodeSegment(clip, 1.5)).toEqual(wantFinal);
    expect((await both.transcribe(clip)).words).toEqual((await fp32.transcribe(clip)).words);
  });

  test("lazy partial Workers: ready without them, partials on the main encoder until they load, then on theirs", async () => {
    const fp32 = await load({});
    const int8 = await load({}, "int8");
    const { clip, wantFinal, wantPartial } = await disagreeingClip(fp32, int8);
    const lazy = await load({ partialEncoder: int8Path, lazyPartialWorkers: true });
    // the partial Worker starts only now that the main one is loaded
    expect(lazy.info.partialWorkersLoading).toBe(true);
    expect(lazy.info.partialEncoder).toBeNull();
    expect(lazy.load.workers).toBe(1);
    expect(await lazy.decodeSegment(clip, 1.5, { purpose: "partial" })).toEqual(wantFinal);
    const release = await lazy.partialSlot();
    release();
    await lazy.partialWorkersReady();
    expect(lazy.info.partialWorkersLoading).toBeUndefined();
    expect(lazy.info.partialEncoder).toBe(int8Path);
    expect(lazy.info.partialWorkers).toBe(1);
    expect(lazy.load.workers).toBe(2);
    expect(await lazy.decodeSegment(clip, 1.5, { purpose: "partial" })).toEqual(wantPartial);
    expect(await lazy.decodeSegment(clip, 1.5, { purpose: "final" })).toEqual(wantFinal);
  });

  test("lazy partial Workers that cannot load: the error is reported once they fail; partials stay on the main encoder", async () => {
    const bad = join(tmp, "broken-lazy.int8.onnx");
    writeFileSync(bad, "not an onnx model");
    const t = await load({ partialEncoder: bad, lazyPartialWorkers: true });
    await t.partialWorkersReady();
    expect(t.info.partialEncoder).toBeNull();
    expect(t.info.partialWorkersLoading).toBeUndefined();
    expect(t.info.partialEncoderError).toContain("broken-lazy.int8.onnx");
    const fp32 = await load({});
    expect(await t.decodeSegment(clip0, 0, { purpose: "partial" })).toEqual(await fp32.decodeSegment(clip0, 0));
  });

  test("closing while the lazy partial Workers load: close waits for them and stops them", async () => {
    const t = await Transcriber.fromFiles(selectModelFiles(dir, "fp32"), { workers: 1, compactPauses: false, partialEncoder: int8Path, lazyPartialWorkers: true });
    expect(t.info.partialWorkersLoading).toBe(true);
    await t.close();
    expect(t.info.partialWorkersLoading).toBeUndefined();
    expect(t.info.partialWorkers).toBe(0);
    expect(t.load.workers).toBe(1);
    await expect(t.decodeSegment(clip0, 0, { purpose: "partial" })).rejects.toMatchObject({ code: "pool_closed" });
  });

  test("a partial encoder that cannot be loaded is reported; partials then use the main encoder", async () => {
    const bad = join(tmp, "broken.int8.onnx");
    writeFileSync(bad, "not an onnx model");
    const t = await load({ partialEncoder: bad });
    expect(t.info.partialEncoder).toBeNull();
    expect(t.info.partialWorkers).toBe(0);
    expect(t.info.partialEncoderError).toContain("broken.int8.onnx");
    const fp32 = await load({});
    expect(await t.decodeSegment(clip0, 0, { purpose: "partial" })).toEqual(await fp32.decodeSegment(clip0, 0));
  });
});

/** A clip on which the two Transcribers' words differ (random weights: int8 and fp32 disagree on most clips). */
async function disagreeingClip(fp32: Transcriber, int8: Transcriber): Promise<{ clip: Float32Array; wantFinal: Word[]; wantPartial: Word[] }> {
  for (let seed = 1; seed <= 12; seed++) {
    const clip = speechLikeClip(4, seed).samples;
    const wantFinal = await fp32.decodeSegment(clip, 1.5);
    const wantPartial = await int8.decodeSegment(clip, 1.5);
    if (JSON.stringify(wantFinal) !== JSON.stringify(wantPartial)) return { clip, wantFinal, wantPartial };
  }
  throw new Error("no clip where the int8 and fp32 encoders disagree");
}

describe("gigastt download creates the int8 encoder for partials (like the Rust server's download)", () => {
  /** a folder with the stand-in's four fp32 files only */
  function fp32Copy(name: string): string {
    const d = join(tmp, name);
    mkdirSync(d);
    for (const f of Object.values(MODEL_FILE_NAMES)) linkSync(join(dir, f), join(d, f));
    return d;
  }
  const quietly = { stdout: () => {}, stderr: () => {} };

  test("once, next to the fp32 encoder; a second run leaves it alone", async () => {
    const d = fp32Copy("dl");
    const out: string[] = [];
    expect(await runDownload({ modelDir: d, offline: true, quiet: true }, { env: {}, stdout: (s) => void out.push(s), stderr: () => {} })).toBe(0);
    const int8 = join(d, INT8_ENCODER.dynamic);
    expect(statSync(int8).size).toBe(statSync(int8Path).size);
    expect(out.join("")).toContain("created by quantization");
    const mtime = statSync(int8).mtimeMs;
    out.length = 0;
    expect(await runDownload({ modelDir: d, offline: true, quiet: true }, { env: {}, stdout: (s) => void out.push(s), stderr: () => {} })).toBe(0);
    expect(out.join("")).toContain(`${INT8_ENCODER.dynamic}`);
    expect(out.join("")).not.toContain("created by quantization");
    expect(statSync(int8).mtimeMs).toBe(mtime);
  });

  test("--skip-quantize or GIGASTT_SKIP_QUANTIZE=1: no int8 file", async () => {
    const a = fp32Copy("dl-skip-flag");
    expect(await runDownload({ modelDir: a, offline: true, quiet: true, skipQuantize: true }, { env: {}, ...quietly })).toBe(0);
    expect(existsSync(join(a, INT8_ENCODER.dynamic))).toBe(false);
    const b = fp32Copy("dl-skip-env");
    expect(await runDownload({ modelDir: b, offline: true, quiet: true }, { env: { GIGASTT_SKIP_QUANTIZE: "1" }, ...quietly })).toBe(0);
    expect(existsSync(join(b, INT8_ENCODER.dynamic))).toBe(false);
  });
});
