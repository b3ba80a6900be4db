import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Slots } from "../engine/slots.ts";
import { Transcriber } from "../engine/transcriber.ts";
import { DEFAULT_TONE_PIECES, makeToneModelDir, phraseToAudio, piecesToText } from "../../test/helpers/tone.ts";
import { concat, rng } from "../../test/helpers/wav.ts";
import type { Word } from "../types.ts";
import type { JobOptions } from "../engine/transcriber.ts";
import { type SegmentDecoder, type UtteranceEvent, UtteranceStream, type UtteranceStreamOptions } from "./utterances.ts";

let t: Transcriber;
beforeAll(async () => {
  t = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
});
afterAll(() => t.close());

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

// ---- speculative finals, with a decoder the test controls ------------------------------------

const SR = 16000;
const sec = (x: number) => Math.round(x * SR);

/** tone bursts (speech) and digital silence */
function render(parts: ReadonlyArray<readonly [kind: "tone" | "pause", seconds: number, hz?: number]>): Float32Array {
  const out = new Float32Array(parts.reduce((n, [, s]) => n + sec(s), 0));
  let o = 0;
  for (const [kind, s, hz = 440] of parts) {
    const n = sec(s);
    if (kind === "tone") for (let i = 0; i < n; i++) out[o + i] = 0.3 * Math.sin((2 * Math.PI * hz * i) / SR);
    o += n;
  }
  return out;
}

/** deterministic words of a span: one per 0.5 s piece that is not silent, named by a hash of its samples */
function fakeWords(samples: Float32Array, offset: number): Word[] {
  const piece = SR / 2;
  const words: Word[] = [];
  for (let k = 0; k * piece < samples.length; k++) {
    const part = samples.subarray(k * piece, (k + 1) * piece);
    if (!part.some((v) => Math.abs(v) > 0.01)) continue;
    let h = 0x811c9dc5;
    const bits = new Int32Array(part.buffer, part.byteOffset, part.length);
    for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i]!, 0x01000193);
    const start = offset + k * 0.5;
    words.push({ word: `w${(h >>> 0).toString(16)}`, start, end: start + part.length / SR, confidence: 1 });
  }
  return words;
}

interface Call {
  readonly samples: Float32Array;
  readonly offset: number;
  readonly opts: JobOptions | undefined;
  /** resolve with the span's words (no effect once rejected or resolved) */
  settle(): void;
  settled: boolean;
  aborted: boolean;
}

/** records every decode; each resolves when `settle()` is called (or after `autoMs`, if set) */
class FakeDecoder implements SegmentDecoder {
  readonly calls: Call[] = [];
  constructor(private readonly o: { autoMs?: () => number; abortRejects?: () => boolean } = {}) {}

  decodeSegment(samples: Float32Array, offset: number, opts?: JobOptions): Promise<Word[]> {
    const copy = samples.slice();
    return new Promise<Word[]>((resolve, reject) => {
      const call: Call = {
        samples: copy,
        offset,
        opts,
        settled: false,
        aborted: false,
        settle() {
          if (call.settled) return;
          call.settled = true;
          resolve(fakeWords(copy, offset));
        },
      };
      this.calls.push(call);
      const onAbort = () => {
        call.aborted = true;
        // the pool drops a queued job at once; a running one finishes and its result is dropped
        if (this.o.abortRejects?.() ?? true) {
          call.settled = true;
          reject(opts!.signal!.reason);
        }
      };
      if (opts?.signal?.aborted) onAbort();
      else opts?.signal?.addEventListener("abort", onAbort, { once: true });
      const ms = this.o.autoMs?.();
      if (ms !== undefined) setTimeout(call.settle, ms);
    });
  }

  get finals(): Call[] {
    return this.calls.filter((c) => c.opts?.purpose !== "partial");
  }
}

