/**
 * bfloat16 emulation: round a float32 value to the nearest bfloat16 (ties to even) and keep it
 * in float32 storage. GigaAM v3 stores its Hann window and mel filterbank as bfloat16 buffers,
 * so the front end must see the same rounded weights (torch `.bfloat16().float()`).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Round `x` to float32, then to the nearest bfloat16 (round-to-nearest-even on the top 16 bits,
 * low 16 bits zeroed), returned as a number exactly representable in float32. NaN stays NaN;
 * values that round past the largest bfloat16 become ±Infinity, as in torch.
 */
export function roundToBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return Number.NaN;
  const lsb = (bits >>> 16) & 1;
  u32[0] = ((bits + 0x7fff + lsb) & 0xffff0000) >>> 0;
  return f32[0]!;
}

/** Round every element in place (see {@link roundToBf16}); returns `values`. */
export function roundArrayToBf16<T extends Float32Array | Float64Array>(values: T): T {
  for (let i = 0; i < values.length; i++) values[i] = roundToBf16(values[i]!);
  return values;
}

/** Reinterpret a float32 bit pattern (as stored in generated tables) as its number value. */
export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

/** The float32 bit pattern of `x` (after rounding it to float32). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
