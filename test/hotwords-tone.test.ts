/**
 * Hotwords end to end on the tone model (docs/MODEL.md §7.1) with two pairs of rival pieces:
 * a chord of two rivals' tones is an "ambiguous tone" that decodes to the louder piece, or to
 * the one a hotword boosts. Through the production pipeline: samples → log-mel → encoder →
 * greedy RNN-T with biasing → words (in-process, and through the Workers).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildToneModel, DEFAULT_TONE_PIECES } from "../scripts/make-tone-model.ts";
import { wordsToText } from "../src/decode/detok.ts";
import { DEFAULT_HOTWORDS_BOOST, MAX_HOTWORDS_BOOST, requestList } from "../src/decode/hotwords.ts";
import { decodeSamples } from "../src/engine/worker.ts";
import { Transcriber } from "../src/engine/transcriber.ts";
import { LogMelExtractor } from "../src/frontend/logmel.ts";
import { selectModelFiles } from "../src/model/files.ts";
import { RnntModel } from "../src/model/rnnt.ts";
import { chordsToAudio, makeToneModelDir, phraseToAudio, type ToneStep } from "./helpers/tone.ts";
import { rng } from "./helpers/wav.ts";

const RIVALS = [
  ["▁город", "▁голос"],
  [".", "а"],
] as const;

let dir: string;
let model: RnntModel;
const mel = new LogMelExtractor();
beforeAll(async () => {
  dir = makeToneModelDir(DEFAULT_TONE_PIECES, { rivals: RIVALS });
  model = await RnntModel.load(selectModelFiles(dir, "fp32"));
});
afterAll(() => model.release());

async function text(steps: readonly ToneStep[] | Float32Array, hotwords?: string[], boost?: number): Promise<string> {
  const samples = steps instanceof Float32Array ? steps : chordsToAudio(steps);
  const list = hotwords ? requestList(hotwords, boost) : null;
  return wordsToText(await decodeSamples(model, mel, { samples, offsetSeconds: 0, ...(list ? { hotwords: list } : {}) }));
}

/** город (louder) and голос sounding together */
const CITY_OR_VOICE: ToneStep = [
  ["▁город", 0.35],
  ["▁голос", 0.3],
];
/** "." (louder) and "а" together */
const DOT_OR_A: ToneStep = [
  [".", 0.35],
  ["а", 0.3],
];

describe("tone model with rival pieces", () => {
  test("without rivals the model bytes are unchanged (the generator stays backward-compatible)", () => {
    const plain = buildToneModel();
    expect(Buffer.from(buildToneModel(DEFAULT_TONE_PIECES, { rivals: [] }).joint).equals(Buffer.from(plain.joint))).toBe(true);
    expect(Buffer.from(buildToneModel(DEFAULT_TONE_PIECES, { rivals: RIVALS }).joint).equals(Buffer.from(plain.joint))).toBe(false);
    expect(() => buildToneModel(DEFAULT_TONE_PIECES, { rivals: [["▁город", "▁нет-такого"]] })).toThrow();
  });

  test("plain phrases decode as on the plain model", async () => {
    // (not "слова.": "а" and "." are rivals, so the model cannot say ". " right after "а")
    expect(await text(phraseToAudio("привет город мир голос слова?").samples)).toBe("привет город мир голос слова?");
  });

  test("the ambiguous tone decodes to the louder piece, once", async () => {
    expect(await text(["▁привет", CITY_OR_VOICE, "▁мир"])).toBe("привет город мир");
  });
});

describe("hotwords on the tone model", () => {
  test("a hotword turns the ambiguous tone into its piece", async () => {
    expect(await text(["▁привет", CITY_OR_VOICE, "▁мир"], ["голос"])).toBe("привет голос мир");
    // the other way round: a hotword for the louder piece changes nothing
    expect(await text(["▁привет", CITY_OR_VOICE, "▁мир"], ["город"])).toBe("привет город мир");
  });

  test("boost 0 is no biasing; a boost below the acoustic margin does not flip the tone", async () => {
    expect(requestList(["голос"], 0)).toBeNull();
    // the louder tone reads ≈ 0.33 higher (2·ln(0.35/0.3)) in log-probability
    expect(await text(["▁привет", CITY_OR_VOICE, "▁мир"], ["голос"], 0.1)).toBe("привет город мир");
    expect(await text(["▁привет", CITY_OR_VOICE, "▁мир"], ["голос"], 1)).toBe("привет голос мир");
  });

  test("a continuation piece is boosted on its hotword's live path", async () => {
    expect(await text(["▁привет", "▁слов", DOT_OR_A])).toBe("привет слов.");
    expect(await text(["▁привет", "▁слов", DOT_OR_A], ["слова"])).toBe("привет слова");
  });

  test("a half-matched hotword leaves no bias: after the path breaks the tone decodes as without hotwords", async () => {
    // ▁слов starts "слова", ▁мир breaks it; the ambiguous tone then is decided acoustically
    expect(await text(["▁слов", "▁мир", DOT_OR_A], ["слова"])).toBe("слов мир.");
    expect(await text(["▁слов", "▁мир", DOT_OR_A])).toBe("слов мир.");
  });

  test("the boost never inserts a hotword into silence, faint noise or another piece's tone, at any accepted boost", async () => {
    const quiet = new Float32Array(16000 * 3);
    const noise = new Float32Array(16000 * 3);
    const r = rng(7);
    for (let i = 0; i < noise.length; i++) noise[i] = (r() * 2 - 1) * 0.001;
    const all = ["голос", "город", "слова", "привет мир", "да", "нет"];
    // pieces read ≈ 22.7 below blank in digital silence and ≈ 8 below it in 0.001 noise
    // (docs/MODEL.md §7.1), within the boost's reach: a blank row stays blank however large the boost
    for (const boost of [DEFAULT_HOTWORDS_BOOST, MAX_HOTWORDS_BOOST]) {
      expect(await text(quiet, all, boost)).toBe("");
      expect(await text(noise, all, boost)).toBe("");
      // the silences around and between tones, and the rest of each tone after its piece, stay empty
      expect(await text(phraseToAudio("привет мир да", { gapSec: 1, leadSec: 1, tailSec: 1 }).samples, all, boost)).toBe("привет мир да");
    }
  });

  test("hotwords whose pieces do not sound change nothing (token-identical words)", async () => {
    const audio = phraseToAudio("привет мир, как дела? это тест один два три.").samples;
    const plain = await decodeSamples(model, mel, { samples: audio, offsetSeconds: 0 });
    const biased = await decodeSamples(model, mel, { samples: audio, offsetSeconds: 0, hotwords: requestList(["голос", "слова", "хорошо да"])! });
    expect(biased).toEqual(plain);
  });
});

describe("hotwords through the Workers", () => {
  test("the Transcriber's default list applies unless a job names its own or turns it off", async () => {
    const t = await Transcriber.load({ modelDir: dir, workers: 1, hotwords: requestList(["голос"]) });
    try {
      expect(t.info.hotwords).toBe(1);
      const samples = chordsToAudio(["▁привет", CITY_OR_VOICE, "▁мир"]);
      expect((await t.transcribe(samples)).text).toBe("привет голос мир");
      expect((await t.transcribe(samples, { hotwords: null })).text).toBe("привет город мир");
      expect((await t.transcribe(samples, { hotwords: requestList(["город"]) })).text).toBe("привет город мир");
    } finally {
      await t.close();
    }
  });
});
