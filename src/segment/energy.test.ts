import { describe, expect, test } from "bun:test";
import { QuietDetector, frameEnergyDb } from "./energy.ts";
import { concat, rng } from "../../test/helpers/wav.ts";

const HOP = 160;


/** classifies `x` frame by frame with one detector */
function classify(x: Float32Array, det = new QuietDetector()): boolean[] {
  const out: boolean[] = [];
  for (let f = 0; (f + 1) * HOP <= x.length; f++) out.push(det.next(frameEnergyDb(x, f * HOP, (f + 1) * HOP)));
  return out;
}

function tone(seconds: number, amp: number, hz: number, am = 0): Float32Array {
  const n = Math.round(seconds * 16000);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const env = am > 0 ? 0.5 + 0.5 * Math.sin((2 * Math.PI * am * i) / 16000) : 1;
    x[i] = amp * (0.1 + 0.9 * env) * Math.sin((2 * Math.PI * hz * i) / 16000);
  }
  return x;
}

function noise(seconds: number, amp: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: Math.round(seconds * 16000) }, () => (2 * r() - 1) * amp);
}


describe("QuietDetector", () => {
  test("digital silence and noise up to 0.001 are always quiet", () => {
    expect(classify(new Float32Array(16000)).every(Boolean)).toBe(true);
    expect(classify(noise(5, 0.001, 1)).every(Boolean)).toBe(true);
    // also right after loud audio: the floor is absolute, not learnt
    const q = classify(concat(tone(10, 0.5, 440), noise(2, 0.001, 2), new Float32Array(16000)));
    expect(q.slice(1000).every(Boolean)).toBe(true);
  });

  test("tones and modulated tones at amplitude 0.05+ are never quiet, even after a minute", () => {
    for (const [amp, hz, am] of [
      [0.05, 440, 0],
      [0.05, 3000, 0],
      [0.5, 200, 0],
      [0.5, 1000, 3],
      [0.5, 700, 7], // envelope 0.05..0.5
    ] as const) {
      const q = classify(concat(tone(60, amp, hz, am)));
      expect(q.some(Boolean)).toBe(false);
    }
    // nor after a long silence (the tracker sits at the bottom)
    const q = classify(concat(new Float32Array(10 * 16000), tone(30, 0.05, 523)));
    expect(q.slice(1000).some(Boolean)).toBe(false);
  });

  test("a quiet recording (tones at 0.004 between digital silence) still has sound", () => {
    const q = classify(concat(new Float32Array(16000), tone(2, 0.004, 440), new Float32Array(16000), tone(2, 0.004, 880)));
    expect(q.slice(0, 100).every(Boolean)).toBe(true);
    expect(q.slice(100, 300).some(Boolean)).toBe(false);
    expect(q.slice(300, 400).every(Boolean)).toBe(true);
    expect(q.slice(400, 600).some(Boolean)).toBe(false);
  });

  test("a steady background noise is learnt as quiet between louder tones", () => {
    const bg = (s: number, seed: number) => noise(s, 0.01, seed); // RMS ≈ 0.0058, ≈ −45 dB
    const parts: Float32Array[] = [];
    for (let k = 0; k < 8; k++) {
      const loud = tone(2, 0.3, 300 + 100 * k);
      const b = bg(2, 10 + k);
      for (let i = 0; i < loud.length; i++) loud[i]! += b[i]!;
      parts.push(loud, bg(1, 100 + k));
    }
    const q = classify(concat(...parts));
    // after the first cycle: every background second is quiet, every tone frame loud
    for (let k = 1; k < 8; k++) {
      const t0 = k * 300; // frames
      expect(q.slice(t0, t0 + 200).some(Boolean)).toBe(false);
      expect(q.slice(t0 + 200 + 2, t0 + 300).every(Boolean)).toBe(true);
    }
  });

  test("non-finite samples count as loud", () => {
    const x = new Float32Array(HOP);
    x[3] = Number.NaN;
    expect(new QuietDetector().next(frameEnergyDb(x, 0, HOP))).toBe(false);
  });
});