/** a stream on a FakeDecoder, recording events and inference reports */
function fakeStream(decoder: FakeDecoder, extra: Partial<UtteranceStreamOptions> = {}) {
  const events: UtteranceEvent[] = [];
  const inferences: Array<[number, number]> = [];
  const stream = new UtteranceStream({
    decoder,
    session: "spec",
    partials: false,
    onEvent: (e) => events.push(e),
    onInference: (s, a) => inferences.push([s, a]),
    ...extra,
  });
  const push = (x: Float32Array, chunk: number) => {
    for (let i = 0; i < x.length; i += chunk) stream.push(x.subarray(i, Math.min(x.length, i + chunk)));
  };
  return { stream, events, inferences, push };
}

const tick = () => Bun.sleep(1);

describe("partial slots", () => {
  test("a partial waits for a free Worker and then decodes the newest audio, not the audio of when it was due", async () => {
    const x = render([["tone", 3]]);
    const d = new FakeDecoder();
    const slots = new Slots(1);
    const held = await slots.acquire(); // another stream's partial is running
    const dec = Object.assign(d, { partialSlot: (signal?: AbortSignal) => slots.acquire(signal) });
    const { stream, push } = fakeStream(dec, { partials: true, partialEverySeconds: 1 });
    push(x.subarray(0, sec(1.2)), 160); // due at 1 s: waits for the slot
    await tick();
    expect(d.calls.filter((c) => c.opts?.purpose === "partial")).toHaveLength(0);
    push(x.subarray(sec(1.2), sec(1.6)), 160);
    held();
    await tick();
    const partials = d.calls.filter((c) => c.opts?.purpose === "partial");
    expect(partials).toHaveLength(1);
    expect(partials[0]!.samples.length).toBe(sec(1.6)); // everything pushed by the time it could start
    expect(slots.free).toBe(0); // held while it decodes
    partials[0]!.settle();
    await tick();
    expect(slots.free).toBe(1);
    stream.close();
  });

  test("a partial that waited for its Worker decodes the shorter window; one that did not, the full one", async () => {
    const x = render([["tone", 7]]);
    let clock = 0;
    const d = new FakeDecoder();
    const slots = new Slots(1);
    const dec = Object.assign(d, { partialSlot: (signal?: AbortSignal) => slots.acquire(signal) });
    const { stream, push } = fakeStream(dec, { partials: true, partialEverySeconds: 1, partialWindowSeconds: 8, partialWindowUnderLoadSeconds: 2, now: () => clock });
    const partials = () => d.calls.filter((c) => c.opts?.purpose === "partial");
    push(x.subarray(0, sec(1)), 160);
    await tick();
    expect(partials()).toHaveLength(1); // the slot was free: no wait, the whole open utterance
    expect(partials()[0]!.samples.length).toBe(sec(1));
    partials()[0]!.settle();
    await tick();
    push(x.subarray(sec(1), sec(5)), 160);
    await tick();
    expect(partials()).toHaveLength(2);
    expect(partials()[1]!.samples.length).toBe(sec(5)); // free again at once: still the full window
    partials()[1]!.settle();
    await tick();
    const held = await slots.acquire(); // another stream's partial
    push(x.subarray(sec(5), sec(6)), 160); // due: waits for the slot
    await tick();
    expect(partials()).toHaveLength(2);
    clock += 49; // a wait below 50 ms is not load
    held();
    await tick();
    expect(partials()).toHaveLength(3);
    expect(partials()[2]!.samples.length).toBe(sec(6));
    partials()[2]!.settle();
    await tick();
    const held2 = await slots.acquire();
    push(x.subarray(sec(6), sec(7)), 160);
    await tick();
    clock += 50;
    held2();
    await tick();
    const last = partials()[3]!;
    expect(last.samples.length).toBe(sec(2)); // waited 50 ms: the last 2 s only
    expect(last.offset).toBeCloseTo(5, 9);
    last.settle();
    stream.close();
  });

  test("close() while waiting for a slot: the wait is dropped, the slot is not leaked", async () => {
    const x = render([["tone", 2]]);
    const d = new FakeDecoder();
    const slots = new Slots(1);
    const held = await slots.acquire();
    const dec = Object.assign(d, { partialSlot: (signal?: AbortSignal) => slots.acquire(signal) });
    const { stream, push } = fakeStream(dec, { partials: true, partialEverySeconds: 1 });
    push(x, 160);
    expect(slots.waiting).toBe(1);
    stream.close();
    await tick();
    expect(slots.waiting).toBe(0);
    held();
    expect(slots.free).toBe(1);
    expect(d.calls.filter((c) => c.opts?.purpose === "partial")).toHaveLength(0);
  });
});

