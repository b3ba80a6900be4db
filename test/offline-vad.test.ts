/**
 * Files with VAD on the one offline pipeline (issue 19), through the real Workers: the tone model
 * (whose words come from band energy, so a tone is a "word" to it but not speech to Silero) and
 * the Golos clips. With VAD the tones never reach the encoder, the speech's words stay where they
 * were, and a file without speech costs no decode at all.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Transcriber } from "../src/engine/transcriber.ts";
import type { Word } from "../src/types.ts";
import { golos } from "./helpers/golos.ts";
import { makeToneModelDir, phraseToAudio } from "./helpers/tone.ts";
import { concat } from "./helpers/wav.ts";

let t: Transcriber;
let x: Float32Array;
/** seconds: [start, end) of the tones and of the two clips */
let tones: [number, number];
let speech: [number, number][];
const silence = (s: number) => new Float32Array(Math.round(s * 16000));

beforeAll(async () => {
  t = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1, vad: true });
  const a = await golos(0);
  const b = await golos(7);
  const tone = phraseToAudio("как дела", { leadSec: 0, tailSec: 0 }).samples;
  x = concat(silence(1), a, silence(1.5), tone, silence(1.5), b, silence(1));
  const s0 = 1;
  const s1 = s0 + a.length / 16000;
  tones = [s1 + 1.5, s1 + 1.5 + tone.length / 16000];
  const s2 = tones[1] + 1.5;
  speech = [
    [s0, s1],
    [s2, s2 + b.length / 16000],
  ];
});
afterAll(async () => {
  await t.close();
});

const inside = (w: Word, [a, b]: readonly [number, number]) => w.start >= a - 0.25 && w.start < b + 0.25;

describe("offline pipeline with VAD", () => {
  test("the tones (non-speech) never reach the encoder; without VAD they are transcribed", async () => {
    const off = await t.transcribe(x);
    expect(off.words.filter((w) => inside(w, tones)).map((w) => w.word)).toEqual(["как", "дела"]);
    const on = await t.transcribeStream([x], { vad: true });
    expect(on.words.filter((w) => inside(w, tones))).toEqual([]);
    expect(on.duration).toBe(off.duration);
  });

  test("speech keeps its words and their times with the non-speech cut out: as when the encoder sees every sample", async () => {
    // the reference: no compaction at all (pause compaction, on by default, moves the encoder's frames by 10 ms steps)
    const raw = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1, compactPauses: false });
    const off = await raw.transcribe(x).finally(() => raw.close());
    const on = await t.transcribeStream([x], { vad: true });
    for (const span of speech) {
      const a = off.words.filter((w) => inside(w, span));
      const b = on.words.filter((w) => inside(w, span));
      expect(a.length).toBeGreaterThan(0);
      expect(b.map((w) => w.word)).toEqual(a.map((w) => w.word));
      for (let i = 0; i < a.length; i++) {
        expect(b[i]!.start).toBe(a[i]!.start);
        expect(b[i]!.end).toBe(a[i]!.end);
      }
    }
  });

  test("a file without speech is never decoded: no words, no Worker time", async () => {
    const tone = phraseToAudio("привет мир как дела").samples;
    let decodes = 0;
    const spy = { ...t, decodeSegment: (...a: Parameters<Transcriber["decodeSegment"]>) => (decodes++, t.decodeSegment(...a)) };
    const { transcribeOffline } = await import("../src/engine/offline.ts");
    const noSpeech = concat(silence(1), tone.map((v) => v * 0.01), silence(3));
    const r = await transcribeOffline((s, o, signal, nonSpeech) => spy.decodeSegment(s, o, { signal, ...(nonSpeech ? { nonSpeech } : {}) }), [noSpeech], { maxInFlight: 2, vad: t.vadLabeller() });
    expect(r.words).toEqual([]);
    expect(decodes).toBe(0);
  });

  test("the same cuts and words whatever the chunk sizes", async () => {
    const whole = await t.transcribeStream([x], { vad: true });
    const chunks: Float32Array[] = [];
    for (let i = 0, k = 0; i < x.length; k++) {
      const n = [123, 4000, 511, 16000, 7][k % 5]!;
      chunks.push(x.subarray(i, i + n));
      i += n;
    }
    const split = await t.transcribeStream(chunks, { vad: true });
    expect(split.words).toEqual(whole.words);
  });

  test("vad without a loaded VAD: vad_not_loaded", async () => {
    const plain = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
    try {
      expect(plain.info.vadWorkers).toBe(0);
      await expect(plain.transcribeStream([x], { vad: true })).rejects.toMatchObject({ code: "vad_not_loaded" });
    } finally {
      await plain.close();
    }
  });
});
