import { describe, expect, test } from "bun:test";
import { concat, rng } from "../../test/helpers/wav.ts";
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
function add(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]!);
}
/** amplitude of a sine whose RMS is `db` dBFS */
const sineAmp = (db: number): number => Math.SQRT2 * 10 ** (db / 20);
/** amplitude of uniform noise whose RMS is `db` dBFS */
const noiseAmp = (db: number): number => Math.sqrt(3) * 10 ** (db / 20);

const spans = (x: Float32Array) => compactPauses(x).kept.map((s) => [s.start, s.length]);
/** samples in `k` 10 ms frames */
const F = (k: number): number => k * 160;

// Energies are smoothed over ±2 frames, so a pause reads quiet from 20 ms after the sound to
// 20 ms before the next; 150 ms of that is kept on each side.
describe("compactPauses: what is kept", () => {
  test("a 2 s silence between tones shrinks to 340 ms: 20 + 150 ms kept on each side", () => {
    const x = concat(tone(1, 0.5), silence(2), tone(1, 0.5, 700));
    const c = compactPauses(x);
    // quiet frames 102..297, removed 117..282
    expect(c.kept).toEqual([
      { start: 0, length: F(117), outStart: 0 },
      { start: F(283), length: F(400 - 283), outStart: F(117) },
    ]);
    expect(c.samples.length).toBe(F(234));
    expect(c.removedSeconds).toBeCloseTo(1.66, 9);
    // the kept audio is the original, bit for bit, apart from the 3 ms crossfade (which is silence here)
    expect(c.samples.subarray(0, F(117))).toEqual(x.subarray(0, F(117)));
    expect(c.samples.subarray(F(117))).toEqual(x.subarray(F(283)));
  });

  test("leading and trailing silence keep 170 ms next to the sound", () => {
    const x = concat(silence(1), tone(1, 0.5), silence(1));
    expect(spans(x)).toEqual([[F(83), F(217 - 83)]]);
    expect(compactPauses(x).samples).toEqual(x.subarray(F(83), F(217)));
  });

  test("edge runs need no splice: from 300 ms they are trimmed (streaming utterances start and end mid-pause)", () => {
    // 400 ms of leading and 350 ms of trailing silence: trimmed to ~170 ms next to the tone
    const x = concat(silence(0.4), tone(1, 0.5), silence(0.35));
    const c = compactPauses(x);
    expect(c.removedSeconds).toBeGreaterThan(0.35);
    expect(c.removedSeconds).toBeLessThan(0.45);
    const onset = F(40);
    const kept = c.kept[0]!;
    expect(kept.start).toBeLessThanOrEqual(onset - F(15));
    expect(kept.start + kept.length).toBeGreaterThanOrEqual(F(140) + F(15));
    // the tone itself is untouched and times map back exactly
    expect(c.samples.subarray(onset - kept.start, onset - kept.start + F(100))).toEqual(x.subarray(onset, onset + F(100)));
    expect(c.toOriginal((onset - kept.start) / 16000)).toBeCloseTo(onset / 16000, 9);
    // under 300 ms at the edges: nothing to do
    const short = concat(silence(0.25), tone(1, 0.5), silence(0.25));
    expect(compactPauses(short).samples).toBe(short);
    // the option, and its bounds
    expect(compactPauses(x, { edgeMinRunMs: 600 }).samples).toBe(x);
    expect(() => compactPauses(x, { edgeMinRunMs: 100 })).toThrow("edgeMinRunMs");
  });

  test("runs from 600 ms of quiet frames are shortened, shorter ones are left alone", () => {
    const at = (ms: number) => concat(tone(0.5, 0.5), silence(ms / 1000), tone(0.5, 0.5, 900));
    // a 640 ms gap: quiet frames 52..111 (60 of them)
    expect(spans(at(640))).toEqual([
      [0, F(67)],
      [F(97), F(164 - 97)],
    ]);
    const shorter = at(630);
    expect(compactPauses(shorter).samples).toBe(shorter);
    expect(compactPauses(at(200)).removedSeconds).toBe(0);
  });

  test("every long pause is shortened, over digital silence or a faint noise background", () => {
    const speech = concat(silence(0.2), tone(0.5, 0.3), silence(1.5), tone(0.4, 0.3, 600), silence(3), tone(0.3, 0.3, 800), silence(0.2));
    for (const x of [speech, add(speech, noise(speech.length / SR, 0.001, 1))]) {
      const c = compactPauses(x);
      expect(c.kept.length).toBe(3);
      // 146 and 296 quiet frames, 30 kept of each
      expect(c.removedSeconds).toBeCloseTo(1.16 + 2.66, 9);
      expect(c.samples.length).toBe(x.length - F(116 + 266));
    }
  });

  test("options: keepMs and minRunMs", () => {
    const x = concat(tone(0.5, 0.5), silence(1), tone(0.5, 0.5));
    // quiet frames 52..147 (96)
    const c = compactPauses(x, { keepMs: 100, minRunMs: 900 });
    expect(c.kept.map((s) => [s.start, s.length])).toEqual([
      [0, F(57)],
      [F(143), F(200 - 143)],
    ]);
    expect(compactPauses(x, { minRunMs: 970 }).removedSeconds).toBe(0);
  });
});

