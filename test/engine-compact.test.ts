/**
 * Pause compaction through the inference pipeline (tone model): the encoder sees shortened
 * pauses, yet the words and their times are those of the full audio (within one encoder frame).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeSamples } from "../src/engine/worker.ts";
import { Transcriber } from "../src/engine/transcriber.ts";
import { LogMelExtractor } from "../src/frontend/logmel.ts";
import { selectModelFiles } from "../src/model/files.ts";
import { RnntModel } from "../src/model/rnnt.ts";
import { compactPauses } from "../src/segment/compact.ts";
import { FRAME_SECONDS, type Word } from "../src/types.ts";
import { makeToneModelDir, phraseToAudio, piecesToText } from "./helpers/tone.ts";
import { rng } from "./helpers/wav.ts";

const PIECES = ["▁один", "▁два", "▁три", "▁да", "▁нет", "▁город", "▁голос"];
/** half a microsecond: word times are rounded to 1 µs */
const EPS = 5e-7;

function expectSameWords(on: readonly Word[], off: readonly Word[]): void {
  expect(on.map((w) => w.word)).toEqual(off.map((w) => w.word));
  on.forEach((w, i) => {
    expect(Math.abs(w.start - off[i]!.start)).toBeLessThanOrEqual(FRAME_SECONDS + EPS);
    expect(Math.abs(w.end - off[i]!.end)).toBeLessThanOrEqual(FRAME_SECONDS + EPS);
    expect(w.end).toBeGreaterThan(w.start);
  });
}

let dir: string;
let model: RnntModel;
const mel = new LogMelExtractor();
beforeAll(async () => {
  dir = makeToneModelDir();
  model = await RnntModel.load(selectModelFiles(dir, "fp32"));
});
afterAll(() => model.release());

describe("decodeSamples with pause compaction", () => {
  test("tones separated by 2 s silences: same words, times within one encoder frame, at the tone onsets", async () => {
    const audio = phraseToAudio(PIECES, { gapSec: 2, leadSec: 1.5, tailSec: 1 });
    expect(compactPauses(audio.samples).removedSeconds).toBeGreaterThan(10);
    const on = await decodeSamples(model, mel, { samples: audio.samples, offsetSeconds: 0 });
    const off = await decodeSamples(model, mel, { samples: audio.samples, offsetSeconds: 0 }, false);
    expect(on.map((w) => w.word).join(" ")).toBe(piecesToText(PIECES));
    expectSameWords(on, off);
    on.forEach((w, i) => expect(Math.abs(w.start - audio.onsets[i]!)).toBeLessThanOrEqual(0.1));
  });

  test("random pause lengths, tone lengths and offsets: same words and times as the full audio", async () => {
    const r = rng(11);
    for (let k = 0; k < 12; k++) {
      const n = 2 + Math.floor(r() * 4);
      const pieces = Array.from({ length: n }, (_, i) => PIECES[(k + i) % PIECES.length]!);
      const audio = phraseToAudio(pieces, { toneSec: 0.2 + 0.3 * r(), gapSec: 0.3 + 2.5 * r(), leadSec: 2 * r(), tailSec: 2 * r() });
      const offsetSeconds = Math.round(r() * 1000 * 16000) / 16000;
      const on = await decodeSamples(model, mel, { samples: audio.samples, offsetSeconds });
      const off = await decodeSamples(model, mel, { samples: audio.samples, offsetSeconds }, false);
      expect(on.map((w) => w.word).join(" ")).toBe(piecesToText(pieces));
      expectSameWords(on, off);
    }
  });

  test("audio with no long pause (and < 300 ms of quiet at its edges) decodes exactly as without compaction", async () => {
    const audio = phraseToAudio(PIECES, { gapSec: 0.4, leadSec: 0.25, tailSec: 0.25 });
    const on = await decodeSamples(model, mel, { samples: audio.samples, offsetSeconds: 12.3 });
    const off = await decodeSamples(model, mel, { samples: audio.samples, offsetSeconds: 12.3 }, false);
    expect(on).toEqual(off);
  });
});

describe("Transcriber option compactPauses", () => {
  test("on (default) and off give the same transcript of long audio with pauses", async () => {
    // ~45 s: several ≤ 20 s segments, each with 2 s pauses inside
    const pieces = Array.from({ length: 16 }, (_, i) => PIECES[i % PIECES.length]!);
    const audio = phraseToAudio(pieces, { gapSec: 2.5, leadSec: 1, tailSec: 1 });
    const on = await Transcriber.load({ modelDir: dir, workers: 1 });
    const off = await Transcriber.load({ modelDir: dir, workers: 1, compactPauses: false });
    try {
      const [a, b] = await Promise.all([on.transcribe(audio.samples), off.transcribe(audio.samples)]);
      expect(a.text).toBe(piecesToText(pieces));
      expect(b.text).toBe(a.text);
      expect(a.duration).toBe(b.duration);
      expectSameWords(a.words, b.words);
      // the option reaches the Workers: pauses of 0.85 s and 2.2 s removed shift the encoder's 40 ms grid
      expect(a.words.some((w, i) => w.start !== b.words[i]!.start)).toBe(true);
      a.words.forEach((w, i) => expect(Math.abs(w.start - audio.onsets[i]!)).toBeLessThanOrEqual(0.1));
      // decodeSegment too, with its offset
      const seg = phraseToAudio(["▁да", "▁нет", "▁город"], { gapSec: 3, leadSec: 2 });
      expectSameWords(await on.decodeSegment(seg.samples, 100), await off.decodeSegment(seg.samples, 100));
    } finally {
      await Promise.all([on.close(), off.close()]);
    }
  });
});
