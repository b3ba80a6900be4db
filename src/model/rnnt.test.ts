import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildToneModel, DEFAULT_TONE_PIECES, toneBand, writeToneModel } from "../../scripts/make-tone-model.ts";
import { makeToneModelDir, phraseToAudio } from "../../test/helpers/tone.ts";
import { greedyDecode } from "../decode/greedy.ts";
import { LogMelExtractor } from "../frontend/logmel.ts";
import { GigasttError } from "../errors.ts";
import { MODEL_FILE_NAMES, selectModelFiles } from "./files.ts";
import { RnntModel } from "./rnnt.ts";

let dir: string;
let model: RnntModel;
beforeAll(async () => {
  dir = makeToneModelDir();
  model = await RnntModel.load(selectModelFiles(dir, "fp32"));
});
afterAll(() => model.release());

async function loadError(mutate: (d: string) => void): Promise<GigasttError> {
  const d = mkdtempSync(join(tmpdir(), "gigastt-bad-"));
  for (const n of Object.values(MODEL_FILE_NAMES)) copyFileSync(join(dir, n), join(d, n));
  mutate(d);
  try {
    await RnntModel.load(selectModelFiles(d, "fp32"));
  } catch (e) {
    expect(e).toBeInstanceOf(GigasttError);
    return e as GigasttError;
  }
  throw new Error("expected the load to fail");
}

describe("RnntModel (tone model)", () => {
  test("reports the vocabulary and the seam's dimensions", () => {
    expect(model.vocabSize).toBe(20);
    expect(model.blankId).toBe(19);
    expect(model.encDim).toBe(768);
    expect(model.decDim).toBe(320);
  });

  test("encode returns ceil(T/4) frames, frame-major [T' × 768]", async () => {
    const T = 10;
    const features = new Float32Array(64 * T);
    for (let m = 0; m < 64; m++) for (let t = 0; t < T; t++) features[m * T + t] = m + t / 100; // mel-major
    const { enc, frames } = await model.encode(features, T);
    expect(frames).toBe(3);
    expect(enc.length).toBe(3 * 768);
    // the tone encoder takes the min over each 4 frames: frame j, channel m = m + 4j/100
    for (const [j, m] of [[0, 0], [1, 5], [2, 63]] as const) expect(enc[j * 768 + m]).toBeCloseTo(m + (4 * j) / 100, 5);
    expect(enc[1 * 768 + 700]).toBe(0);
  });

  test("encode of zero frames runs nothing and returns nothing", async () => {
    expect((await model.encode(new Float32Array(0), 0)).frames).toBe(0);
  });

  test("decode feeds int64 tokens and carries the LSTM state", async () => {
    const a = await model.decode(3, model.initialState());
    expect(a.out.length).toBe(320);
    expect(a.out[3]).toBeCloseTo(Math.tanh(1), 3);
    expect(a.state.h.length).toBe(320);
    const blank = await model.decode(model.blankId, a.state);
    expect(Math.max(...blank.out.map(Math.abs))).toBeLessThan(1e-3);
  });

  test("a batched joint equals one call per frame", async () => {
    const K = 5;
    const enc = new Float32Array(K * 768);
    for (let k = 0; k < K; k++) enc[k * 768 + toneBand(k)] = 7.5;
    const dec = (await model.decode(model.blankId, model.initialState())).out;
    const batched = await model.joint(enc, K, dec);
    expect(batched.length).toBe(K * 20);
    for (let k = 0; k < K; k++) {
      const single = await model.joint(enc.subarray(k * 768, (k + 1) * 768), 1, dec);
      expect(Array.from(batched.subarray(k * 20, (k + 1) * 20))).toEqual(Array.from(single));
      const row = batched.subarray(k * 20, (k + 1) * 20);
      expect(row.indexOf(Math.max(...row))).toBe(k);
    }
  });

  test("a file onnxruntime cannot parse → model_invalid naming it", async () => {
    const e = await loadError((d) => writeFileSync(join(d, MODEL_FILE_NAMES.joint), "not onnx"));
    expect(e.code).toBe("model_invalid");
    expect(e.message).toContain("v3_e2e_rnnt_joint.onnx");
  });

  test("a joint with more classes than the vocabulary → model_invalid", async () => {
    const e = await loadError((d) => writeFileSync(join(d, MODEL_FILE_NAMES.joint), buildToneModel(Array.from({ length: 20 }, (_, i) => `▁p${i}`)).joint));
    expect(e.code).toBe("model_invalid");
    expect(e.message).toMatch(/21 classes but the vocabulary has 20/);
  });

  test("graphs swapped (decoder file holds the joint) → model_invalid naming the decoder", async () => {
    const e = await loadError((d) => copyFileSync(join(dir, MODEL_FILE_NAMES.joint), join(d, MODEL_FILE_NAMES.decoder)));
    expect(e.code).toBe("model_invalid");
    expect(e.message).toContain("v3_e2e_rnnt_decoder.onnx");
  });

  test("decoder state names come from the session: the current exporter's hi/ci → ho/co decode the same", async () => {
    const d = mkdtempSync(join(tmpdir(), "gigastt-exporter-names-"));
    writeToneModel(d, DEFAULT_TONE_PIECES, { decoderNames: "exporter" });
    const other = await RnntModel.load(selectModelFiles(d, "fp32"));
    try {
      const audio = phraseToAudio("привет мир, как дела?");
      const mel = new LogMelExtractor();
      const decodeWith = async (m: RnntModel) => {
        const { features, frames } = mel.compute(audio.samples);
        const { enc, frames: t } = await m.encode(features, frames);
        return greedyDecode(m, enc, t);
      };
      const tokens = await decodeWith(other);
      expect(tokens.map((t) => DEFAULT_TONE_PIECES[t.id])).toEqual(audio.pieces);
      expect(tokens).toEqual(await decodeWith(model));
    } finally {
      await other.release();
    }
  });

  test("a vocabulary without <blk> → model_invalid", async () => {
    const e = await loadError((d) => writeFileSync(join(d, MODEL_FILE_NAMES.vocab), "▁a 0\n▁b 1\n"));
    expect(e.code).toBe("model_invalid");
    expect(e.message).toContain("v3_e2e_rnnt_vocab.txt");
  });
});
