/**
 * Band-limited resampler (Kaiser-windowed sinc, polyphase), written for gigastt.
 *
 * - Output sample k sits exactly at time k / outRate: the kernel is centred on
 *   it, so there is no net delay. Missing samples before the start and after
 *   the end (at `flush`) are zeros; the total output length is
 *   round(N · outRate / inRate).
 * - Rational ratios L/M (outRate/inRate reduced) use a precomputed table of L
 *   phases; when L is large (odd rates such as 44099 Hz) a dense table of
 *   DENSE_PHASES phases is linearly interpolated instead.
 * - Exact tables run through a WebAssembly SIMD kernel (resample-simd.ts: f32x4,
 *   rows padded to a multiple of 8 taps with zero weights) where the runtime has
 *   it, else through the JavaScript loop below (`{ simd: false }` forces it).
 * - Streaming: `process` may be called with chunks of any size; every output
 *   sample is computed from the same taps in the same order as for a whole
 *   buffer, so chunked output equals whole-buffer output exactly.
 * - Equal rates pass through untouched.
 *
 * Response (outRate 16 kHz): downsampling keeps 0–7 kHz flat (< 0.1 dB) and
 * attenuates ≥ 8 kHz (what would alias) by more than 60 dB; upsampling keeps
 * 0–min(7 kHz, 0.45·inRate) and removes images from inRate/2 upward.
 */
import { GigasttError } from "../errors.ts";
import { paddedTaps, type PolyphaseWalk, runKernel, simdKernel } from "./resample-simd.ts";

/** Kaiser design target (dB); the specification asks for ≥ 60 dB. */
const ATTENUATION_DB = 68;
/** Phases of the interpolated table used when the exact polyphase table would be too large. */
const DENSE_PHASES = 512;
/** Largest exact polyphase table (entries). */
const MAX_TABLE = 1 << 20;

export interface ResamplerDesign {
  /** passband edge (Hz) */
  readonly passHz: number;
  /** stopband edge (Hz) */
  readonly stopHz: number;
  /** kernel half-width in input samples */
  readonly halfWidth: number;
  /** taps per output sample */
  readonly taps: number;
}

/** Filter edges for a rate pair: the band kept and where rejection starts. */
export function designFor(inRate: number, outRate: number): ResamplerDesign {
  const outNyq = outRate / 2;
  const inNyq = inRate / 2;
  const passHz = inRate > outRate ? 0.875 * outNyq : Math.min(0.875 * outNyq, 0.9 * inNyq);
  const stopHz = inRate > outRate ? outNyq : inNyq;
  // Kaiser: span (s) = (A − 7.95) / (2.285 · 2π · Δf)
  const spanSeconds = (ATTENUATION_DB - 7.95) / (2.285 * 2 * Math.PI * (stopHz - passHz));
  const halfWidth = (spanSeconds / 2) * inRate;
  const k = Math.ceil(halfWidth);
  return { passHz, stopHz, halfWidth, taps: 2 * k };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let i = 1; i < 200; i++) {
    term *= q / (i * i);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Rows of `taps` weights for fractional offsets row/rows (row = 0..rows-1, or
 * 0..rows when `closed`). Weight j multiplies input n0 − K + 1 + j for an
 * output centred at n0 + frac (input-sample units). Each row sums to 1. Rows
 * are `stride` ≥ `taps` entries apart (the rest zero weights).
 */
function buildTable(rows: number, closed: boolean, taps: number, halfWidth: number, cutoff: number, stride = taps): Float32Array {
  const k = taps / 2;
  const beta = 0.1102 * (ATTENUATION_DB - 8.7);
  const i0b = besselI0(beta);
  const n = closed ? rows + 1 : rows;
  const table = new Float32Array(n * stride);
  const row = new Float64Array(taps);
  for (let r = 0; r < n; r++) {
    const frac = r / rows;
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const d = frac - j + k - 1; // distance from the output centre, in input samples
      const u = d / halfWidth;
      let w = 0;
      if (Math.abs(u) < 1) {
        const x = 2 * cutoff * d;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        w = 2 * cutoff * sinc * (besselI0(beta * Math.sqrt(1 - u * u)) / i0b);
      }
      row[j] = w;
      sum += w;
    }
    for (let j = 0; j < taps; j++) table[r * stride + j] = row[j]! / sum;
  }
  return table;
}

