import { describe, expect, test } from "bun:test";
import { rng, sine } from "../../test/helpers/wav.ts";
import { kernelBytes, simdKernel } from "./resample-simd.ts";
import { Resampler, designFor, resample } from "./resample.ts";

/** Amplitude of the `freq` component of x[from..to) (Hann-windowed single-bin DFT). */
function toneAmplitude(x: Float32Array, freq: number, rate: number, from: number, to: number): number {
  let re = 0;
  let im = 0;
  let wsum = 0;
  for (let i = from; i < to; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i - from)) / (to - from));
    const ph = (2 * Math.PI * freq * i) / rate;
    re += w * x[i]! * Math.cos(ph);
    im += w * x[i]! * Math.sin(ph);
    wsum += w;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}

function rms(x: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

const db = (v: number) => 20 * Math.log10(v);
const RATES = [8000, 11025, 22050, 37000, 44100, 48000, 96000, 192000];

describe("Resampler: frequency response", () => {
  for (const rate of RATES) {
    test(`${rate} Hz: passband flat within 0.1 dB up to min(7 kHz, 0.45·f_in)`, () => {
      const edge = Math.min(7000, 0.45 * rate);
      for (const f of [50, 440, 1000, 2500, edge * 0.7, edge]) {
        const y = resample(sine(f, rate, 0.5, 0.5), rate);
        const gain = toneAmplitude(y, f, 16000, 800, 7200) / 0.5;
        expect(Math.abs(db(gain))).toBeLessThan(0.1);
      }
    });
  }

  for (const rate of RATES.filter((r) => r > 16000)) {
    test(`${rate} Hz: everything from 8 kHz to f_in/2 is attenuated by ≥ 60 dB`, () => {
      const top = rate / 2;
      for (let i = 0; i <= 24; i++) {
        const f = 8000 + ((top - 8000) * i) / 25;
        const y = resample(sine(f, rate, 0.25, 0.5), rate);
        // whatever it aliases to, the output must stay 60 dB under the input (RMS 0.5/√2)
        expect(db(rms(y, 400, 3600) / (0.5 / Math.SQRT2))).toBeLessThan(-60);
      }
    });
  }

  for (const rate of RATES.filter((r) => r < 16000)) {
    test(`${rate} Hz: images from f_in/2 upward are attenuated by ≥ 60 dB`, () => {
      for (const f of [300, 1000, 2000, 0.45 * rate, rate / 2 - 40]) {
        const y = resample(sine(f, rate, 1, 0.5), rate);
        const image = rate - f;
        expect(db(toneAmplitude(y, image, 16000, 1000, 15000) / 0.5)).toBeLessThan(-60);
      }
    });
  }

  test("the design reports the specified band edges", () => {
    expect(designFor(48000, 16000)).toMatchObject({ passHz: 7000, stopHz: 8000 });
    expect(designFor(8000, 16000)).toMatchObject({ passHz: 3600, stopHz: 4000 });
    expect(designFor(15000, 16000)).toMatchObject({ passHz: 6750, stopHz: 7500 });
  });
});

describe("Resampler: timing and length", () => {
  test("output length is round(N·16000/f_in) for any N", () => {
    const r = rng(3);
    for (const rate of [...RATES, 16001, 44099, 12345]) {
      for (const n of [0, 1, 2, 3, 7, 100, 441, 1000 + Math.floor(r() * 20000)]) {
        expect(resample(new Float32Array(n), rate).length).toBe(Math.round((n * 16000) / rate));
      }
    }
  });

  test("zero delay: a sine comes out at the same phase, sample by sample", () => {
    for (const rate of [...RATES, 44099, 37000]) {
      const f = 997;
      const y = resample(sine(f, rate, 0.3, 0.5, 0.3), rate);
      const ideal = Float32Array.from({ length: y.length }, (_, k) => 0.5 * Math.sin((2 * Math.PI * f * k) / 16000 + 0.3));
      let worst = 0;
      // away from the edges, where the missing samples are zeros
      for (let k = 200; k < y.length - 200; k++) worst = Math.max(worst, Math.abs(y[k]! - ideal[k]!));
      expect(worst).toBeLessThan(2e-3);
    }
  });

  test("zero delay: a click lands at its own time", () => {
    for (const [rate, at] of [
      [48000, 3000],
      [8000, 500],
      [44100, 2205],
      [96000, 6000],
    ] as const) {
      const x = new Float32Array(rate / 10);
      x[at] = 1;
      const y = resample(x, rate);
      let peak = 0;
      for (let k = 1; k < y.length; k++) if (Math.abs(y[k]!) > Math.abs(y[peak]!)) peak = k;
      expect(peak).toBe((at * 16000) / rate);
      // symmetric kernel: equal neighbours either side
      expect(Math.abs(y[peak - 1]! - y[peak + 1]!)).toBeLessThan(1e-6);
    }
  });

  test("the first and last samples are kept (edges are not swallowed by the filter)", () => {
    const x = new Float32Array(48000).fill(0.5);
    const y = resample(x, 48000);
    // a step at the start is half-height at t = 0 and settles within ~2 ms
    expect(y[0]!).toBeGreaterThan(0.2);
    expect(Math.abs(y[64]! - 0.5)).toBeLessThan(1e-3);
    expect(Math.abs(y[y.length - 65]! - 0.5)).toBeLessThan(1e-3);
  });
});

describe("Resampler: streaming", () => {
  for (const rate of [8000, 11025, 22050, 37000, 44100, 44099, 48000, 192000]) {
    test(`${rate} Hz: chunked output equals whole-buffer output for random chunk sizes`, () => {
      const r = rng(rate);
      const x = Float32Array.from({ length: Math.round(rate * 0.4) }, () => r() * 2 - 1);
      const whole = resample(x, rate);
      for (const maxChunk of [1, 7, 160, 5000]) {
        const rs = new Resampler(rate);
        const parts: number[] = [];
        for (let i = 0; i < x.length; ) {
          const n = Math.floor(r() * (maxChunk + 1)); // includes empty chunks
          for (const v of rs.process(x.subarray(i, i + n))) parts.push(v);
          i += n;
        }
        for (const v of rs.flush()) parts.push(v);
        expect(parts.length).toBe(whole.length);
        let worst = 0;
        for (let k = 0; k < whole.length; k++) worst = Math.max(worst, Math.abs(parts[k]! - whole[k]!));
        expect(worst).toBeLessThanOrEqual(1e-6);
      }
    });
  }

  test("flush resets: the same instance resamples a second stream identically", () => {
    const rs = new Resampler(44100);
    const x = sine(1234, 44100, 0.1);
    const a = [...rs.process(x), ...rs.flush()];
    const b = [...rs.process(x), ...rs.flush()];
    expect(b).toEqual(a);
  });

  test("16 kHz input passes through untouched", () => {
    const r = rng(9);
    const x = Float32Array.from({ length: 999 }, () => r() * 2 - 1);
    const rs = new Resampler(16000);
    const y = [...rs.process(x.subarray(0, 500)), ...rs.process(x.subarray(500)), ...rs.flush()];
    expect(y).toEqual(Array.from(x));
    expect(rs.design).toBeNull();
  });

  test("rejects a non-integer or non-positive rate", () => {
    expect(() => new Resampler(0)).toThrow();
    expect(() => new Resampler(44100.5)).toThrow();
  });
});

describe("Resampler: the WebAssembly SIMD kernel", () => {
  /** whole stream through `rs`, in chunks of `chunk` */
  function through(rs: Resampler, x: Float32Array, chunk: number): Float32Array {
    const parts: number[] = [];
    for (let i = 0; i < x.length; i += chunk) for (const v of rs.process(x.subarray(i, i + chunk))) parts.push(v);
    for (const v of rs.flush()) parts.push(v);
    return Float32Array.from(parts);
  }
  const worstDiff = (a: Float32Array, b: Float32Array) => a.reduce((w, v, k) => Math.max(w, Math.abs(v - b[k]!)), 0);

  test("is valid WebAssembly and runs here (Bun has SIMD), so the tests above test it", () => {
    expect(WebAssembly.validate(kernelBytes())).toBe(true);
    expect(simdKernel()).not.toBeNull();
  });

  test("gives the JavaScript loop's output (f64 sums) within 1e-6, at every exact ratio, in big and odd-sized chunks", () => {
    const r = rng(11);
    for (const rate of [8000, 11025, 22050, 37000, 44100, 48000, 96000, 192000]) {
      const x = Float32Array.from({ length: Math.round(rate * 0.7) }, () => r() * 2 - 1);
      const js = through(new Resampler(rate, 16000, { simd: false }), x, 100_000);
      for (const chunk of [100_000, 4097, 333]) {
        const simd = through(new Resampler(rate), x, chunk);
        expect({ rate, chunk, n: simd.length }).toEqual({ rate, chunk, n: js.length });
        expect(worstDiff(simd, js)).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  test("tables resident for many rate pairs at once (the arena starts over): every stream still right", () => {
    // exact tables of 0.7–2.8 MB each: together more than the kernel keeps at once
    const rates = [12346, 11002, 37004, 24692, 22004, 44104, 12348, 24690, 49380, 44100];
    const r = rng(5);
    const xs = rates.map((rate) => Float32Array.from({ length: Math.round(rate * 0.05) }, () => r() * 2 - 1));
    const want = rates.map((rate, i) => through(new Resampler(rate, 16000, { simd: false }), xs[i]!, 1 << 20));
    const live = rates.map((rate) => new Resampler(rate));
    // interleaved, as concurrent sessions would run, twice over
    for (let round = 0; round < 2; round++) {
      rates.forEach((rate, i) => {
        expect({ rate, round, worst: worstDiff(through(live[i]!, xs[i]!, 1000), want[i]!) <= 1e-6 }).toEqual({ rate, round, worst: true });
      });
    }
  });
});
