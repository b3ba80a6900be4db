/**
 * Mixed-radix FFTs over preallocated float64 typed arrays.
 *
 * `ComplexFft` is a Stockham autosort FFT (decimation in frequency, natural order in and out,
 * no bit reversal) with specialised radix-4, radix-2 and radix-5 butterflies and a plain DFT
 * butterfly for any other prime factor. `RealFft` computes the DFT of a real sequence of even
 * length n through one complex FFT of length n/2 (the usual even/odd packing trick); the front
 * end uses it for n = 320 (160 = 4·4·2·5).
 *
 * Forward transform convention: X[k] = Σ x[t]·e^(−2πi·k·t/n), no scaling.
 * Plans and work buffers are built once in the constructor; `transform` allocates nothing.
 */

interface Stage {
  /** radix of this stage */
  readonly p: number;
  /** sub-transform length before this stage (n / product of the earlier radices) */
  readonly len: number;
  /** stride: product of the earlier radices */
  readonly stride: number;
  /** twiddles ω_len^(q·k) for q < len/p, k = 1..p−1, interleaved (re, im) in order q, k */
  readonly tw: Float64Array;
  /** for the generic butterfly: ω_p^(j·k) as (re, im) pairs, j, k < p */
  readonly dft: Float64Array;
}

/** Factor n into radices 4, 2, 5, 3 and then any remaining primes, in that order. */
function factorize(n: number): number[] {
  const radices: number[] = [];
  let rest = n;
  for (const p of [4, 2, 5, 3]) {
    while (rest % p === 0) {
      radices.push(p);
      rest /= p;
    }
  }
  for (let p = 7; rest > 1; p += 2) {
    while (rest % p === 0) {
      radices.push(p);
      rest /= p;
    }
  }
  return radices;
}

export class ComplexFft {
  readonly size: number;
  private readonly stages: Stage[];
  private readonly workRe: Float64Array;
  private readonly workIm: Float64Array;
  private readonly scratch: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`FFT size must be a positive integer, got ${size}`);
    this.size = size;
    this.workRe = new Float64Array(size);
    this.workIm = new Float64Array(size);
    const stages: Stage[] = [];
    let len = size;
    let stride = 1;
    let maxP = 1;
    for (const p of factorize(size)) {
      const m = len / p;
      const tw = new Float64Array(2 * m * (p - 1));
      for (let q = 0; q < m; q++) {
        for (let k = 1; k < p; k++) {
          const angle = (-2 * Math.PI * ((q * k) % len)) / len;
          const at = 2 * (q * (p - 1) + (k - 1));
          tw[at] = Math.cos(angle);
          tw[at + 1] = Math.sin(angle);
        }
      }
      const dft = new Float64Array(2 * p * p);
      for (let j = 0; j < p; j++) {
        for (let k = 0; k < p; k++) {
          const angle = (-2 * Math.PI * ((j * k) % p)) / p;
          dft[2 * (j * p + k)] = Math.cos(angle);
          dft[2 * (j * p + k) + 1] = Math.sin(angle);
        }
      }
      stages.push({ p, len, stride, tw, dft });
      maxP = Math.max(maxP, p);
      len = m;
      stride *= p;
    }
    this.stages = stages;
    this.scratch = new Float64Array(2 * maxP);
  }

  /** In-place forward DFT of (re, im), both of length `size`. */
  transform(re: Float64Array, im: Float64Array): void {
    const n = this.size;
    if (re.length !== n || im.length !== n) throw new RangeError(`FFT expects arrays of length ${n}`);
    let xr = re;
    let xi = im;
    let yr = this.workRe;
    let yi = this.workIm;
    for (const stage of this.stages) {
      switch (stage.p) {
        case 4:
          radix4(stage, xr, xi, yr, yi);
          break;
        case 2:
          radix2(stage, xr, xi, yr, yi);
          break;
        case 5:
          radix5(stage, xr, xi, yr, yi);
          break;
        default:
          radixGeneric(stage, xr, xi, yr, yi, this.scratch);
      }
      const tr = xr;
      const ti = xi;
      xr = yr;
      xi = yi;
      yr = tr;
      yi = ti;
    }
    if (xr !== re) {
      re.set(xr);
      im.set(xi);
    }
  }
}