/** Filter tables are read-only: shared by every resampler of the same rate pair (WebSocket sessions). */
const TABLES = new Map<string, Float32Array>();
const TABLE_CACHE = 16;

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  readonly design: ResamplerDesign | null;
  private readonly passthrough: boolean;
  private readonly L: number;
  private readonly M: number;
  private readonly K: number;
  private readonly taps: number;
  private readonly table: Float32Array;
  private readonly dense: boolean;
  /** row length of the exact table (taps, or padded for the SIMD kernel) */
  private readonly stride: number;
  private readonly kernel: ReturnType<typeof simdKernel>;
  /** input samples; buf[0] is absolute input index `bufStart` */
  private buf: Float32Array;
  private bufStart = 0;
  private bufLen = 0;
  /** real input samples received */
  private inCount = 0;
  /** outputs produced; the next one is centred at input n0 + p/L */
  private produced = 0;
  private n0 = 0;
  private p = 0;

  constructor(inRate: number, outRate = 16000, opts: { readonly simd?: boolean } = {}) {
    for (const r of [inRate, outRate]) {
      if (!Number.isInteger(r) || r < 1 || r > 1_000_000) {
        throw new GigasttError("invalid_sample_rate", `sample rate must be an integer in 1..1000000 Hz, got ${r}`);
      }
    }
    this.inRate = inRate;
    this.outRate = outRate;
    this.passthrough = inRate === outRate;
    const g = gcd(inRate, outRate);
    this.L = outRate / g;
    this.M = inRate / g;
    if (this.passthrough) {
      this.design = null;
      this.K = this.taps = this.stride = 0;
      this.table = new Float32Array(0);
      this.dense = false;
      this.kernel = null;
      this.buf = new Float32Array(0);
      return;
    }
    const design = designFor(inRate, outRate);
    this.design = design;
    this.taps = design.taps;
    this.K = design.taps / 2;
    // cutoff in cycles per input sample, midway through the transition band
    const cutoff = (design.passHz + design.stopHz) / 2 / inRate;
    this.dense = this.L * this.taps > MAX_TABLE;
    this.kernel = this.dense || opts.simd === false ? null : simdKernel();
    this.stride = this.kernel ? paddedTaps(this.taps) : this.taps;
    const key = `${inRate}:${outRate}:${this.stride}`;
    let table = TABLES.get(key);
    if (!table) {
      table = this.dense
        ? buildTable(DENSE_PHASES, true, this.taps, design.halfWidth, cutoff)
        : buildTable(this.L, false, this.taps, design.halfWidth, cutoff, this.stride);
      if (TABLES.size >= TABLE_CACHE) TABLES.delete(TABLES.keys().next().value!);
      TABLES.set(key, table);
    }
    this.table = table;
    this.buf = new Float32Array(Math.max(4096, 4 * this.stride));
    this.reset();
  }

  /** Feed input samples; returns the output samples that are now complete. */
  process(x: Float32Array): Float32Array {
    if (this.passthrough) return x.slice();
    this.append(x);
    this.inCount += x.length;
    return this.emit(Number.POSITIVE_INFINITY);
  }

  /** End of input: returns the remaining output and resets for a new stream. */
  flush(): Float32Array {
    if (this.passthrough) return new Float32Array(0);
    const total = Math.round((this.inCount * this.L) / this.M);
    // zeros after the end, enough for the last output's right half
    const lastN0 = Math.floor((Math.max(total - 1, 0) * this.M) / this.L);
    const need = lastN0 + this.K + 1 - (this.bufStart + this.bufLen);
    if (need > 0) this.append(new Float32Array(need));
    const out = this.emit(total);
    this.reset();
    return out;
  }

  private reset(): void {
    // K − 1 zeros before the first input sample
    this.buf.fill(0, 0, this.K - 1);
    this.bufStart = -(this.K - 1);
    this.bufLen = this.K - 1;
    this.inCount = 0;
    this.produced = 0;
    this.n0 = 0;
    this.p = 0;
  }

  private append(x: Float32Array): void {
    const needed = this.bufLen + x.length;
    if (needed > this.buf.length) {
      const next = new Float32Array(Math.max(needed, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.bufLen));
      this.buf = next;
    }
    this.buf.set(x, this.bufLen);
    this.bufLen += x.length;
  }

  /** Produce outputs up to (excluding) index `limit` while their taps are available. */
  private emit(limit: number): Float32Array {
    const { L, M, K, taps, stride, table } = this;
    const avail = this.bufStart + this.bufLen; // absolute end (exclusive)
    // output k is ready when floor(k·M/L) + K < avail
    const lastN0 = avail - K - 1;
    let ready = lastN0 < 0 ? 0 : Math.floor(((lastN0 + 1) * L + M - 1) / M);
    if (ready > limit) ready = limit;
    const count = Math.max(0, ready - this.produced);
    const out = new Float32Array(count);
    const buf = this.buf;
    const stepN = Math.floor(M / L);
    const stepP = M % L;
    let n0 = this.n0;
    let p = this.p;
    const start = this.bufStart;
    if (this.kernel) {
      const walk: PolyphaseWalk = { base: n0 - K + 1 - start, p, stepN, stepP, L, stride };
      runKernel(this.kernel, buf, this.bufLen, table, walk, out, count);
      n0 = walk.base + K - 1 + start;
      p = walk.p;
    } else if (!this.dense) {
      for (let i = 0; i < count; i++) {
        const base = n0 - K + 1 - start;
        const off = p * stride;
        // four partial sums break the add dependency chain (taps is even)
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let j = 0;
        for (; j + 3 < taps; j += 4) {
          a0 += buf[base + j]! * table[off + j]!;
          a1 += buf[base + j + 1]! * table[off + j + 1]!;
          a2 += buf[base + j + 2]! * table[off + j + 2]!;
          a3 += buf[base + j + 3]! * table[off + j + 3]!;
        }
        for (; j < taps; j++) a0 += buf[base + j]! * table[off + j]!;
        out[i] = a0 + a1 + (a2 + a3);
        n0 += stepN;
        p += stepP;
        if (p >= L) {
          p -= L;
          n0++;
        }
      }
    } else {
      for (let i = 0; i < count; i++) {
        const base = n0 - K + 1 - start;
        const pos = (p / L) * DENSE_PHASES;
        const q = Math.floor(pos);
        const t = pos - q;
        const o0 = q * taps;
        const o1 = o0 + taps;
        let a0 = 0;
        let a1 = 0;
        for (let j = 0; j < taps; j++) {
          const s = buf[base + j]!;
          a0 += s * table[o0 + j]!;
          a1 += s * table[o1 + j]!;
        }
        out[i] = a0 + t * (a1 - a0);
        n0 += stepN;
        p += stepP;
        if (p >= L) {
          p -= L;
          n0++;
        }
      }
    }
    this.n0 = n0;
    this.p = p;
    this.produced += count;
    this.compact();
    return out;
  }

  /** Drop input no longer needed by the next output. */
  private compact(): void {
    const keepFrom = this.n0 - this.K + 1; // absolute index of the next output's first tap
    const drop = Math.min(keepFrom - this.bufStart, this.bufLen);
    if (drop <= 0) return;
    this.buf.copyWithin(0, drop, this.bufLen);
    this.bufStart += drop;
    this.bufLen -= drop;
  }
}

/** Whole-buffer convenience: resample `x` from `inRate` to `outRate` (default 16 kHz). */
export function resample(x: Float32Array, inRate: number, outRate = 16000): Float32Array {
  const r = new Resampler(inRate, outRate);
  const a = r.process(x);
  const b = r.flush();
  if (b.length === 0) return a;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