describe("speculative finals", () => {
  test("the final's decode starts 250 ms into the closing pause and is the final's only decode", async () => {
    const x = render([["tone", 1], ["pause", 0.8]]);
    const d = new FakeDecoder();
    const { stream, events, inferences, push } = fakeStream(d);
    push(x.subarray(0, sec(1.24)), 160);
    expect(d.calls.length).toBe(0);
    push(x.subarray(sec(1.24), sec(1.25)), 160);
    // the endpoint will cut at the centre of the 500 ms pause: [0, 1.25 s) is known now
    expect(d.calls.length).toBe(1);
    const [c] = d.calls;
    expect(c!.offset).toBe(0);
    expect(c!.samples).toEqual(x.subarray(0, sec(1.25)));
    expect(c!.opts).toMatchObject({ session: "spec", purpose: "final" });
    expect(stream.pendingFinals).toBe(0); // not cut yet
    expect(stream.backlogSeconds).toBeCloseTo(1.25, 9);
    push(x.subarray(sec(1.25), sec(1.5)), 160);
    expect(stream.pendingFinals).toBe(1); // cut: the running decode is its decode
    expect(d.calls.length).toBe(1);
    await tick();
    expect(events).toEqual([]);
    c!.settle();
    await tick();
    expect(events).toEqual([{ type: "final", words: fakeWords(x.subarray(0, sec(1.25)), 0), last: false }]);
    expect(c!.aborted).toBe(false);
    expect(stream.pendingFinals).toBe(0);
    expect(stream.backlogSeconds).toBeCloseTo(0.25, 9);
    expect(inferences.map(([, a]) => a)).toEqual([1.25]);
    push(x.subarray(sec(1.5)), 160);
    await stream.finish();
    expect(d.calls.length).toBe(1); // the rest of the pause is silent: nothing to decode
    expect(events.at(-1)).toEqual({ type: "final", words: [], last: true });
  });

  test("no partial starts while the open utterance's final is being decoded speculatively", async () => {
    const x = render([["tone", 1.8], ["pause", 0.8]]);
    for (const speculativeFinals of [true, false]) {
      const d = new FakeDecoder();
      const { stream, push } = fakeStream(d, { partials: true, partialEverySeconds: 1, speculativeFinals });
      const partials = () => d.calls.filter((c) => c.opts?.purpose === "partial");
      push(x.subarray(0, sec(1)), 160);
      expect(partials().length).toBe(1); // covers [0, 1 s); still decoding
      push(x.subarray(sec(1), sec(2.1)), 160); // a second partial is due at 2 s, but the first is busy
      expect(partials().length).toBe(1);
      expect(d.finals.length).toBe(speculativeFinals ? 1 : 0); // speculation from 2.05 s
      partials()[0]!.settle();
      await tick();
      // the due partial would cover the same utterance the speculative final is decoding
      expect(partials().length).toBe(speculativeFinals ? 1 : 2);
      push(x.subarray(sec(2.1)), 160);
      for (const c of d.calls) c.settle();
      await stream.finish();
    }
  });

  test("a speculation that resolves before the cut waits for it; the final is emitted once", async () => {
    const x = render([["tone", 2], ["pause", 0.6]]);
    const d = new FakeDecoder();
    const { stream, events, inferences, push } = fakeStream(d);
    push(x.subarray(0, sec(2.3)), 320);
    expect(d.calls.length).toBe(1);
    d.calls[0]!.settle();
    await tick();
    expect(events).toEqual([]); // the pause may still break
    expect(inferences).toEqual([]);
    push(x.subarray(sec(2.3)), 320);
    await tick();
    expect(events).toEqual([{ type: "final", words: fakeWords(x.subarray(0, sec(2.25)), 0), last: false }]);
    expect(inferences.length).toBe(1);
    await stream.finish();
    expect(d.calls.length).toBe(1);
  });

  test("speech resuming within 250–499 ms aborts the speculation and changes nothing", async () => {
    const x = render([["tone", 1], ["pause", 0.3], ["tone", 1, 600], ["pause", 0.6]]);
    const d = new FakeDecoder({ abortRejects: () => false }); // the discarded decode still finishes
    const { stream, events, inferences, push } = fakeStream(d);
    push(x.subarray(0, sec(1.3)), 160);
    expect(d.calls.length).toBe(1);
    expect(d.calls[0]!.samples.length).toBe(sec(1.25));
    push(x.subarray(sec(1.3), sec(1.31)), 160); // speech again
    expect(d.calls[0]!.aborted).toBe(true);
    d.calls[0]!.settle();
    await tick();
    expect(events).toEqual([]);
    expect(inferences).toEqual([]);
    push(x.subarray(sec(1.31)), 160);
    expect(d.calls.length).toBe(2);
    const [, c] = d.calls;
    expect([c!.offset, c!.samples.length, c!.aborted]).toEqual([0, sec(2.55), false]);
    c!.settle();
    await stream.finish();
    // the same finals as without speculation, from one decode per final
    const plain = new FakeDecoder({ autoMs: () => 0 });
    const p = fakeStream(plain, { speculativeFinals: false });
    p.push(x, 160);
    await p.stream.finish();
    expect(events).toEqual(p.events);
    expect(events[0]).toEqual({ type: "final", words: fakeWords(x.subarray(0, sec(2.55)), 0), last: false });
    expect(inferences.length).toBe(1);
    expect(plain.calls.length).toBe(1);
  });

  test("finish() reuses the speculation when the flushed rest is the same span, else aborts it", async () => {
    for (const [pause, calls] of [[0.25, 1], [0.3, 2]] as const) {
      const x = render([["tone", 1], ["pause", pause]]);
      const d = new FakeDecoder({ autoMs: () => 0 });
      const { stream, events, inferences, push } = fakeStream(d);
      push(x, 160);
      expect(d.calls.length).toBe(1);
      await stream.finish();
      expect(d.calls.length).toBe(calls);
      expect(d.calls[0]!.aborted).toBe(calls === 2);
      expect(events).toEqual([{ type: "final", words: fakeWords(x, 0), last: true }]);
      expect(inferences.length).toBe(1);
    }
  });

  test("close() aborts the speculation; nothing is emitted", async () => {
    const x = render([["tone", 1], ["pause", 0.3]]);
    const d = new FakeDecoder();
    const { stream, events, inferences, push } = fakeStream(d);
    push(x, 160);
    expect(d.calls.length).toBe(1);
    stream.close();
    expect(d.calls[0]!.aborted).toBe(true);
    d.calls[0]!.settle();
    await tick();
    expect(events).toEqual([]);
    expect(inferences).toEqual([]);
  });

  test("speculativeFinals: false decodes only at the cut", async () => {
    const x = render([["tone", 1], ["pause", 0.49]]);
    const d = new FakeDecoder();
    const { push } = fakeStream(d, { speculativeFinals: false });
    push(x, 160);
    expect(d.calls.length).toBe(0);
  });

  test("the same finals with and without speculation, one decode per final plus the aborted ones (random audio, chunks, timing)", async () => {
    for (let seed = 0; seed < 6; seed++) {
      const r = rng(900 + seed);
      const parts: Array<["tone" | "pause", number, number?]> = [];
      for (let k = 0; k < 30; k++) {
        // a 22 s stretch without a pause (hard cut, then an utterance with overlap) now and then
        const speech = k % 13 === 5 ? 22 : 0.1 + r() * 2.5;
        parts.push(["tone", Math.round(speech * 100) / 100, 200 + Math.floor(r() * 1500)]);
        // many pauses in 250–499 ms: speculations that speech withdraws
        parts.push(["pause", Math.round((r() < 0.5 ? 0.25 + r() * 0.25 : 0.05 + r() * 1.0) * 100) / 100]);
      }
      // end inside speech, at a provisional cut (finish takes it), or inside a short pause
      const endings: Array<["tone" | "pause", number, number?]> = [["tone", 0.7], ["pause", 0.25], ["pause", 0.3]];
      parts.push(["tone", 0.6, 300], endings[seed % 3]!);
      const x = render(parts);
      const withPartials = seed >= 4;
      const runMode = async (speculativeFinals: boolean) => {
        const d = new FakeDecoder({ autoMs: () => Math.floor(r() * 3), abortRejects: () => r() < 0.5 });
        const { stream, events, inferences } = fakeStream(d, { speculativeFinals, partials: withPartials });
        for (let i = 0; i < x.length; ) {
          const n = Math.min(x.length - i, 1 + Math.floor(r() * 2400));
          stream.push(x.subarray(i, i + n));
          i += n;
          // each outstanding final has one running decode, and at most one speculation runs
          const live = d.finals.filter((c) => !c.settled && !c.aborted).length;
          expect(live).toBeLessThanOrEqual(stream.pendingFinals + 1);
          if (r() < 0.08) await Bun.sleep(0);
        }
        await stream.finish();
        const finals = events.filter((e) => e.type === "final");
        return { d, finals, inferences, events };
      };
      const plain = await runMode(false);
      const spec = await runMode(true);
      expect(spec.finals).toEqual(plain.finals);
      expect(spec.finals.length).toBeGreaterThan(10);
      expect(spec.inferences.length).toBe(plain.inferences.length);
      // reported as each decode completes (any order): the same audio spans
      const spans = (i: Array<[number, number]>) => i.map(([, a]) => a).sort((a, b) => a - b);
      expect(spans(spec.inferences)).toEqual(spans(plain.inferences));
      const aborted = spec.d.finals.filter((c) => c.aborted).length;
      expect(aborted).toBeGreaterThan(0);
      expect(spec.d.finals.length - aborted).toBe(plain.d.finals.length);
      expect(plain.d.finals.some((c) => c.aborted)).toBe(false);
      // finals in stream order, partials never after the last final
      const starts = spec.finals.flatMap((e) => e.words.map((w) => w.start));
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
      expect(spec.events.at(-1)).toMatchObject({ type: "final", last: true });
    }
  });
});