// Each stage reads x[r + s·(q + m·j)] (j < p) and writes y[r + s·(p·q + k)] =
// (Σ_j x_j·ω_p^(j·k))·ω_len^(q·k), for q < m = len/p and r < s.

function radix2(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const s = st.stride;
  const m = st.len / 2;
  const tw = st.tw;
  for (let q = 0; q < m; q++) {
    const wr = tw[2 * q]!;
    const wi = tw[2 * q + 1]!;
    const i0 = s * q;
    const i1 = i0 + s * m;
    const o0 = s * 2 * q;
    const o1 = o0 + s;
    for (let r = 0; r < s; r++) {
      const ar = xr[i0 + r]!;
      const ai = xi[i0 + r]!;
      const br = xr[i1 + r]!;
      const bi = xi[i1 + r]!;
      yr[o0 + r] = ar + br;
      yi[o0 + r] = ai + bi;
      const dr = ar - br;
      const di = ai - bi;
      yr[o1 + r] = dr * wr - di * wi;
      yi[o1 + r] = dr * wi + di * wr;
    }
  }
}

function radix4(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const s = st.stride;
  const m = st.len / 4;
  const sm = s * m;
  const tw = st.tw;
  for (let q = 0; q < m; q++) {
    const w1r = tw[6 * q]!;
    const w1i = tw[6 * q + 1]!;
    const w2r = tw[6 * q + 2]!;
    const w2i = tw[6 * q + 3]!;
    const w3r = tw[6 * q + 4]!;
    const w3i = tw[6 * q + 5]!;
    const i0 = s * q;
    const o0 = s * 4 * q;
    for (let r = 0; r < s; r++) {
      const a = i0 + r;
      const x0r = xr[a]!;
      const x0i = xi[a]!;
      const x1r = xr[a + sm]!;
      const x1i = xi[a + sm]!;
      const x2r = xr[a + 2 * sm]!;
      const x2i = xi[a + 2 * sm]!;
      const x3r = xr[a + 3 * sm]!;
      const x3i = xi[a + 3 * sm]!;
      const s02r = x0r + x2r;
      const s02i = x0i + x2i;
      const d02r = x0r - x2r;
      const d02i = x0i - x2i;
      const s13r = x1r + x3r;
      const s13i = x1i + x3i;
      // −i·(x1 − x3)
      const d13r = x1i - x3i;
      const d13i = x3r - x1r;
      const o = o0 + r;
      yr[o] = s02r + s13r;
      yi[o] = s02i + s13i;
      const y1r = d02r + d13r;
      const y1i = d02i + d13i;
      yr[o + s] = y1r * w1r - y1i * w1i;
      yi[o + s] = y1r * w1i + y1i * w1r;
      const y2r = s02r - s13r;
      const y2i = s02i - s13i;
      yr[o + 2 * s] = y2r * w2r - y2i * w2i;
      yi[o + 2 * s] = y2r * w2i + y2i * w2r;
      const y3r = d02r - d13r;
      const y3i = d02i - d13i;
      yr[o + 3 * s] = y3r * w3r - y3i * w3i;
      yi[o + 3 * s] = y3r * w3i + y3i * w3r;
    }
  }
}

const C1 = Math.cos((2 * Math.PI) / 5);
const C2 = Math.cos((4 * Math.PI) / 5);
const S1 = Math.sin((2 * Math.PI) / 5);
const S2 = Math.sin((4 * Math.PI) / 5);

