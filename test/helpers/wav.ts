/**
 * WAV writer for tests: every variant the reader must handle (integer PCM
 * 8/16/24/32, float 32/64, G.711, EXTENSIBLE, any channel count, extra chunks
 * before/after data, odd-sized chunks with pad bytes, streamed/bogus sizes).
 */

export type WavEncoding = "pcm8" | "pcm16" | "pcm24" | "pcm32" | "float32" | "float64" | "alaw" | "mulaw";

export interface ExtraChunk {
  id: string;
  data: Uint8Array;
  /** where it goes; default "before-data" */
  at?: "before-fmt" | "before-data" | "after-data";
}

export interface WavOptions {
  sampleRate: number;
  /** channel planes, each the same length, values in [-1, 1] (int encodings clip) */
  channels: readonly Float32Array[];
  encoding?: WavEncoding;
  extensible?: boolean;
  /** extensible only: override the sub-format tag (e.g. 2 for ADPCM) */
  subFormatTag?: number;
  /** plain fmt tag override (e.g. 2 for ADPCM) */
  formatTag?: number;
  extra?: readonly ExtraChunk[];
  /** value written as the data chunk size (default: real size) */
  dataSize?: number;
  /** value written as the RIFF size (default: real size) */
  riffSize?: number;
  /** put the data chunk before the fmt chunk */
  dataFirst?: boolean;
  /** leave out the fmt chunk */
  noFmt?: boolean;
}

const BITS: Record<WavEncoding, number> = { pcm8: 8, pcm16: 16, pcm24: 24, pcm32: 32, float32: 32, float64: 64, alaw: 8, mulaw: 8 };
const TAG: Record<WavEncoding, number> = { pcm8: 1, pcm16: 1, pcm24: 1, pcm32: 1, float32: 3, float64: 3, alaw: 6, mulaw: 7 };

function clampInt(v: number, scale: number): number {
  return Math.max(-scale, Math.min(scale - 1, Math.round(v * scale)));
}

function chunk(id: string, data: Uint8Array): Uint8Array {
  const pad = data.length & 1;
  const out = new Uint8Array(8 + data.length + pad);
  for (let i = 0; i < 4; i++) out[i] = id.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, data.length, true);
  out.set(data, 8);
  return out;
}

/** Encode interleaved sample bytes for `encoding`. */
export function encodeSamples(channels: readonly Float32Array[], encoding: WavEncoding): Uint8Array {
  const nch = channels.length;
  const frames = channels[0]?.length ?? 0;
  const bps = BITS[encoding] / 8;
  const out = new Uint8Array(frames * nch * bps);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < nch; c++, p += bps) {
      const v = channels[c]![f]!;
      switch (encoding) {
        case "pcm8":
          out[p] = clampInt(v, 128) + 128;
          break;
        case "pcm16":
          dv.setInt16(p, clampInt(v, 32768), true);
          break;
        case "pcm24": {
          const s = clampInt(v, 8388608);
          out[p] = s & 0xff;
          out[p + 1] = (s >> 8) & 0xff;
          out[p + 2] = (s >> 16) & 0xff;
          break;
        }
        case "pcm32":
          dv.setInt32(p, clampInt(v, 2147483648), true);
          break;
        case "float32":
          dv.setFloat32(p, v, true);
          break;
        case "float64":
          dv.setFloat64(p, v, true);
          break;
        case "alaw":
        case "mulaw":
          out[p] = encodeG711(v, encoding);
          break;
      }
    }
  }
  return out;
}

function encodeG711(v: number, law: "alaw" | "mulaw"): number {
  // brute force over the 256 codes: tests only
  let best = 0;
  let bestErr = Number.POSITIVE_INFINITY;
  for (let code = 0; code < 256; code++) {
    const err = Math.abs(decodeG711(code, law) - v);
    if (err < bestErr) [best, bestErr] = [code, err];
  }
  return best;
}

/** Reference G.711 decoding (ITU-T tables), independent of the product code. */
export function decodeG711(code: number, law: "alaw" | "mulaw"): number {
  if (law === "mulaw") {
    const u = ~code & 0xff;
    const sign = u & 0x80;
    const exponent = (u >> 4) & 7;
    const mantissa = u & 0x0f;
    const mag = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    return (sign ? -mag : mag) / 32768;
  }
  const a = code ^ 0x55;
  const sign = a & 0x80;
  const exponent = (a >> 4) & 7;
  const mantissa = a & 0x0f;
  const mag = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return (sign ? mag : -mag) / 32768;
}

function fmtChunk(o: WavOptions): Uint8Array {
  const enc = o.encoding ?? "pcm16";
  const nch = o.channels.length;
  const bits = BITS[enc];
  const blockAlign = (nch * bits) / 8;
  const ext = o.extensible ?? false;
  const body = new Uint8Array(ext ? 40 : enc === "pcm16" || enc === "pcm8" ? 16 : 18);
  const dv = new DataView(body.buffer);
  dv.setUint16(0, ext ? 0xfffe : (o.formatTag ?? TAG[enc]), true);
  dv.setUint16(2, nch, true);
  dv.setUint32(4, o.sampleRate, true);
  dv.setUint32(8, o.sampleRate * blockAlign, true);
  dv.setUint16(12, blockAlign, true);
  dv.setUint16(14, bits, true);
  if (body.length >= 18) dv.setUint16(16, ext ? 22 : 0, true);
  if (ext) {
    dv.setUint16(18, bits, true); // valid bits
    dv.setUint32(20, nch === 1 ? 4 : (1 << nch) - 1, true); // channel mask
    dv.setUint16(24, o.subFormatTag ?? TAG[enc], true);
    body.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return chunk("fmt ", body);
}

/** A complete WAV file. */
export function encodeWav(o: WavOptions): Uint8Array {
  const enc = o.encoding ?? "pcm16";
  const samples = encodeSamples(o.channels, enc);
  const data = chunk("data", samples);
  if (o.dataSize !== undefined) new DataView(data.buffer).setUint32(4, o.dataSize, true);
  const extra = o.extra ?? [];
  const at = (w: ExtraChunk["at"]) => extra.filter((c) => (c.at ?? "before-data") === w).map((c) => chunk(c.id, c.data));
  const fmt = o.noFmt ? [] : [fmtChunk(o)];
  const body = o.dataFirst
    ? [...at("before-fmt"), data, ...fmt, ...at("before-data"), ...at("after-data")]
    : [...at("before-fmt"), ...fmt, ...at("before-data"), data, ...at("after-data")];
  const size = 4 + body.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(8 + size);
  out.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
  new DataView(out.buffer).setUint32(4, o.riffSize ?? size, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8); // WAVE
  let p = 12;
  for (const b of body) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** Mono 16-bit WAV of `samples` (the common case). */
export function wav16(samples: Float32Array, sampleRate = 16000): Uint8Array {
  return encodeWav({ sampleRate, channels: [samples] });
}

/** A sine: amplitude `amp`, `freq` Hz, `seconds` long at `rate`. */
export function sine(freq: number, rate: number, seconds: number, amp = 0.5, phase = 0): Float32Array {
  const n = Math.round(seconds * rate);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return x;
}

/** Deterministic pseudo-random generator (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Split `bytes` into chunks of random sizes in 1..max. */
export function randomChunks(bytes: Uint8Array, max: number, seed = 1): Uint8Array[] {
  const r = rng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(r() * max);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** The arrays one after another in a new one. */
export function concat(...xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** The byte arrays one after another in a new one. */
export function concatBytes(...xs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(xs.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}
