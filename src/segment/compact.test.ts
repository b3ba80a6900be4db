import { describe, expect, test } from "bun:test";
import { rng } from "../../test/helpers/wav.ts";
import { isGigasttError } from "../errors.ts";
import { compactPauses } from "./compact.ts";
import { frameEnergyDb } from "./energy.ts";

const SR = 16000;

function tone(seconds: number, amp: number, hz = 440): Float32Array {
  const n = Math.round(seconds * SR);
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / SR));
}
const silence = (seconds: number): Float32Array => new Float32Array(Math.round(seconds * SR));
function noise(seconds: number, amp: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: Math.round(seconds * SR) }, () => (2 * r() - 1) * amp);
}
function concat(...xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}
function add(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]!);
}
/** amplitude of a sine whose RMS is `db` dBFS */
const sineAmp = (db: number): number => Math.SQRT2 * 10 ** (db / 20);
/** amplitude of uniform noise whose RMS is `db` dBFS */
const noiseAmp = (db: number): number => Math.sqrt(3) * 10 ** (db / 20);

const spans = (x: Float32Array) => compactPauses(x).kept.map((s) => [s.start, s.length]);

describe("compactPauses: what is kept", () => {
  test("a 2 s silence between tones shrinks to 300 ms, 150 ms kept on each side", () => {
    const x = concat(tone(1, 0.5), silence(2), tone(1, 0.5, 700));
    const c = compactPauses(x);
    expect(c.kept).toEqual([
      { start: 0, length: 18400, outStart: 0 }, // tone + 150 ms
      { start: 45600, length: 18400, outStart: 18400 }, // 150 ms + tone
    ]);
    expect(c.samples.length).toBe(36800);
    expect(c.removedSeconds).toBeCloseTo(1.7, 9);
    // the kept audio is the original, bit for bit, apart from the 3 ms crossfade (which is silence here)
    expect(c.samples.subarray(0, 18400)).toEqual(x.subarray(0, 18400));
    expect(c.samples.subarray(18400)).toEqual(x.subarray(45600));
  });

  test("leading and trailing silence keep 150 ms next to the sound", () => {
    const x = concat(silence(1), tone(1, 0.5), silence(1));
    expect(spans(x)).toEqual([[13600, 20800]]);
    expect(compactPauses(x).samples).toEqual(x.subarray(13600, 34400));
  });

  test("runs from 600 ms are shortened, shorter ones are left alone", () => {
    const at = (ms: number) => concat(tone(0.5, 0.5), silence(ms / 1000), tone(0.5, 0.5, 900));
    expect(spans(at(600))).toEqual([
      [0, 8000 + 2400],
      [8000 + 9600 - 2400, 2400 + 8000],
    ]);
    const shorter = at(590);
    expect(compactPauses(shorter).samples).toBe(shorter);
    expect(compactPauses(at(200)).removedSeconds).toBe(0);
  });

  test("every long pause is shortened; noise up to ±0.001 counts as a pause", () => {
    const x = concat(silence(0.2), tone(0.5, 0.3), noise(1.5, 0.001, 1), tone(0.4, 0.3, 600), silence(3), tone(0.3, 0.3, 800), silence(0.2));
    const c = compactPauses(x);
    expect(c.kept.length).toBe(3);
    expect(c.removedSeconds).toBeCloseTo(1.2 + 2.7, 9);
    expect(c.samples.length).toBe(x.length - Math.round(3.9 * SR));
  });

  test("options: keepMs and minRunMs", () => {
    const x = concat(tone(0.5, 0.5), silence(1), tone(0.5, 0.5));
    const c = compactPauses(x, { keepMs: 100, minRunMs: 1000 });
    expect(c.kept.map((s) => [s.start, s.length])).toEqual([
      [0, 8800],
      [24000 - 800, 8800],
    ]);
    expect(compactPauses(x, { minRunMs: 1010 }).removedSeconds).toBe(0);
  });
});

describe("compactPauses: soft speech is never removed", () => {
  test("a −40 dBFS tone at the very start of a segment is kept whole", () => {
    const soft = tone(1, sineAmp(-40), 300);
    const x = concat(soft, silence(2), tone(1, 0.5));
    const c = compactPauses(x);
    expect(c.kept[0]!.start).toBe(0);
    expect(c.kept[0]!.length).toBe(16000 + 2400);
    expect(c.samples.subarray(0, 16000)).toEqual(soft);
  });

  test("a soft tone with no pause anywhere in the segment: nothing is removed", () => {
    for (const db of [-40, -45, -50]) {
      const x = concat(tone(1.5, sineAmp(db), 300), tone(1.5, 0.5));
      expect(compactPauses(x).samples).toBe(x);
      const y = concat(tone(1, 0.5), tone(2, sineAmp(db), 300), tone(1, 0.5));
      expect(compactPauses(y).samples).toBe(y);
    }
  });

  test("over a quiet background, a soft voice a few dB above the noise is kept while the noise pauses shrink", () => {
    const bg = noise(6, noiseAmp(-56), 3);
    // 0.5 s pause, 2 s soft tone 8 dB above the noise, 1 s pause, loud tone, 2 s pause
    const x = add(bg, concat(silence(0.5), tone(2, sineAmp(-48), 300), silence(1), tone(0.5, 0.5), silence(2)));
    const c = compactPauses(x);
    const soft = [8000, 8000 + 32000] as const;
    // the soft tone lies inside one kept span, untouched
    const span = c.kept.find((s) => s.start <= soft[0] && s.start + s.length >= soft[1]);
    expect(span).toBeDefined();
    expect(c.samples.subarray(span!.outStart + soft[0] - span!.start, span!.outStart + soft[1] - span!.start)).toEqual(x.subarray(...soft));
    // the 1 s and 2 s noise pauses after it are shortened
    expect(c.removedSeconds).toBeCloseTo(0.7 + 1.85, 9);
  });

  test("over a loud background (floor above −52 dB) nothing is removed", () => {
    const x = add(noise(4, noiseAmp(-45), 4), concat(tone(1, 0.5), silence(2), tone(1, 0.5)));
    expect(compactPauses(x).samples).toBe(x);
  });
});