function radix5(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const s = st.stride;
  const m = st.len / 5;
  const sm = s * m;
  const tw = st.tw;
  for (let q = 0; q < m; q++) {
    const t = 8 * q;
    const w1r = tw[t]!;
    const w1i = tw[t + 1]!;
    const w2r = tw[t + 2]!;
    const w2i = tw[t + 3]!;
    const w3r = tw[t + 4]!;
    const w3i = tw[t + 5]!;
    const w4r = tw[t + 6]!;
    const w4i = tw[t + 7]!;
    const i0 = s * q;
    const o0 = s * 5 * q;
    for (let r = 0; r < s; r++) {
      const a = i0 + r;
      const x0r = xr[a]!;
      const x0i = xi[a]!;
      const x1r = xr[a + sm]!;
      const x1i = xi[a + sm]!;
      const x2r = xr[a + 2 * sm]!;
      const x2i = xi[a + 2 * sm]!;
      const x3r = xr[a + 3 * sm]!;
      const x3i = xi[a + 3 * sm]!;
      const x4r = xr[a + 4 * sm]!;
      const x4i = xi[a + 4 * sm]!;
      const t1r = x1r + x4r;
      const t1i = x1i + x4i;
      const t2r = x2r + x3r;
      const t2i = x2i + x3i;
      const t3r = x1r - x4r;
      const t3i = x1i - x4i;
      const t4r = x2r - x3r;
      const t4i = x2i - x3i;
      const b1r = x0r + C1 * t1r + C2 * t2r;
      const b1i = x0i + C1 * t1i + C2 * t2i;
      const b2r = x0r + C2 * t1r + C1 * t2r;
      const b2i = x0i + C2 * t1i + C1 * t2i;
      // u = S1·t3 + S2·t4 and v = S2·t3 − S1·t4; y1,4 = b1 ∓ i·u, y2,3 = b2 ∓ i·v
      const ur = S1 * t3r + S2 * t4r;
      const ui = S1 * t3i + S2 * t4i;
      const vr = S2 * t3r - S1 * t4r;
      const vi = S2 * t3i - S1 * t4i;
      const o = o0 + r;
      yr[o] = x0r + t1r + t2r;
      yi[o] = x0i + t1i + t2i;
      const y1r = b1r + ui;
      const y1i = b1i - ur;
      yr[o + s] = y1r * w1r - y1i * w1i;
      yi[o + s] = y1r * w1i + y1i * w1r;
      const y2r = b2r + vi;
      const y2i = b2i - vr;
      yr[o + 2 * s] = y2r * w2r - y2i * w2i;
      yi[o + 2 * s] = y2r * w2i + y2i * w2r;
      const y3r = b2r - vi;
      const y3i = b2i + vr;
      yr[o + 3 * s] = y3r * w3r - y3i * w3i;
      yi[o + 3 * s] = y3r * w3i + y3i * w3r;
      const y4r = b1r - ui;
      const y4i = b1i + ur;
      yr[o + 4 * s] = y4r * w4r - y4i * w4i;
      yi[o + 4 * s] = y4r * w4i + y4i * w4r;
    }
  }
}

function radixGeneric(
  st: Stage,
  xr: Float64Array,
  xi: Float64Array,
  yr: Float64Array,
  yi: Float64Array,
  scratch: Float64Array,
): void {
  const { p, stride: s, tw, dft } = st;
  const m = st.len / p;
  const sm = s * m;
  for (let q = 0; q < m; q++) {
    for (let r = 0; r < s; r++) {
      const a = s * q + r;
      for (let j = 0; j < p; j++) {
        scratch[2 * j] = xr[a + j * sm]!;
        scratch[2 * j + 1] = xi[a + j * sm]!;
      }
      const o = s * p * q + r;
      for (let k = 0; k < p; k++) {
        let sr = 0;
        let si = 0;
        for (let j = 0; j < p; j++) {
          const cr = dft[2 * (j * p + k)]!;
          const ci = dft[2 * (j * p + k) + 1]!;
          const vr = scratch[2 * j]!;
          const vi = scratch[2 * j + 1]!;
          sr += vr * cr - vi * ci;
          si += vr * ci + vi * cr;
        }
        if (k === 0) {
          yr[o] = sr;
          yi[o] = si;
        } else {
          const wr = tw[2 * (q * (p - 1) + k - 1)]!;
          const wi = tw[2 * (q * (p - 1) + k - 1) + 1]!;
          yr[o + k * s] = sr * wr - si * wi;
          yi[o + k * s] = sr * wi + si * wr;
        }
      }
    }
  }
}

