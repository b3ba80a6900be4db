import { roundToBf16 } from "./bf16.ts";

/**
 * Periodic Hann window `w[n] = 0.5 − 0.5·cos(2πn / length)`, n = 0..length−1 (torch
 * `hann_window(length)` default), computed in float64 and rounded to float32.
 */
export function periodicHann(length: number): Float32Array {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`window length must be a positive integer, got ${length}`);
  const w = new Float32Array(length);
  for (let n = 0; n < length; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
  return w;
}

/** The periodic Hann window rounded through bfloat16, as GigaAM v3 stores it. */
export function bf16PeriodicHann(length: number): Float32Array {
  const w = periodicHann(length);
  for (let n = 0; n < length; n++) w[n] = roundToBf16(w[n]!);
  return w;
}
