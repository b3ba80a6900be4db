/**
 * The tone model's contract (docs/MODEL.md §7.1), checked through the production
 * pipeline in-process: samples → log-mel → encoder → greedy RNN-T → words.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildToneModel, DEFAULT_TONE_PIECES, parsePieceList } from "../scripts/make-tone-model.ts";
import { wordsToText } from "../src/decode/detok.ts";
import { decodeSamples } from "../src/engine/worker.ts";
import { LogMelExtractor } from "../src/frontend/logmel.ts";
import { selectModelFiles } from "../src/model/files.ts";
import { RnntModel } from "../src/model/rnnt.ts";
import type { Word } from "../src/types.ts";
import { makeToneModelDir, phraseToAudio, piecesToText, textToPieces } from "./helpers/tone.ts";
import { rng } from "./helpers/wav.ts";

let model: RnntModel;
const mel = new LogMelExtractor();
beforeAll(async () => {
  model = await RnntModel.load(selectModelFiles(makeToneModelDir(), "fp32"));
});
afterAll(() => model.release());

const run = (samples: Float32Array): Promise<Word[]> => decodeSamples(model, mel, { samples, offsetSeconds: 0 });

describe("tone model generator", () => {
  test("is deterministic: the same pieces give the same bytes", () => {
    const a = buildToneModel();
    const b = buildToneModel([...DEFAULT_TONE_PIECES]);
    expect(Buffer.from(a.encoder).equals(Buffer.from(b.encoder))).toBe(true);
    expect(Buffer.from(a.decoder).equals(Buffer.from(b.decoder))).toBe(true);
    expect(Buffer.from(a.joint).equals(Buffer.from(b.joint))).toBe(true);
    expect(a.vocab).toBe(b.vocab);
    expect(Buffer.from(buildToneModel(["▁да", "▁нет"]).joint).equals(Buffer.from(a.joint))).toBe(false);
  });

  test("writes `piece id` lines ending with <blk>", () => {
    expect(buildToneModel(["▁да", ",", "."]).vocab).toBe("▁да 0\n, 1\n. 2\n<blk> 3\n");
  });

  test("rejects empty, oversized, duplicate and blank-named piece lists", () => {
    expect(() => buildToneModel([])).toThrow();
    expect(() => buildToneModel(Array.from({ length: 21 }, (_, i) => `▁p${i}`))).toThrow();
    expect(() => buildToneModel(["▁a", "▁a"])).toThrow();
    expect(() => buildToneModel(["<blk>"])).toThrow();
  });

  test("piece lists: commas, or spaces when ',' is a piece", () => {
    expect(parsePieceList("▁привет,▁мир,.")).toEqual(["▁привет", "▁мир", "."]);
    expect(parsePieceList("▁да ▁нет , .")).toEqual(["▁да", "▁нет", ",", "."]);
  });
});

describe("tone model through the production pipeline", () => {
  test("a phrase decodes to its exact text with word starts at the tone onsets", async () => {
    const audio = phraseToAudio("привет мир, как дела? это тест один два три да нет хорошо голос город слова.");
    const words = await run(audio.samples);
    expect(wordsToText(words)).toBe(piecesToText(audio.pieces));
    const wordOnsets = audio.onsets.filter((_, i) => audio.pieces[i]!.startsWith("▁"));
    expect(words.length).toBe(wordOnsets.length);
    words.forEach((w, i) => expect(Math.abs(w.start - wordOnsets[i]!)).toBeLessThanOrEqual(0.1));
    for (const w of words) expect(w.confidence).toBeGreaterThan(0.9);
  });

  test("tones that follow each other directly decode exactly", async () => {
    const audio = phraseToAudio(["▁один", "▁два", "▁три", "▁один", "▁два"], { gapSec: 0, toneSec: 0.25 });
    expect(wordsToText(await run(audio.samples))).toBe("один два три один два");
  });

  test("silence and noise of amplitude 0.001 decode to nothing", async () => {
    expect(await run(new Float32Array(32000))).toEqual([]);
    const r = rng(7);
    const noise = Float32Array.from({ length: 48000 }, () => (r() * 2 - 1) * 0.001);
    expect(await run(noise)).toEqual([]);
  });

  test("random tone pairs of 0.2–0.5 s, with and without a gap, decode exactly", async () => {
    const r = rng(42);
    const V = DEFAULT_TONE_PIECES.length;
    for (let i = 0; i < 40; i++) {
      const a = Math.floor(r() * V);
      const b = (a + 1 + Math.floor(r() * (V - 1))) % V;
      const pieces = [DEFAULT_TONE_PIECES[a]!, DEFAULT_TONE_PIECES[b]!];
      const audio = phraseToAudio(pieces, { toneSec: 0.2 + 0.3 * r(), gapSec: r() < 0.5 ? 0 : 0.2 * r() });
      const words = await run(audio.samples);
      expect(wordsToText(words)).toBe(piecesToText(pieces));
    }
  });

  test("textToPieces splits words, suffix pieces and punctuation", () => {
    expect(textToPieces("привет мир, как дела?")).toEqual(["▁привет", "▁мир", ",", "▁как", "▁дела", "?"]);
    expect(textToPieces("слова.")).toEqual(["▁слов", "а", "."]);
    expect(() => textToPieces("незнакомое")).toThrow();
  });
});