describe("UtteranceStream: commit and clear (the Realtime adapter)", () => {
  const text = (ev: UtteranceEvent[]) => finals(ev).map((e) => e.words.map((w) => w.word).join(" "));

  test("without endpointing, nothing is final until cut(); cut() emits the open utterance and the stream goes on", async () => {
    const events: UtteranceEvent[] = [];
    const s = new UtteranceStream({ decoder: t, session: "cut", onEvent: (e) => events.push(e), segmenter: { endpoint: false } });
    s.push(first.samples);
    await Bun.sleep(50);
    expect(text(events)).toEqual([]);
    await s.cut();
    expect(text(events)).toEqual(["привет мир, как дела?"]);
    s.push(second.samples);
    await s.finish();
    expect(text(events)).toEqual(["привет мир, как дела?", "это тест"]);
    // times stay relative to the stream start after a cut
    expect(finals(events)[1]!.words[0]!.start).toBeGreaterThan(first.samples.length / 16000);
  });

  test("discardOpen() drops the open utterance; earlier finals are kept", async () => {
    const events: UtteranceEvent[] = [];
    const s = new UtteranceStream({ decoder: t, session: "clear", onEvent: (e) => events.push(e), segmenter: { endpoint: false } });
    s.push(first.samples);
    await s.cut();
    s.push(second.samples);
    s.discardOpen();
    await s.finish();
    expect(text(events).filter(Boolean)).toEqual(["привет мир, как дела?"]);
  });

  test("a longer minimum pause keeps a short gap inside one utterance", async () => {
    const gap = concat(first.samples, phraseToAudio("это тест", { leadSec: 0.3, tailSec: 1.5 }).samples);
    const split = async (minPauseMs: number) => {
      const events: UtteranceEvent[] = [];
      const s = new UtteranceStream({ decoder: t, session: "vad", onEvent: (e) => events.push(e), segmenter: { minPauseMs } });
      s.push(gap);
      await s.finish();
      return text(events).filter(Boolean);
    };
    expect(await split(200)).toEqual(["привет мир, как дела?", "это тест"]);
    expect(await split(1000)).toEqual(["привет мир, как дела? это тест"]);
  });
});
