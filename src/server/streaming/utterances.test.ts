import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Transcriber } from "../../engine/transcriber.ts";
import { DEFAULT_TONE_PIECES, makeToneModelDir, phraseToAudio, piecesToText } from "../../../test/helpers/tone.ts";
import type { Word } from "../../types.ts";
import { type UtteranceEvent, UtteranceStream } from "./utterances.ts";

let t: Transcriber;
beforeAll(async () => {
  t = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
});
afterAll(() => t.close());

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** two utterances separated by 0.8 s of silence */
const first = phraseToAudio("привет мир, как дела?");
const second = phraseToAudio("это тест", { leadSec: 0.8, tailSec: 0.8 });
const audio = concat(first.samples, second.samples);

async function run(x: Float32Array, chunk: number, opts: { yieldEvery?: number } = {}): Promise<UtteranceEvent[]> {
  const events: UtteranceEvent[] = [];
  const s = new UtteranceStream({ decoder: t, session: "test", onEvent: (e) => events.push(e) });
  let n = 0;
  for (let i = 0; i < x.length; i += chunk) {
    s.push(x.subarray(i, i + chunk));
    if (opts.yieldEvery && ++n % opts.yieldEvery === 0) await Bun.sleep(1);
  }
  await s.finish();
  return events;
}

const finals = (ev: UtteranceEvent[]) => ev.filter((e) => e.type === "final");
const shape = (ws: readonly Word[]) => ws.map((w) => [w.word, w.start, w.end]);

describe("UtteranceStream", () => {
  test("each pause ends an utterance: one final per utterance, then the (empty) last final", async () => {
    const ev = finals(await run(audio, 1600));
    expect(ev.map((e) => e.words.map((w) => w.word).join(" "))).toEqual(["привет мир, как дела?", "это тест", ""]);
    expect(ev.map((e) => (e.type === "final" ? e.last : null))).toEqual([false, false, true]);
  });

  test("timestamps are seconds from the stream start, exact across utterances", async () => {
    const ev = finals(await run(audio, 1600));
    const words = ev.flatMap((e) => e.words);
    // a word starts at its first piece (pieces with ▁)
    const starts = (a: typeof first, shift: number) => a.onsets.filter((_, i) => a.pieces[i]!.startsWith("▁")).map((o) => o + shift);
    const onsets = [...starts(first, 0), ...starts(second, first.samples.length / 16000)];
    expect(words.length).toBe(onsets.length);
    words.forEach((w, i) => expect(Math.abs(w.start - onsets[i]!)).toBeLessThanOrEqual(0.1));
  });

  test("finals do not depend on how the samples are chunked", async () => {
    const reference = shape(finals(await run(audio, audio.length)).flatMap((e) => e.words));
    for (const chunk of [160, 320, 1600, 16000, 7919]) {
      expect(shape(finals(await run(audio, chunk)).flatMap((e) => e.words))).toEqual(reference);
    }
  });

  test("a stream without a pause at the end finishes with its words in the last final", async () => {
    const ev = finals(await run(first.samples.subarray(0, first.samples.length - 3200), 3200));
    expect(ev.length).toBe(1);
    expect(ev[0]!.words.map((w) => w.word).join(" ")).toBe("привет мир, как дела?");
  });

  test("partials show the open utterance before its final and never come after it", async () => {
    const long = phraseToAudio("один два три это тест да нет хорошо голос город", { gapSec: 0.15 });
    const ev = await run(long.samples, 1600, { yieldEvery: 1 });
    const partials = ev.filter((e) => e.type === "partial");
    expect(partials.length).toBeGreaterThan(0);
    const lastFinal = ev.findIndex((e) => e.type === "final");
    expect(ev.slice(lastFinal + 1).some((e) => e.type === "partial")).toBe(false);
    const final = ev[lastFinal]!.words.map((w) => w.word);
    for (const p of partials) expect(final.slice(0, p.words.length)).toEqual(p.words.map((w) => w.word));
  });

  test("20 s without a pause: hard cut, no word lost or doubled, finals stable", async () => {
    // alternate two pieces back to back for 24 s (no pause at all)
    const pieces = Array.from({ length: 80 }, (_, i) => DEFAULT_TONE_PIECES[i % 2]!);
    const a = phraseToAudio(pieces, { gapSec: 0, tailSec: 0.6 });
    const ev = finals(await run(a.samples, 4000));
    expect(ev.length).toBeGreaterThanOrEqual(2);
    const text = ev.map((e) => e.words.map((w) => w.word).join(" ")).filter(Boolean).join(" ");
    expect(text).toBe(piecesToText(pieces));
  });

  test("silence costs no partial decodes; speech gets at least one partial per second", async () => {
    let calls = 0;
    const counting = { decodeSegment: (x: Float32Array, off: number, o?: object) => (calls++, t.decodeSegment(x, off, o)) };
    const events: UtteranceEvent[] = [];
    const s = new UtteranceStream({ decoder: counting, session: "q", onEvent: (e) => events.push(e) });
    const silence = new Float32Array(16000 * 30);
    for (let i = 0; i < silence.length; i += 1600) {
      s.push(silence.subarray(i, i + 1600));
      await Bun.sleep(0);
    }
    expect(calls).toBe(0);
    const speech = phraseToAudio("один два три это тест да нет хорошо голос город", { gapSec: 0.15, tailSec: 0 }).samples;
    for (let i = 0; i < speech.length; i += 1600) {
      s.push(speech.subarray(i, i + 1600));
      await Bun.sleep(5);
    }
    expect(events.filter((e) => e.type === "partial").length).toBeGreaterThanOrEqual(Math.floor(speech.length / 16000) - 1);
    await s.finish();
  });

  test("close() stops every emission", async () => {
    const events: UtteranceEvent[] = [];
    const s = new UtteranceStream({ decoder: t, session: "c", onEvent: (e) => events.push(e) });
    s.push(audio);
    s.close();
    await Bun.sleep(50);
    expect(events).toEqual([]);
    expect(s.isOpen).toBe(false);
  });
});
