import { describe, expect, test } from "bun:test";
import { ComplexFft, RealFft } from "./fft.ts";

/** Deterministic pseudo-random values in [−1, 1). */
function noise(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Reference O(n²) DFT in float64. */
function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      const c = Math.cos(a);
      const s = Math.sin(a);
      sr += re[t]! * c - im[t]! * s;
      si += re[t]! * s + im[t]! * c;
    }
    outRe[k] = sr;
    outIm[k] = si;
  }
  return [outRe, outIm];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, count = a.length): number {
  let worst = 0;
  for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe("ComplexFft", () => {
  // radix 4/2/5 paths (160 = 4·4·2·5), the generic butterfly (3, 7, 11) and trivial sizes
  for (const n of [1, 2, 3, 4, 5, 8, 10, 12, 20, 40, 77, 96, 160, 210]) {
    test(`matches a naive DFT for n = ${n}`, () => {
      const re = noise(n, n);
      const im = noise(n, n + 1000);
      const [wantRe, wantIm] = naiveDft(re, im);
      new ComplexFft(n).transform(re, im);
      expect(maxAbsDiff(re, wantRe)).toBeLessThan(1e-11 * n);
      expect(maxAbsDiff(im, wantIm)).toBeLessThan(1e-11 * n);
    });
  }

  test("an impulse at t = 1 gives the twiddle sequence e^(−2πik/n)", () => {
    const n = 160;
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    re[1] = 1;
    new ComplexFft(n).transform(re, im);
    for (let k = 0; k < n; k++) {
      expect(re[k]).toBeCloseTo(Math.cos((-2 * Math.PI * k) / n), 12);
      expect(im[k]).toBeCloseTo(Math.sin((-2 * Math.PI * k) / n), 12);
    }
  });

  test("is reusable: the same input gives the same output twice", () => {
    const fft = new ComplexFft(160);
    const run = () => {
      const re = noise(160, 7);
      const im = noise(160, 8);
      fft.transform(re, im);
      return [re, im];
    };
    const [a, b] = run();
    const [c, d] = run();
    expect(Array.from(c!)).toEqual(Array.from(a!));
    expect(Array.from(d!)).toEqual(Array.from(b!));
  });

  test("rejects bad sizes and mismatched buffers", () => {
    expect(() => new ComplexFft(0)).toThrow(RangeError);
    expect(() => new ComplexFft(1.5)).toThrow(RangeError);
    expect(() => new ComplexFft(8).transform(new Float64Array(4), new Float64Array(4))).toThrow(RangeError);
  });
});

describe("RealFft", () => {
  for (const n of [2, 4, 10, 64, 320]) {
    test(`matches a naive DFT of real input, bins 0..n/2, for n = ${n}`, () => {
      const x = noise(n, 3 * n);
      const [wantRe, wantIm] = naiveDft(x, new Float64Array(n));
      const fft = new RealFft(n);
      const re = new Float64Array(fft.bins);
      const im = new Float64Array(fft.bins);
      fft.transform(x, re, im);
      expect(fft.bins).toBe(n / 2 + 1);
      expect(maxAbsDiff(re, wantRe, fft.bins)).toBeLessThan(1e-11 * n);
      expect(maxAbsDiff(im, wantIm, fft.bins)).toBeLessThan(1e-11 * n);
      // DC and Nyquist bins of a real signal are real
      expect(im[0]).toBe(0);
      expect(Math.abs(im[n / 2]!)).toBeLessThan(1e-12 * n);
    });
  }

  test("power() is |X|² of the windowed frame at the given offset", () => {
    const n = 320;
    const signal = noise(1000, 42);
    const window = noise(n, 43);
    const offset = 480;
    const frame = new Float64Array(n);
    for (let t = 0; t < n; t++) frame[t] = signal[offset + t]! * window[t]!;
    const [wantRe, wantIm] = naiveDft(frame, new Float64Array(n));
    const fft = new RealFft(n);
    const power = new Float64Array(fft.bins);
    fft.power(signal, power, window, offset);
    for (let k = 0; k < fft.bins; k++) {
      const want = wantRe[k]! ** 2 + wantIm[k]! ** 2;
      expect(Math.abs(power[k]! - want)).toBeLessThan(1e-9 * (1 + want));
    }
  });

  test("Parseval: Σ|x|² = (|X0|² + 2·Σ|Xk|² + |X_{n/2}|²) / n", () => {
    const n = 320;
    const x = noise(n, 9);
    const fft = new RealFft(n);
    const p = new Float64Array(fft.bins);
    fft.power(x, p);
    let energy = 0;
    for (const v of x) energy += v * v;
    let spectral = p[0]! + p[n / 2]!;
    for (let k = 1; k < n / 2; k++) spectral += 2 * p[k]!;
    expect(spectral / n).toBeCloseTo(energy, 9);
  });

  test("a cosine at bin 37 puts all its power in bin 37", () => {
    const n = 320;
    const x = Float64Array.from({ length: n }, (_, t) => Math.cos((2 * Math.PI * 37 * t) / n));
    const fft = new RealFft(n);
    const p = new Float64Array(fft.bins);
    fft.power(x, p);
    expect(p[37]).toBeCloseTo((n / 2) ** 2, 6);
    for (let k = 0; k < fft.bins; k++) if (k !== 37) expect(p[k]!).toBeLessThan(1e-18 * n * n);
  });

  test("rejects odd sizes and frames that run past the input", () => {
    expect(() => new RealFft(7)).toThrow(RangeError);
    const fft = new RealFft(8);
    const out = new Float64Array(5);
    expect(() => fft.power(new Float64Array(10), out, undefined, 3)).toThrow(RangeError);
    expect(() => fft.power(new Float64Array(10), out, undefined, -1)).toThrow(RangeError);
  });
});
