/**
 * The benchmark stand-in generator (scripts/make-bench-model.ts) on a tiny variant: the same
 * code path with 1 Conformer block and FFN 64 (the I/O contract keeps 768/320/1025), loaded
 * through the production loader and decoded end to end, fp32 and int8.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { speechLikeClip } from "../scripts/bench/clip.ts";
import { PIECES, readManifest, standInVocab } from "../scripts/bench/standin.ts";
import { writeStandIn } from "../scripts/make-bench-model.ts";
import { Vocab } from "../src/decode/vocab.ts";
import { Transcriber } from "../src/engine/transcriber.ts";
import { LogMelExtractor } from "../src/frontend/logmel.ts";
import { MODEL_FILE_NAMES, selectModelFiles } from "../src/model/files.ts";
import { RnntModel } from "../src/model/rnnt.ts";
import { quantizeEncoderFile } from "../src/quantize/index.ts";

const tmp = mkdtempSync(join(tmpdir(), "gigastt-benchmodel-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, "standin");
const tiny = { layers: 1, dFf: 64, seed: 3 };

describe("benchmark stand-in (tiny variant)", () => {
  test("writes the four real file names, a manifest, and is cached on the second call", async () => {
    const r = await writeStandIn(dir, tiny);
    expect(r.cached).toBe(false);
    for (const f of Object.values(MODEL_FILE_NAMES)) expect(statSync(join(dir, f)).size).toBe(r.manifest.bytes[f]!);
    // decoder and joint are full size: Embedding 1025×320 + LSTM 320; joint 768→320, 320→320, 320→1025
    expect(r.manifest.parameters.decoder).toBe(1025 * 320 + 2 * 4 * 320 * 320 + 8 * 320);
    expect(r.manifest.parameters.joint).toBe(768 * 320 + 320 + 320 * 320 + 320 + 320 * 1025 + 1025);
    // calibrated emission rate near the 0.25 tokens/frame target
    expect(r.manifest.calibrationTokensPerFrame).toBeGreaterThan(0.1);
    expect(r.manifest.calibrationTokensPerFrame).toBeLessThan(0.5);
    const mtime = statSync(join(dir, MODEL_FILE_NAMES.encoder)).mtimeMs;
    const again = await writeStandIn(dir, tiny);
    expect(again.cached).toBe(true);
    expect(statSync(join(dir, MODEL_FILE_NAMES.encoder)).mtimeMs).toBe(mtime);
    // a truncated file is not served from the cache
    const enc = readFileSync(join(dir, MODEL_FILE_NAMES.joint));
    writeFileSync(join(dir, MODEL_FILE_NAMES.joint), enc.subarray(0, 100));
    expect(readManifest(dir)?.layers).toBe(1);
    const rebuilt = await writeStandIn(dir, tiny);
    expect(rebuilt.cached).toBe(false);
    // deterministic: the same parameters give the same bytes
    expect(readFileSync(join(dir, MODEL_FILE_NAMES.joint)).equals(enc)).toBe(true);
    expect(rebuilt.manifest.bytes).toEqual(r.manifest.bytes);
  }, 120_000);

  test("vocabulary: 1024 unique pieces + <blk> = 1024", () => {
    const v = Vocab.parse(standInVocab());
    expect(v.size).toBe(PIECES + 1);
    expect(v.blankId).toBe(PIECES);
    expect(new Set(standInVocab().trim().split("\n").map((l) => l.split(" ")[0])).size).toBe(PIECES + 1);
  });

  test("loads through the production loader: encoder length contract and greedy decoding", async () => {
    const model = await RnntModel.load(selectModelFiles(dir, "fp32"));
    try {
      expect(model.vocabSize).toBe(1025);
      for (const seconds of [1, 2.37]) {
        const { features, frames } = new LogMelExtractor().compute(speechLikeClip(seconds).samples);
        const { enc, frames: tOut } = await model.encode(features, frames);
        expect(tOut).toBe(Math.ceil(frames / 4));
        expect(enc.length).toBe(tOut * 768);
        expect(enc.every(Number.isFinite)).toBe(true);
      }
    } finally {
      await model.release();
    }
  }, 60_000);

  test("transcribes speech-like audio with Transcriber, fp32 and dynamic int8", async () => {
    const clip = speechLikeClip(6);
    const texts: string[] = [];
    quantizeEncoderFile({ modelDir: dir });
    for (const precision of ["fp32", "int8"] as const) {
      const t = await Transcriber.load({ modelDir: dir, precision, workers: 1 });
      try {
        expect(t.info.precision).toBe(precision);
        const r = await t.transcribe(clip.samples);
        expect(r.duration).toBeCloseTo(6, 3);
        expect(r.words.length).toBeGreaterThan(0);
        for (const w of r.words) {
          expect(w.start).toBeGreaterThanOrEqual(0);
          expect(w.end).toBeLessThanOrEqual(6.01);
        }
        texts.push(r.text);
      } finally {
        await t.close();
      }
    }
    expect(texts[0]!.length).toBeGreaterThan(0);
  }, 120_000);
});
