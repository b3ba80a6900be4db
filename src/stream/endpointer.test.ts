/**
 * The endpointer seam of the stream core: with `vadEndpointing` an utterance ends after
 * `minPauseMs` of what the VAD calls non-speech, even where energy never sees a pause; samples
 * reach the segmenter in order however late the VAD answers; finish/cut/clear keep their meaning.
 * A scripted VAD (probabilities from the audio's level, answered after a delay) makes the rules
 * exact; the last test runs the real Silero Worker on Golos clips.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { golos, whiteNoise } from "../../test/helpers/golos.ts";
import { concat } from "../../test/helpers/wav.ts";
import { VadLabeller, VadPool, type VadRunner } from "../engine/vad.ts";
import type { VadCarry } from "../model/vad.ts";
import type { Word } from "../types.ts";
import { vadEndpointing } from "./endpointer.ts";
import { UtteranceStream, type UtteranceEvent } from "./utterances.ts";

/** "speech" = a window whose mean |x| is above 0.2; answered after `delayMs` */
function scriptedVad(delayMs = 3): VadRunner & { calls: number } {
  const r = {
    calls: 0,
    async probabilities(samples: Float32Array, carry: VadCarry) {
      r.calls++;
      await Bun.sleep(delayMs);
      const probs = new Float32Array(samples.length / 512);
      for (let w = 0; w < probs.length; w++) {
        let a = 0;
        for (let i = w * 512; i < (w + 1) * 512; i++) a += Math.abs(samples[i]!);
        probs[w] = a / 512 > 0.2 ? 0.95 : 0.02;
      }
      return { probs, carry };
    },
  };
  return r;
}

/** a decoder that reports one word per decoded segment: its span */
function spanDecoder() {
  const spans: [number, number][] = [];
  return {
    spans,
    decodeSegment: async (x: Float32Array, offset: number): Promise<Word[]> => {
      spans.push([offset, offset + x.length / 16000]);
      return [{ word: `w${spans.length}`, start: offset, end: offset + x.length / 16000, confidence: 1 }];
    },
  };
}

const sec = (s: number) => Math.round(s * 16000);
/** "speech" (loud noise) and "non-speech" (noise loud enough that energy never calls it a pause) */
const loud = (s: number, seed: number) => whiteNoise(sec(s), 0.7, seed);
const noisy = (s: number, seed: number) => whiteNoise(sec(s), 0.2, seed);

async function stream(x: Float32Array, opts: { vad?: VadRunner; chunk?: number; minPauseMs?: number } = {}) {
  const events: UtteranceEvent[] = [];
  const dec = spanDecoder();
  const s = new UtteranceStream({
    decoder: dec,
    session: "t",
    partials: false,
    onEvent: (e) => events.push(e),
    ...(opts.minPauseMs ? { segmenter: { minPauseMs: opts.minPauseMs } } : {}),
    ...(opts.vad ? { endpointer: vadEndpointing(new VadLabeller(opts.vad)) } : {}),
  });
  const chunk = opts.chunk ?? 1600;
  for (let i = 0; i < x.length; i += chunk) s.push(x.subarray(i, i + chunk));
  await s.finish();
  return { events, spans: dec.spans, finals: events.filter((e) => e.type === "final") };
}

