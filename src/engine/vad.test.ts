/**
 * The Silero VAD in its Worker (./vad-worker.ts through ./vad.ts), on a real Golos clip: speech
 * is speech, digital silence and white noise are not, the same samples give the same
 * probabilities, and the labels do not depend on how the stream was split.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { golos, whiteNoise } from "../../test/helpers/golos.ts";
import { makeToneModelDir } from "../../test/helpers/tone.ts";
import { concat } from "../../test/helpers/wav.ts";
import { freshCarry, VAD_WINDOW } from "../model/vad.ts";
import { VadLabeller, VadPool } from "./vad.ts";

let pool: VadPool;
let clip: Float32Array;
beforeAll(async () => {
  pool = await VadPool.start();
  clip = await golos(0); // 4.0 s: "шестьдесят тысяч тенге сколько будет стоить", speech ≈ 0.7–3.6 s
});
afterAll(async () => {
  await pool.close();
});

/** speech share of the 10 ms frames in [from, to) seconds */
function speechShare(l: VadLabeller, from: number, to: number): number {
  let n = 0;
  let s = 0;
  for (let t = Math.round(from * 16000); t + 160 <= to * 16000; t += 160) {
    n++;
    if (l.frameLabel(t, t + 160) === 0) s++;
  }
  return s / n;
}

async function labelled(x: Float32Array, chunks: readonly number[] = [x.length]): Promise<VadLabeller> {
  const l = new VadLabeller(pool);
  let got = 0;
  for (let i = 0, k = 0; i < x.length; k++) {
    const n = chunks[k % chunks.length]!;
    got += (await l.admit(x.subarray(i, i + n))).length;
    i += n;
  }
  got += (await l.finish()).length;
  expect(got).toBe(x.length); // every sample comes back once, in order
  return l;
}

describe("Silero VAD in a Worker", () => {
  test("speech is speech; the silence before it and the white noise after it are not", async () => {
    const x = concat(new Float32Array(16000), clip, whiteNoise(2 * 16000, 0.05));
    const l = await labelled(x);
    expect(speechShare(l, 0, 1)).toBe(0);
    expect(speechShare(l, 2.0, 4.4)).toBeGreaterThan(0.95); // the body of the utterance
    expect(speechShare(l, 5.3, 7)).toBe(0); // white noise at −26 dBFS
    expect(l.speechWindows).toBeGreaterThan(60);
  });

  test("deterministic: the same samples give the same probabilities, fresh state or carried", async () => {
    const n = Math.floor(clip.length / VAD_WINDOW) * VAD_WINDOW;
    const a = await pool.probabilities(clip.subarray(0, n), freshCarry());
    const b = await pool.probabilities(clip.subarray(0, n), freshCarry());
    expect(Array.from(b.probs)).toEqual(Array.from(a.probs));
    // in two calls with the carry handed on: the same as one call
    const half = Math.floor(n / 2 / VAD_WINDOW) * VAD_WINDOW;
    const c1 = await pool.probabilities(clip.subarray(0, half), freshCarry());
    const c2 = await pool.probabilities(clip.subarray(half, n), c1.carry);
    expect([...c1.probs, ...c2.probs]).toEqual(Array.from(a.probs));
    expect(Math.max(...a.probs)).toBeGreaterThan(0.9);
    expect(Math.min(...a.probs)).toBeLessThan(0.1);
  });

  test("labels do not depend on the chunk sizes of the stream", async () => {
    const x = concat(whiteNoise(8000, 0.01), clip, new Float32Array(8000));
    const whole = await labelled(x);
    const split = await labelled(x, [1, 333, 512, 4097, 160]);
    for (let t = 0; t + 160 <= x.length; t += 160) expect(split.frameLabel(t, t + 160)).toBe(whole.frameLabel(t, t + 160));
    expect(split.speechWindows).toBe(whole.speechWindows);
  });

  test("speech after speech and a long silence is still found (the state starts afresh after ~1 s of non-speech)", async () => {
    // golos_10 alone is found from a fresh state; after golos_09 and 2.5 s of silence with Silero's state carried over, it was not
    const a = await golos(9);
    const b = await golos(10);
    const x = concat(a, new Float32Array(40000), b);
    const l = await labelled(x);
    const bStart = (a.length + 40000) / 16000;
    expect(speechShare(l, bStart, bStart + b.length / 16000)).toBeGreaterThan(0.5);
  });

  test("a model that is not Silero's is refused at load with model_invalid", async () => {
    const file = join(makeToneModelDir(), "v3_e2e_rnnt_joint.onnx");
    await expect(VadPool.start({ file })).rejects.toMatchObject({ code: "model_invalid" });
  });
});
