import { describe, expect, test } from "bun:test";
import { f32Bits, roundToBf16 } from "./bf16.ts";
import { MEL_BANDS, melFiltersBf16, melFiltersF32 } from "./mel-filters.ts";

// The HTK recipe of torchaudio melscale_fbanks(161, 0, 8000, 64, 16000, norm=None), in float64.
const mel = (f: number) => 2595 * Math.log10(1 + f / 700);
const hz = (m: number) => 700 * (10 ** (m / 2595) - 1);
const points = Array.from({ length: MEL_BANDS + 2 }, (_, i) => hz((mel(8000) * i) / (MEL_BANDS + 1)));
const BINS = 161;

function htkWeight(m: number, k: number): number {
  const f = 50 * k;
  const [lo, mid, hi] = [points[m]!, points[m + 1]!, points[m + 2]!];
  return Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
}

function dense(filter: { start: number; weights: Float64Array }): Float64Array {
  const row = new Float64Array(BINS);
  row.set(filter.weights, filter.start);
  return row;
}

describe("mel filter table (torchaudio, float32)", () => {
  const filters = melFiltersF32();

  test("has 64 non-empty bands inside the 161 FFT bins, weights in (0, 1]", () => {
    expect(MEL_BANDS).toBe(64);
    expect(filters.length).toBe(64);
    for (const f of filters) {
      expect(f.weights.length).toBeGreaterThan(0);
      expect(f.start).toBeGreaterThanOrEqual(0);
      expect(f.start + f.weights.length).toBeLessThanOrEqual(BINS);
      expect(f.weights[0]).toBeGreaterThan(0);
      expect(f.weights[f.weights.length - 1]).toBeGreaterThan(0);
      for (const w of f.weights) {
        expect(w).toBeGreaterThanOrEqual(0);
        expect(w).toBeLessThanOrEqual(1);
        expect(Math.fround(w)).toBe(w);
      }
    }
  });

  test("is the float64 HTK formula up to float32 evaluation error", () => {
    // torchaudio evaluates in float32: each Hz value carries a few ulps (relative to hi + 700 Hz
    // through 10^(m/2595)) and the slope divides by the triangle's narrower side.
    const eps32 = 2 ** -24;
    let worst = 0;
    filters.forEach((f, m) => {
      const row = dense(f);
      const narrow = Math.min(points[m + 1]! - points[m]!, points[m + 2]! - points[m + 1]!);
      const tolerance = (8 * eps32 * (points[m + 2]! + 700)) / narrow;
      for (let k = 0; k < BINS; k++) {
        const diff = Math.abs(row[k]! - htkWeight(m, k));
        expect(diff).toBeLessThanOrEqual(tolerance);
        worst = Math.max(worst, diff);
      }
    });
    expect(worst).toBeGreaterThan(0); // the table is float32, not the float64 formula
    expect(worst).toBeLessThan(1e-5);
  });

  test("each band peaks between its neighbours' peaks (triangles in mel order)", () => {
    const peaks = filters.map((f) => {
      const row = dense(f);
      return row.indexOf(Math.max(...row));
    });
    for (let m = 1; m < peaks.length; m++) expect(peaks[m]!).toBeGreaterThanOrEqual(peaks[m - 1]!);
    expect(peaks[0]).toBe(1);
    expect(peaks[63]).toBeGreaterThan(150);
  });
});

describe("mel filter table rounded to bfloat16", () => {
  test("is every float32 weight rounded to nearest-even bfloat16", () => {
    const f32 = melFiltersF32();
    const bf16 = melFiltersBf16();
    let changed = 0;
    bf16.forEach((f, m) => {
      expect(f.start).toBe(f32[m]!.start);
      expect(f.weights.length).toBe(f32[m]!.weights.length);
      f.weights.forEach((w, j) => {
        const original = f32[m]!.weights[j]!;
        expect(w).toBe(roundToBf16(original));
        expect(f32Bits(w) & 0xffff).toBe(0);
        if (w !== original) changed++;
      });
    });
    expect(changed).toBeGreaterThan(300);
  });
});