describe("endpointer seam", () => {
  const x = concat(noisy(1, 1), loud(1.5, 2), noisy(1.2, 3), loud(1.5, 4), noisy(1, 5));

  test("energy (the default) finds no pause in steady noise: one final at the end", async () => {
    const { finals } = await stream(x);
    expect(finals.filter((e) => e.words.length > 0)).toHaveLength(1);
  });

  test("vad: each run of ≥ min_silence_ms non-speech after speech ends an utterance; noise alone is never decoded", async () => {
    const { finals, spans } = await stream(x, { vad: scriptedVad(), minPauseMs: 500 });
    const said = finals.filter((e) => e.words.length > 0);
    expect(said).toHaveLength(2);
    // cut at the centre of the first 500 ms of non-speech after each speech run (2.5 s, 5.2 s)
    expect(spans[0]![1]).toBeCloseTo(2.75, 1);
    expect(spans[1]![0]).toBeCloseTo(2.75, 1);
    expect(spans[1]![1]).toBeCloseTo(5.45, 1);
    expect(spans).toHaveLength(2); // the trailing noise (a third segment) is not decoded
    expect(finals.at(-1)).toMatchObject({ last: true });
  });

  test("min_silence_ms longer than the gap: the two speech runs are one utterance", async () => {
    const { finals } = await stream(x, { vad: scriptedVad(), minPauseMs: 1500 });
    expect(finals.filter((e) => e.words.length > 0)).toHaveLength(1);
  });

  test("the same utterances whatever the frame sizes and however late the VAD answers", async () => {
    const a = await stream(x, { vad: scriptedVad(0), chunk: 1600 });
    const b = await stream(x, { vad: scriptedVad(7), chunk: 37 });
    const c = await stream(x, { vad: scriptedVad(1), chunk: 16000 });
    expect(b.spans).toEqual(a.spans);
    expect(c.spans).toEqual(a.spans);
  });

  test("cut() waits for what the VAD still holds, then ends the open utterance; discardOpen() drops it", async () => {
    const dec = spanDecoder();
    const events: UtteranceEvent[] = [];
    const s = new UtteranceStream({ decoder: dec, session: "t", partials: false, onEvent: (e) => events.push(e), endpointer: vadEndpointing(new VadLabeller(scriptedVad(5))) });
    // whole VAD windows (32 × 512 samples), so no window straddles speech and what follows
    s.push(whiteNoise(16384, 0.7, 7));
    await s.cut(); // commit: a final for the speech so far, though the VAD had not answered yet
    expect(dec.spans).toHaveLength(1);
    expect(dec.spans[0]![1]).toBeGreaterThan(0.95);
    s.push(whiteNoise(16384, 0.7, 8));
    s.discardOpen(); // clear: dropped even though it arrives from the VAD later
    s.push(noisy(0.5, 9));
    await s.finish();
    expect(dec.spans).toHaveLength(1);
    expect(events.filter((e) => e.type === "final").map((e) => e.words.length)).toEqual([1, 0]);
  });

  test("close() while the VAD holds audio: nothing more is emitted", async () => {
    const events: UtteranceEvent[] = [];
    const s = new UtteranceStream({ decoder: spanDecoder(), session: "t", partials: false, onEvent: (e) => events.push(e), endpointer: vadEndpointing(new VadLabeller(scriptedVad(10))) });
    s.push(concat(loud(1, 1), noisy(1, 2)));
    s.close();
    await Bun.sleep(50);
    expect(events).toEqual([]);
  });
});

describe("endpointer seam with the real Silero Worker", () => {
  let pool: VadPool;
  beforeAll(async () => {
    pool = await VadPool.start();
  });
  afterAll(() => pool.close());

  test("three Golos clips with 2 s of white noise between them: three utterances, each a whole clip", async () => {
    const clips = [await golos(0), await golos(3), await golos(7)];
    const gap = (seed: number) => whiteNoise(sec(2), 0.05, seed);
    const x = concat(gap(1), clips[0]!, gap(2), clips[1]!, gap(3), clips[2]!, gap(4));
    const runner: VadRunner = { probabilities: (s, c) => pool.probabilities(s, c) };
    const { finals, spans } = await stream(x, { vad: runner });
    expect(finals.filter((e) => e.words.length > 0)).toHaveLength(3);
    // each utterance holds one clip: it starts before the clip's middle and ends after it, before the next clip
    let at = 2;
    for (const [i, c] of clips.entries()) {
      const [a, b] = spans[i]!;
      const len = c.length / 16000;
      expect(a).toBeLessThan(at + len / 2);
      expect(b).toBeGreaterThan(at + len / 2 + 0.8);
      expect(b).toBeLessThan(at + len + 2);
      at += len + 2;
    }
  });
});