/**
 * DFT of a real sequence of even length `size`, bins 0..size/2, through a complex FFT of
 * length size/2 on z[t] = x[2t] + i·x[2t+1].
 */
export class RealFft {
  readonly size: number;
  /** number of output bins: size/2 + 1 */
  readonly bins: number;
  private readonly half: number;
  private readonly fft: ComplexFft;
  private readonly zr: Float64Array;
  private readonly zi: Float64Array;
  /** e^(−2πi·k/size) for k = 0..size/2 */
  private readonly wr: Float64Array;
  private readonly wi: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 2 || size % 2 !== 0) {
      throw new RangeError(`real FFT size must be an even integer ≥ 2, got ${size}`);
    }
    this.size = size;
    this.half = size / 2;
    this.bins = this.half + 1;
    this.fft = new ComplexFft(this.half);
    this.zr = new Float64Array(this.half);
    this.zi = new Float64Array(this.half);
    this.wr = new Float64Array(this.bins);
    this.wi = new Float64Array(this.bins);
    for (let k = 0; k < this.bins; k++) {
      const angle = (-2 * Math.PI * k) / size;
      this.wr[k] = Math.cos(angle);
      this.wi[k] = Math.sin(angle);
    }
  }

  /**
   * Transform `input[offset .. offset+size)` multiplied element-wise by `window` (when given,
   * length `size`), writing the complex spectrum to (outRe, outIm), each of length ≥ bins.
   */
  transform(
    input: ArrayLike<number>,
    outRe: Float64Array,
    outIm: Float64Array,
    window?: ArrayLike<number>,
    offset = 0,
  ): void {
    this.pack(input, window, offset);
    const { half, zr, zi, wr, wi } = this;
    for (let k = 0; k <= half; k++) {
      const b = k === 0 || k === half ? 0 : half - k;
      const a = k === half ? 0 : k;
      const ar = zr[a]!;
      const ai = zi[a]!;
      const br = zr[b]!;
      const bi = zi[b]!;
      // even part (Z[k] + conj Z[−k]) / 2, odd part (Z[k] − conj Z[−k]) / 2i
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = -0.5 * (ar - br);
      const cr = wr[k]!;
      const ci = wi[k]!;
      outRe[k] = er + or * cr - oi * ci;
      outIm[k] = ei + or * ci + oi * cr;
    }
  }

  /** Like {@link transform} but writes the power spectrum |X[k]|², k = 0..size/2, to `out`. */
  power(input: ArrayLike<number>, out: Float64Array, window?: ArrayLike<number>, offset = 0): void {
    this.pack(input, window, offset);
    const { half, zr, zi, wr, wi } = this;
    for (let k = 0; k <= half; k++) {
      const b = k === 0 || k === half ? 0 : half - k;
      const a = k === half ? 0 : k;
      const ar = zr[a]!;
      const ai = zi[a]!;
      const br = zr[b]!;
      const bi = zi[b]!;
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = -0.5 * (ar - br);
      const cr = wr[k]!;
      const ci = wi[k]!;
      const xr = er + or * cr - oi * ci;
      const xi = ei + or * ci + oi * cr;
      out[k] = xr * xr + xi * xi;
    }
  }

  private pack(input: ArrayLike<number>, window: ArrayLike<number> | undefined, offset: number): void {
    const { half, zr, zi } = this;
    if (offset < 0 || offset + this.size > input.length) {
      throw new RangeError(`real FFT needs ${this.size} samples from offset ${offset}, input has ${input.length}`);
    }
    if (window) {
      for (let t = 0; t < half; t++) {
        const j = offset + 2 * t;
        zr[t] = input[j]! * window[2 * t]!;
        zi[t] = input[j + 1]! * window[2 * t + 1]!;
      }
    } else {
      for (let t = 0; t < half; t++) {
        zr[t] = input[offset + 2 * t]!;
        zi[t] = input[offset + 2 * t + 1]!;
      }
    }
    this.fft.transform(zr, zi);
  }
}