describe("compactPauses: toOriginal", () => {
  const x = concat(silence(1), tone(1, 0.5), silence(2), tone(1, 0.5, 700), silence(1));
  const c = compactPauses(x);

  test("is exact at the splice points: a start maps after the removed run, an end before it", () => {
    expect(c.kept.map((s) => [s.start, s.length, s.outStart])).toEqual([
      [13600, 20800, 0],
      [61600, 20800, 20800],
    ]);
    expect(c.toOriginal(0)).toBe(0.85);
    expect(c.toOriginal(20800 / SR)).toBe(61600 / SR);
    expect(c.toOriginal(20800 / SR, "end")).toBe(34400 / SR);
    expect(c.toOriginal(0.5)).toBeCloseTo(1.35, 12);
    expect(c.toOriginal(2, "end")).toBeCloseTo(4.55, 12);
  });

  test("maps every kept sample back to its original position", () => {
    for (const s of c.kept) {
      for (let i = 0; i < s.length; i += 97) {
        expect(c.toOriginal((s.outStart + i) / SR)).toBeCloseTo((s.start + i) / SR, 9);
        if (i > 0) expect(c.toOriginal((s.outStart + i) / SR, "end")).toBeCloseTo((s.start + i) / SR, 9);
      }
    }
  });

  test("is monotone, for starts and for ends", () => {
    let prevStart = -Infinity;
    let prevEnd = -Infinity;
    for (let t = 0; t <= c.samples.length / SR + 0.2; t += 0.001) {
      const s = c.toOriginal(t);
      const e = c.toOriginal(t, "end");
      expect(s).toBeGreaterThanOrEqual(prevStart);
      expect(e).toBeGreaterThanOrEqual(prevEnd);
      expect(s).toBeGreaterThanOrEqual(e);
      prevStart = s;
      prevEnd = e;
    }
  });

  test("word times on the 40 ms grid (rounded to 1 µs) hit splice points exactly", () => {
    // 20800 samples = 1.3 s: not on the 40 ms grid; a splice at 0.64 s is
    const y = concat(tone(0.49, 0.5), silence(1), tone(0.5, 0.5));
    const d = compactPauses(y);
    expect(d.kept[1]!.outStart).toBe(10240);
    const t = Math.round(16 * 0.04 * 1e6) / 1e6;
    expect(d.toOriginal(t)).toBe(d.kept[1]!.start / SR);
    expect(d.toOriginal(t, "end")).toBe(0.64);
  });
});

describe("compactPauses: nothing to do, bad input", () => {
  test("empty, short, quiet-throughout and speech-throughout input is returned as is", () => {
    for (const x of [new Float32Array(0), silence(0.3), silence(5), noise(5, 0.001, 9), tone(3, 0.5), concat(tone(1, 0.5), silence(0.3), tone(1, 0.5))]) {
      const c = compactPauses(x);
      expect(c.samples).toBe(x);
      expect(c.removedSeconds).toBe(0);
      expect(c.toOriginal(1.234)).toBe(1.234);
    }
  });

  test("NaN and Infinity read as loud: never removed, never spread by the crossfade", () => {
    const x = concat(tone(0.5, 0.5), silence(2), tone(0.5, 0.5));
    x[8000 + 16000] = Number.NaN; // in the middle of the pause
    x[8000 + 4000] = Number.POSITIVE_INFINITY;
    const c = compactPauses(x);
    expect(c.kept.some((s) => s.start <= 24000 && s.start + s.length > 24000)).toBe(true);
    expect(c.kept.some((s) => s.start <= 12000 && s.start + s.length > 12000)).toBe(true);
    expect(c.samples.filter((v) => Number.isNaN(v)).length).toBe(1);
    expect(c.samples.filter((v) => v === Number.POSITIVE_INFINITY).length).toBe(1);
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const all = new Float32Array(32000).fill(v);
      expect(compactPauses(all).samples).toBe(all);
    }
    expect(frameEnergyDb(x, 24000, 24160)).toBe(0);
  });

  test("garbage times map to something finite or pass through", () => {
    const c = compactPauses(concat(tone(0.5, 0.5), silence(2), tone(0.5, 0.5)));
    expect(c.toOriginal(-1)).toBe(-1);
    expect(Number.isNaN(c.toOriginal(Number.NaN))).toBe(true);
    expect(c.toOriginal(100)).toBeCloseTo(100 + c.removedSeconds, 9);
  });

  test("rejects bad options with invalid_config", () => {
    const x = silence(1);
    for (const o of [{ sampleRate: 0 }, { keepMs: 0 }, { minRunMs: 100 }, { keepMs: Number.NaN }, { crossfadeMs: -1 }, { crossfadeMs: 200 }]) {
      let err: unknown;
      try {
        compactPauses(x, o);
      } catch (e) {
        err = e;
      }
      expect(isGigasttError(err) && err.code).toBe("invalid_config");
    }
  });
});