describe("compactPauses: soft speech is never removed", () => {
  test("a −40 dBFS tone at the very start of a segment is kept whole", () => {
    const soft = tone(1, sineAmp(-40), 300);
    const x = concat(soft, silence(2), tone(1, 0.5));
    const c = compactPauses(x);
    expect(c.kept[0]!.start).toBe(0);
    expect(c.kept[0]!.length).toBe(F(100 + 2 + 15));
    expect(c.samples.subarray(0, 16000)).toEqual(soft);
  });

  test("a low-gain recording: a voice at −60 dBFS over a −85 dB background is kept, the pauses shrink", () => {
    const x = add(noise(6, noiseAmp(-85), 5), concat(silence(1), tone(2, sineAmp(-60), 300), silence(1), tone(1, sineAmp(-62), 500), silence(1)));
    const c = compactPauses(x);
    expect(c.removedSeconds).toBeCloseTo(0.83 + 0.66 + 0.83, 9);
    for (const [from, to] of [
      [F(100), F(300)],
      [F(400), F(500)],
    ] as const) {
      const span = c.kept.find((s) => s.start <= from && s.start + s.length >= to)!;
      expect(c.samples.subarray(span.outStart + from - span.start, span.outStart + to - span.start)).toEqual(x.subarray(from, to));
    }
  });

  test("a soft tone with no pause anywhere in the segment: nothing is removed", () => {
    for (const db of [-40, -45, -50]) {
      const x = concat(tone(1.5, sineAmp(db), 300), tone(1.5, 0.5));
      expect(compactPauses(x).samples).toBe(x);
      const y = concat(tone(1, 0.5), tone(2, sineAmp(db), 300), tone(1, 0.5));
      expect(compactPauses(y).samples).toBe(y);
    }
  });

  test("a soft voice 8 dB above a quiet background is kept while the background pauses shrink", () => {
    const bg = noise(6, noiseAmp(-56), 3);
    // 0.5 s pause, 2 s soft tone 8 dB above the noise, 1 s pause, loud tone, 2 s pause
    const x = add(bg, concat(silence(0.5), tone(2, sineAmp(-48), 300), silence(1), tone(0.5, 0.5), silence(2)));
    const c = compactPauses(x);
    const soft = [F(50), F(250)] as const;
    // the soft tone lies inside one kept span, untouched
    const span = c.kept.find((s) => s.start <= soft[0] && s.start + s.length >= soft[1]);
    expect(span).toBeDefined();
    expect(c.samples.subarray(span!.outStart + soft[0] - span!.start, span!.outStart + soft[1] - span!.start)).toEqual(x.subarray(...soft));
    // the 1 s and 2 s noise pauses after it are shortened (the soft tone's edge reads quiet 0–20 ms after it),
    // and the 0.5 s leading pause (an edge run ≥ 300 ms) is trimmed to ~150 ms before the soft tone
    expect(c.removedSeconds).toBeGreaterThanOrEqual(0.66 + 1.83 + 0.33 - 1e-9);
    expect(c.removedSeconds).toBeLessThanOrEqual(0.68 + 1.83 + 0.35 + 1e-9);
  });

  test("over a loud background (floor above −52 dB) only digital silence is removed", () => {
    const x = add(noise(4, noiseAmp(-45), 4), concat(tone(1, 0.5), silence(2), tone(1, 0.5)));
    expect(compactPauses(x).samples).toBe(x);
    const dropout = concat(x.subarray(0, F(150)), silence(1), x.subarray(F(150)));
    expect(compactPauses(dropout).removedSeconds).toBeCloseTo(0.66, 9);
  });
});

