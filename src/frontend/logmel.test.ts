import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { f32Bits } from "./bf16.ts";
import { HOP, LogMelExtractor, logMelSpectrogram, melFrameCount, N_FFT, N_MELS } from "./logmel.ts";
import { melFiltersBf16 } from "./mel-filters.ts";
import { bf16PeriodicHann } from "./window.ts";

const FIXTURES = join(import.meta.dir, "../../test/fixtures/frontend");
const LN_FLOOR = Math.log(1e-9); // −20.7233

/** Minimal RIFF/WAVE reader for the fixture: mono 16-bit PCM → float samples (int16 / 32768). */
function readPcm16Wav(path: string): { sampleRate: number; samples: Float32Array } {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error(`${path}: not a WAVE file`);
  let sampleRate = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      if (view.getUint16(body, true) !== 1 || view.getUint16(body + 2, true) !== 1 || view.getUint16(body + 14, true) !== 16) {
        throw new Error(`${path}: expected mono 16-bit PCM`);
      }
      sampleRate = view.getUint32(body + 4, true);
    } else if (id === "data") {
      const samples = new Float32Array(size >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(body + 2 * i, true) / 32768;
      return { sampleRate, samples };
    }
    at = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

function tone(hz: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(16000 * seconds) }, (_, t) => amplitude * Math.sin((2 * Math.PI * hz * t) / 16000));
}

describe("melFrameCount", () => {
  test("is floor((N − 320) / 160) + 1, and 0 below one window", () => {
    const cases: [number, number][] = [
      [0, 0],
      [1, 0],
      [319, 0],
      [320, 1],
      [479, 1],
      [480, 2],
      [16000, 99],
      [16000 * 60, 5999],
    ];
    for (const [n, frames] of cases) expect(melFrameCount(n)).toBe(frames);
    for (let n = 320; n < 2000; n += 37) expect(melFrameCount(n)).toBe(Math.floor((n - N_FFT) / HOP) + 1);
  });
});

describe("logMelSpectrogram", () => {
  test("shorter than one window: no frames, empty features", () => {
    for (const n of [0, 1, 319]) {
      const { features, frames } = logMelSpectrogram(new Float32Array(n));
      expect(frames).toBe(0);
      expect(features.length).toBe(0);
    }
  });

  test("1 s of digital silence: 99 frames, every value ln(1e-9)", () => {
    const { features, frames } = logMelSpectrogram(new Float32Array(16000));
    expect(frames).toBe(99);
    expect(features.length).toBe(N_MELS * 99);
    for (const v of features) expect(v).toBeCloseTo(LN_FLOOR, 5);
    expect(features[0]).toBeCloseTo(-20.723, 3);
  });

  test("loud input is clamped at ln(1e9)", () => {
    const { features } = logMelSpectrogram(tone(1000, 0.1, 30000));
    expect(Math.max(...features)).toBeCloseTo(Math.log(1e9), 4);
  });

  test("a pure 1 kHz sine lands in the mel band whose filter peaks nearest 1 kHz", () => {
    const { features, frames } = logMelSpectrogram(tone(1000, 0.5));
    const filters = melFiltersBf16();
    // bin 20 = 1000 Hz: the expected band is the one with the largest weight on bin 20
    let expected = -1;
    let best = 0;
    filters.forEach((f, m) => {
      const w = f.weights[20 - f.start] ?? 0;
      if (20 >= f.start && w > best) [best, expected] = [w, m];
    });
    expect(expected).toBeGreaterThan(20);
    for (let t = 0; t < frames; t++) {
      let argmax = 0;
      for (let m = 1; m < N_MELS; m++) if (features[m * frames + t]! > features[argmax * frames + t]!) argmax = m;
      expect(argmax).toBe(expected);
    }
    // and carries the sine's energy: a Hann-windowed bin-centred sine of amplitude A has
    // |X20| = A·N/4 and |X19| = |X21| = A·N/8 (all other bins ≈ 0)
    const f = filters[expected]!;
    const weight = (k: number) => f.weights[k - f.start] ?? 0;
    const energy = (0.5 * 80) ** 2 * weight(20) + (0.5 * 40) ** 2 * (weight(19) + weight(21));
    expect(features[expected * frames]!).toBeCloseTo(Math.log(energy), 2);
  });

  test("a higher sine lands in a higher band", () => {
    const band = (hz: number) => {
      const { features, frames } = logMelSpectrogram(tone(hz, 0.1));
      let argmax = 0;
      for (let m = 1; m < N_MELS; m++) if (features[m * frames]! > features[argmax * frames]!) argmax = m;
      return argmax;
    };
    const bands = [200, 500, 1000, 2000, 4000, 7000].map(band);
    for (let i = 1; i < bands.length; i++) expect(bands[i]!).toBeGreaterThan(bands[i - 1]!);
  });

  test("frames are independent: frame t depends only on samples [160t, 160t + 320)", () => {
    const a = tone(440, 0.2);
    const b = a.slice();
    b.fill(0, 0, 160); // only frame 0 sees samples 0..159
    const fa = logMelSpectrogram(a);
    const fb = logMelSpectrogram(b);
    for (let m = 0; m < N_MELS; m++) {
      for (let t = 1; t < fa.frames; t++) expect(fb.features[m * fb.frames + t]).toBe(fa.features[m * fa.frames + t]!);
    }
    expect(fb.features[20 * fb.frames]).not.toBe(fa.features[20 * fa.frames]!);
  });

  test("an extractor reused across calls gives the same result as a fresh one", () => {
    const x = tone(300, 0.3);
    const ex = new LogMelExtractor();
    ex.compute(tone(3000, 1));
    expect(Array.from(ex.compute(x).features)).toEqual(Array.from(new LogMelExtractor().compute(x).features));
  });
});

describe("golden: torchaudio MelSpectrogram (bf16 window and filters) on Russian speech", () => {
  const meta = JSON.parse(readFileSync(join(FIXTURES, "speech-ru.json"), "utf8")) as {
    samples: number;
    nMels: number;
    frames: number;
    windowBf16Bits: number[];
  };
  const golden = new Float32Array(new Uint8Array(readFileSync(join(FIXTURES, "speech-ru.logmel.f32"))).buffer);

  test("our bf16 window is bit-identical to torch's hann_window(320).bfloat16()", () => {
    const w = bf16PeriodicHann(N_FFT);
    expect(Array.from(w, f32Bits)).toEqual(meta.windowBf16Bits);
  });

  test("every log-mel value is within 1e-3 of torchaudio", () => {
    const { sampleRate, samples } = readPcm16Wav(join(FIXTURES, "speech-ru.wav"));
    expect(sampleRate).toBe(16000);
    expect(samples.length).toBe(meta.samples);
    const { features, frames } = logMelSpectrogram(samples);
    expect(frames).toBe(meta.frames);
    expect(meta.nMels).toBe(N_MELS);
    expect(features.length).toBe(golden.length);
    let worst = 0;
    let speechValues = 0;
    for (let i = 0; i < golden.length; i++) {
      worst = Math.max(worst, Math.abs(features[i]! - golden[i]!));
      if (golden[i]! > 0) speechValues++;
    }
    expect(speechValues).toBeGreaterThan(1000); // the fixture really contains speech energy
    expect(worst).toBeLessThanOrEqual(1e-3);
  });
});
