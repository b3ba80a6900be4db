import { describe, expect, test } from "bun:test";
import { f32Bits } from "./bf16.ts";
import { bf16PeriodicHann, periodicHann } from "./window.ts";

describe("periodic Hann", () => {
  test("is the periodic (not symmetric) window: w[0] = 0, peak 1 at n = N/2, w[n] = w[N−n]", () => {
    const w = periodicHann(320);
    expect(w.length).toBe(320);
    expect(w[0]).toBe(0);
    expect(w[160]).toBe(1);
    for (let n = 1; n < 320; n++) expect(w[n]).toBe(w[320 - n]!);
    expect(w[1]).toBeCloseTo(0.5 - 0.5 * Math.cos((2 * Math.PI) / 320), 7);
    expect(w[319]).toBeGreaterThan(0); // a symmetric window would end at 0
  });

  test("sums to N/2 (periodic Hann property)", () => {
    const w = periodicHann(320);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(160, 4);
  });

  test("bf16 window equals the float32 window rounded through bfloat16", () => {
    const w = periodicHann(320);
    const b = bf16PeriodicHann(320);
    let changed = 0;
    for (let n = 0; n < 320; n++) {
      expect(f32Bits(b[n]!) & 0xffff).toBe(0);
      expect(Math.abs(b[n]! - w[n]!)).toBeLessThanOrEqual(Math.abs(w[n]!) * 2 ** -8);
      if (b[n] !== w[n]) changed++;
    }
    expect(changed).toBeGreaterThan(250);
  });

  test("rejects a non-positive length", () => {
    expect(() => periodicHann(0)).toThrow(RangeError);
    expect(() => periodicHann(2.5)).toThrow(RangeError);
  });
});
