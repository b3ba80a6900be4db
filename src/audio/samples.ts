/**
 * Interleaved WAV sample bytes → mono float (channel mean). Little-endian;
 * int16 / 32768, unsigned 8-bit (b − 128) / 128, int24 / 2^23, int32 / 2^31,
 * float 32/64 with non-finite values as 0, G.711 A-law/µ-law (ITU-T tables).
 */

export type Kind = "u8" | "s16" | "s24" | "s32" | "f32" | "f64" | "alaw" | "mulaw";

const ALAW = new Float32Array(256);
const MULAW = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  // G.711 A-law
  const a = i ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  t = seg === 0 ? t + 8 : seg === 1 ? t + 0x108 : (t + 0x108) << (seg - 1);
  ALAW[i] = ((a & 0x80) ? t : -t) / 32768;
  // G.711 µ-law
  const u = ~i & 0xff;
  let m = ((u & 0x0f) << 3) + 0x84;
  m <<= (u & 0x70) >> 4;
  MULAW[i] = ((u & 0x80) ? 0x84 - m : m - 0x84) / 32768;
}

/** Decode `frames` interleaved frames starting at `at` into mono `out[o..]`. */
export function convert(kind: Kind, channels: number, bps: number, b: Uint8Array, at: number, frames: number, out: Float32Array, o: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const inv = 1 / channels;
  if (kind === "s16" && channels === 1) {
    for (let f = 0; f < frames; f++) out[o + f] = dv.getInt16(at + 2 * f, true) / 32768;
    return;
  }
  let p = at;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, p += bps) {
      let v: number;
      switch (kind) {
        case "s16":
          v = dv.getInt16(p, true) / 32768;
          break;
        case "u8":
          v = (b[p]! - 128) / 128;
          break;
        case "s24":
          v = ((b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) << 8 >> 8) / 8388608;
          break;
        case "s32":
          v = dv.getInt32(p, true) / 2147483648;
          break;
        case "f32":
          v = dv.getFloat32(p, true);
          if (!Number.isFinite(v)) v = 0;
          break;
        case "f64":
          v = dv.getFloat64(p, true);
          if (!Number.isFinite(v)) v = 0;
          break;
        case "alaw":
          v = ALAW[b[p]!]!;
          break;
        case "mulaw":
          v = MULAW[b[p]!]!;
          break;
      }
      sum += v;
    }
    out[o + f] = channels === 1 ? sum : sum * inv;
  }
}