describe("compactPauses: toOriginal", () => {
  const x = concat(silence(1), tone(1, 0.5), silence(2), tone(1, 0.5, 700), silence(1));
  const c = compactPauses(x);

  test("is exact at the splice points: a start maps after the removed run, an end before it", () => {
    expect(c.kept.map((s) => [s.start, s.length, s.outStart])).toEqual([
      [F(83), F(134), 0],
      [F(383), F(134), F(134)],
    ]);
    expect(c.toOriginal(0)).toBe(0.83);
    expect(c.toOriginal(F(134) / SR)).toBe(F(383) / SR);
    expect(c.toOriginal(F(134) / SR, "end")).toBe(F(217) / SR);
    expect(c.toOriginal(0.5)).toBeCloseTo(1.33, 12);
    expect(c.toOriginal(2, "end")).toBeCloseTo(3.83 + 2 - 1.34, 12);
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
    // 1.34 s is not on the 40 ms grid; a splice at 0.64 s is
    const y = concat(tone(0.47, 0.5), silence(1), tone(0.5, 0.5));
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

describe("compactPauses with an outside mask (the VAD's non-speech)", () => {
  test("exactly the masked runs are shortened (keepMs/2 next to each side), removed runs in whole units, times mapped back", () => {
    const n = 16000 * 3;
    const x = new Float32Array(n).fill(0.3); // loud everywhere: energy would remove nothing
    const mask = new Uint8Array(n / 160);
    for (let f = 100; f < 200; f++) mask[f] = 1; // 1.0–2.0 s is non-speech
    const c = compactPauses(x, { minRunMs: 500, keepMs: 400, edgeMinRunMs: 250, removable: mask, removeMultipleOf: 640 });
    // [1.2 s, 1.8 s) would go: 9600 samples = 15 × 640 exactly
    expect(c.kept.map((k) => [k.start, k.length])).toEqual([
      [0, 19200],
      [28800, 19200],
    ]);
    expect(c.removedSeconds).toBe(0.6);
    expect(c.toOriginal(1.2)).toBeCloseTo(1.8, 6);
    expect(c.toOriginal(1.2, "end")).toBeCloseTo(1.2, 6);
    expect(c.toOriginal(0.5)).toBeCloseTo(0.5, 6);
    // a run whose removable part is not a whole unit leaves the remainder in place
    const odd = new Uint8Array(n / 160);
    for (let f = 100; f < 203; f++) odd[f] = 1;
    const d = compactPauses(x, { minRunMs: 500, keepMs: 400, edgeMinRunMs: 250, removable: odd, removeMultipleOf: 640 });
    expect((d.removedSeconds * 16000) % 640).toBe(0);
    expect(d.removedSeconds).toBe(0.6);
    // no mask: the loud signal keeps every sample
    expect(compactPauses(x).removedSeconds).toBe(0);
  });
});
