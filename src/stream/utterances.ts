/**
 * The streaming core shared by WebSocket, SSE and REST: 16 kHz samples in,
 * ordered `partial`/`final` events out.
 *
 * The encoder is an offline model, so client frames are never decoded on
 * their own. Samples go through a Segmenter whose cuts (pauses ≥ 500 ms, or
 * 20 s at the quietest point) are a pure function of the sample stream, on a
 * grid aligned to the stream start; every completed utterance is decoded once,
 * from a fresh decoder state, with its offset from the stream start, and sent
 * as a `final` that never changes. Finals are emitted in stream order even
 * though their decodes run concurrently in the Worker pool.
 *
 * Partials re-decode the open utterance (a sliding window of the last few
 * seconds, shorter when the partial had to wait for a Worker) after every `partialEverySeconds` of new audio that was not all
 * quiet (the segmenter's energy rule on the same 10 ms grid, so a silent or
 * idle stream costs no decoding); a partial is skipped while the previous
 * partial decode still runs (cadence adapts to load), and a partial result is
 * dropped if a final overtook it. Partials never influence finals.
 *
 * Speculative finals: the endpoint cuts at the centre of a 500 ms pause, so an
 * utterance's samples are all known 250 ms before the cut is confirmed. From
 * then on (`Segmenter.provisionalCut`) its decode runs already, with exactly
 * the call a final makes; when the segmenter emits that very segment the
 * running decode becomes the final's, and if speech resumes first (or any
 * other segment comes out) it is aborted and its result never used. So finals
 * are the same words, only earlier; a 250–499 ms pause costs one discarded
 * decode. At most one speculation runs per stream.
 */
import { GigasttError } from "../errors.ts";
import { QuietDetector, frameEnergyDb } from "../segment/energy.ts";
import { Segmenter, type Segment } from "../segment/segmenter.ts";
import { SAMPLE_RATE, type Word } from "../types.ts";
import type { JobOptions } from "../engine/transcriber.ts";
import type { HotwordList } from "../decode/hotwords.ts";
import { type Endpointer, type EndpointerFactory, energyEndpointing } from "./endpointer.ts";

/** The engine call this module needs (the Transcriber satisfies it). */
export interface SegmentDecoder {
  decodeSegment(samples: Float32Array, offsetSeconds: number, opts?: JobOptions): Promise<Word[]>;
  /**
   * optional: resolves when a partial can start at once, with the function that frees that
   * capacity; a partial then takes the newest audio at that moment instead of queueing old audio
   */
  partialSlot?(signal?: AbortSignal): Promise<() => void>;
}

export type UtteranceEvent =
  /** the open utterance so far (may still change) */
  | { readonly type: "partial"; readonly words: readonly Word[] }
  /** a closed utterance; `last` marks the one sent by `finish()` (possibly empty) */
  | { readonly type: "final"; readonly words: readonly Word[]; readonly last: boolean; readonly cause: FinalCause };

/**
 * Why an utterance was closed: `pause` — the endpoint (a pause after speech); `limit` — it
 * reached the 20 s cap (not the end of what the speaker says); `stop` — `finish()` or `cut()`.
 */
export type FinalCause = "pause" | "limit" | "stop";

/** A partial that waited this long for a Worker runs under load: on the shorter window. */
export const UNDER_LOAD_WAIT_MS = 50;

/** Utterance endpointing of every stream (WS, SSE, REST): the same cuts everywhere. */
export const STREAM_SEGMENTER = Object.freeze({ minPauseMs: 500, maxSeconds: 20, endpoint: true });

/**
 * A cut utterance and the part of it whose words belong to it: at a hard cut
 * (no pause within 20 s) two utterances share an overlap and each keeps the
 * words that start in its own half (as `stitchWords` does), decided when the
 * utterance is cut, so its final never has to change later.
 */
interface Utterance {
  readonly seg: Segment;
  /** keep words with start ≥ from and < to (seconds) */
  readonly from: number;
  readonly to: number;
}

export interface UtteranceStreamOptions {
  decoder: SegmentDecoder;
  /** fairness key for the Worker pool */
  session: string;
  /** hotwords of every decode (a list, null = none; absent: the decoder's default) */
  hotwords?: HotwordList | null;
  onEvent(e: UtteranceEvent): void;
  /** a final's decode failed (not aborted): its words are lost, the stream goes on */
  onError?(e: unknown): void;
  /** one final decode finished: wall seconds and audio seconds (metrics) */
  onInference?(seconds: number, audioSeconds: number): void;
  /** start a final's decode 250 ms into its closing pause, before the cut is confirmed (default true) */
  speculativeFinals?: boolean;
  /** send partials (default true) */
  partials?: boolean;
  /** audio between two partial decodes of the open utterance (default 1 s) */
  partialEverySeconds?: number;
  /** longest audio re-decoded for a partial (default 8 s) */
  partialWindowSeconds?: number;
  /**
   * under load (the partial waited ≥ 50 ms for a Worker, so others want them too), the longest audio
   * re-decoded for a partial instead (default 4 s; the words before it come from the previous partial)
   */
  partialWindowUnderLoadSeconds?: number;
  /** words in the first seconds of a clipped window come from the previous partial (default 2 s) */
  partialContextSeconds?: number;
  now?: () => number;
  /** endpointing of this stream (default {@link STREAM_SEGMENTER}): the pause that ends an utterance, or none (`endpoint: false`) */
  segmenter?: { readonly minPauseMs?: number; readonly endpoint?: boolean };
  /** what tells a pause from speech (default energy; `vadEndpointing(labeller)` for the VAD): ./endpointer.ts */
  endpointer?: EndpointerFactory;
}

/** a final's decode, started at `started` (performance clock) */
interface Decoding {
  readonly started: number;
  readonly words: Promise<Word[]>;
}

/** the decode of the open utterance up to its provisional cut, started before the cut is confirmed */
interface Speculation {
  /** the span: [start, start + length) in stream samples */
  readonly start: number;
  readonly length: number;
  readonly controller: AbortController;
  /** null when the span is not voiced (nothing to decode) */
  readonly decoding: Decoding | null;
}

export class UtteranceStream {
  private readonly opts: UtteranceStreamOptions;
  private readonly segmenter: Segmenter;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  /** 16 kHz samples pushed */
  private total = 0;
  /** ordered emission of finals */
  private tail: Promise<void> = Promise.resolve();
  /** finals cut but not yet emitted */
  private outstanding = 0;
  /** 16 kHz samples answered by an emitted final (the end of its utterance) */
  private answered = 0;
  private waiters: Array<() => void> = [];
  /** bumped whenever a final is cut: partials started before are stale */
  private generation = 0;
  private partialBusy = false;
  private partialMark = 0;
  /** first sample of the open utterance */
  private openStart = 0;
  private lastPartial: { generation: number; words: readonly Word[]; text: string } | null = null;
  /** 10 ms energy analysis for gating partials */
  private readonly quiet = new QuietDetector();
  private readonly frame = new Float32Array(SAMPLE_RATE / 100);
  private frameFill = 0;
  private frames = 0;
  /** absolute sample index just after the last non-quiet 10 ms frame */
  private loudEnd = 0;
  private state: "open" | "finishing" | "closed" = "open";
  private speculation: Speculation | null = null;
  private readonly endpointer: Endpointer;
  /** samples handed to the segmenter so far (behind `total` while the VAD classifies) */
  private delivered = 0;
  /** samples before this were cleared by discardOpen() while the VAD still held them */
  private discardUntil = 0;

  constructor(opts: UtteranceStreamOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => performance.now());
    this.endpointer = (opts.endpointer ?? energyEndpointing)((x) => this.deliver(x));
    const labels = this.endpointer.labels;
    this.segmenter = new Segmenter({ sampleRate: SAMPLE_RATE, ...STREAM_SEGMENTER, ...opts.segmenter, ...(labels ? { labels } : {}) });
  }

  /** seconds of 16 kHz audio pushed so far */
  get duration(): number {
    return this.total / SAMPLE_RATE;
  }

  /** finals cut and not yet emitted */
  get pendingFinals(): number {
    return this.outstanding;
  }

  /** seconds of pushed audio not yet covered by an emitted final (the open utterance included) */
  get backlogSeconds(): number {
    return Math.max(0, this.total - this.answered) / SAMPLE_RATE;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  push(x: Float32Array): void {
    if (this.state !== "open") throw new GigasttError("internal", "push after finish");
    if (x.length === 0) return;
    this.total += x.length;
    this.endpointer.push(x);
  }

  /** samples in stream order, classified (energy: as pushed) */
  private deliver(input: Float32Array): void {
    if (this.state === "closed") return;
    let x = input;
    const from = this.delivered;
    this.delivered += x.length;
    this.analyse(x);
    if (from < this.discardUntil) {
      // cleared while the VAD still held them: they go the way of the open utterance
      const n = Math.min(x.length, this.discardUntil - from);
      this.segmenter.push(x.subarray(0, n));
      this.segmenter.flush();
      this.openStart = this.segmenter.pending().start;
      x = x.subarray(n);
      if (x.length === 0) return;
    }
    const segs = this.segmenter.push(x);
    if (segs.length > 0) {
      const nextStart = this.segmenter.pending().start;
      this.openStart = nextStart;
      segs.forEach((seg, i) => this.enqueue([utterance(seg, segs[i + 1]?.start ?? nextStart)], false, seg.cut === "pause" ? "pause" : "limit"));
    }
    this.speculate();
    this.maybePartial();
  }

  /** resolves once fewer than `max` finals are waiting (bounded memory for fast producers) */
  whenBelow(max: number): Promise<void> {
    if (this.outstanding < max || this.state === "closed") return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = () => {
        if (this.outstanding < max || this.state === "closed") resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /**
   * End of input: decode the rest and emit the last `final` (always exactly
   * one, possibly empty) after every earlier final. Resolves when it is emitted.
   */
  finish(): Promise<void> {
    if (this.state !== "open") return this.tail;
    this.state = "finishing";
    if (!this.endpointer.idle) return this.endpointer.after(() => this.finishNow(), true);
    return this.finishNow();
  }

  private finishNow(): Promise<void> {
    this.generation++;
    this.enqueue(this.segmenter.flush().map((seg) => utterance(seg, Number.POSITIVE_INFINITY)), true, "stop");
    this.withdraw(); // the flushed segment took it if it was the same span
    return this.tail;
  }

  /**
   * Cut the open utterance now (a client's commit): its final (if it has
   * words) is emitted after every earlier one; the stream stays open.
   * Resolves once it is emitted.
   */
  cut(): Promise<void> {
    if (this.state !== "open") return this.tail;
    if (!this.endpointer.idle) return this.endpointer.after(() => (this.state === "open" ? this.cutNow() : undefined));
    return this.cutNow();
  }

  private cutNow(): Promise<void> {
    const segs = this.segmenter.flush();
    this.openStart = this.segmenter.pending().start;
    this.withdraw();
    if (segs.length > 0) this.enqueue(segs.map((seg) => utterance(seg, Number.POSITIVE_INFINITY)), false, "stop");
    else this.generation++;
    return this.tail;
  }

  /** the decode options that carry this stream's hotwords (none when it names none) */
  private hotwordOpts(): Pick<JobOptions, "hotwords"> {
    return this.opts.hotwords !== undefined ? { hotwords: this.opts.hotwords } : {};
  }

  /** Drop the open utterance without decoding it (a client's clear); earlier finals still arrive. */
  discardOpen(): void {
    if (this.state !== "open") return;
    this.discardUntil = this.total; // what the VAD still holds is dropped on arrival
    this.segmenter.flush();
    this.openStart = this.segmenter.pending().start;
    this.withdraw();
    this.generation++; // a partial in flight is stale
    this.answered = Math.max(this.answered, this.total);
    this.partialMark = this.total;
  }

  /** Abandon the stream: in-flight decodes are aborted, nothing more is emitted. */
  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.endpointer.close();
    this.generation++;
    this.abort.abort(new GigasttError("internal", "stream closed"));
    this.speculation = null; // its signal follows the stream's
    this.wake();
  }

  private enqueue(utts: readonly Utterance[], last: boolean, cause: FinalCause): void {
    this.generation++;
    this.outstanding++;
    const end = utts.reduce((m, u) => Math.max(m, u.seg.start + u.seg.samples.length), 0);
    const decodes = utts.map((u) => this.decode(u.seg));
    for (const d of decodes) d.catch(() => {}); // awaited in order below
    this.tail = this.tail.then(async () => {
      let words: Word[] = [];
      for (let i = 0; i < utts.length; i++) {
        const u = utts[i]!;
        try {
          const got = await decodes[i]!;
          words = words.concat(got.filter((w) => w.start >= u.from && w.start < u.to));
        } catch (e) {
          if (this.state !== "closed") this.opts.onError?.(e);
        }
      }
      this.outstanding--;
      this.answered = Math.max(this.answered, end);
      this.wake();
      if (this.state === "closed") return;
      if (words.length > 0 || last) {
        try {
          this.opts.onEvent({ type: "final", words, last, cause });
        } catch (e) {
          this.opts.onError?.(e); // a failing listener must not stop later finals
        }
      }
      if (!last) this.maybePartial();
    });
  }

  /** the words of a cut segment: the speculative decode if it is this very span, else a new decode */
  private async decode(seg: Segment): Promise<Word[]> {
    const adopted = this.adopt(seg);
    if (!seg.voiced) return []; // every frame quiet: nothing to transcribe
    const d = adopted ?? this.startDecode(seg, this.abort.signal);
    const words = await d.words;
    this.opts.onInference?.((this.now() - d.started) / 1000, seg.samples.length / SAMPLE_RATE);
    return words;
  }

  /** the call every final makes (speculative or not): same samples, offset and options */
  private startDecode(seg: Segment, signal: AbortSignal): Decoding {
    const started = this.now();
    let words: Promise<Word[]>;
    try {
      const nonSpeech = this.endpointer.nonSpeech?.(seg.start, seg.samples.length);
      words = this.opts.decoder.decodeSegment(seg.samples, seg.start / SAMPLE_RATE, { session: this.opts.session, signal, purpose: "final", ...this.hotwordOpts(), ...(nonSpeech ? { nonSpeech } : {}) });
    } catch (e) {
      words = Promise.reject(e);
    }
    return { started, words };
  }

  /** takes the speculation for `seg` if it decodes exactly the same span; withdraws it otherwise */
  private adopt(seg: Segment): Decoding | null {
    const s = this.speculation;
    if (s?.decoding && seg.voiced && s.start === seg.start && s.length === seg.samples.length) {
      this.speculation = null;
      return s.decoding;
    }
    this.withdraw();
    return null;
  }

  /** aborts the speculation, if any: a queued decode is dropped, a running one's result ignored */
  private withdraw(): void {
    const s = this.speculation;
    this.speculation = null;
    s?.controller.abort(new GigasttError("internal", "speculative final withdrawn"));
  }

  /** after a push: follow the segmenter's provisional cut (start, keep or withdraw the speculation) */
  private speculate(): void {
    if (this.opts.speculativeFinals === false || this.state !== "open") return;
    const cut = this.segmenter.provisionalCut();
    const s = this.speculation;
    if (s && cut !== null && s.start === this.openStart && s.start + s.length === cut) return; // still the same span
    this.withdraw();
    if (cut === null) return;
    const seg = this.segmenter.provisional();
    if (!seg) return;
    const controller = new AbortController();
    const decoding = seg.voiced ? this.startDecode(seg, AbortSignal.any([this.abort.signal, controller.signal])) : null;
    decoding?.words.catch(() => {}); // a withdrawn speculation's outcome is ignored
    this.speculation = { start: seg.start, length: seg.samples.length, controller, decoding };
  }

  private analyse(x: Float32Array): void {
    const hop = this.frame.length;
    for (let i = 0; i < x.length; ) {
      const n = Math.min(hop - this.frameFill, x.length - i);
      this.frame.set(x.subarray(i, i + n), this.frameFill);
      this.frameFill += n;
      i += n;
      if (this.frameFill === hop) {
        this.frameFill = 0;
        this.frames++;
        const quiet = this.quiet.next(frameEnergyDb(this.frame, 0, hop));
        const label = this.endpointer.labels?.((this.frames - 1) * hop, this.frames * hop) ?? null;
        if (label === null ? !quiet : label === 0) this.loudEnd = this.frames * hop;
      }
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private maybePartial(): void {
    if (this.opts.partials === false || this.state !== "open" || this.partialBusy) return;
    // the open utterance's final is already decoding (250 ms into its closing pause): a partial of
    // the same audio would be overtaken by it and only take a Worker from other streams
    if (this.speculation) return;
    if (!this.partialDue()) return;
    const slot = this.opts.decoder.partialSlot;
    if (!slot) {
      this.startPartial(null);
      return;
    }
    // wait for a Worker that can start it, then take the newest audio (not the audio of now)
    this.partialBusy = true;
    const asked = this.now();
    slot.call(this.opts.decoder, this.abort.signal).then(
      (release) => {
        if (this.state !== "open" || this.speculation || !this.partialDue()) {
          release();
          this.partialBusy = false;
          return;
        }
        try {
          this.startPartial(release, this.now() - asked >= UNDER_LOAD_WAIT_MS);
        } catch (e) {
          release();
          this.partialBusy = false;
          this.opts.onError?.(e);
        }
      },
      () => {
        this.partialBusy = false;
      },
    );
  }

  /** a partial is due: enough new audio since the last one, and not all of it quiet */
  private partialDue(): boolean {
    const every = Math.round((this.opts.partialEverySeconds ?? 1) * SAMPLE_RATE);
    // cheap checks first: pending() copies the open utterance
    const from = Math.max(this.partialMark, this.openStart);
    if (this.total - from < every) return false;
    return this.loudEnd > from; // not nothing but quiet since the last partial
  }

  /** decodes the open utterance now; `release` frees the partial slot when the decode settles */
  private startPartial(release: (() => void) | null, underLoad = false): void {
    const open = this.segmenter.pending();
    if (open.samples.length === 0) {
      release?.();
      this.partialBusy = false;
      return;
    }
    this.partialMark = open.start + open.samples.length;

    const full = this.opts.partialWindowSeconds ?? 8;
    const window = Math.round((underLoad ? Math.min(full, this.opts.partialWindowUnderLoadSeconds ?? 4) : full) * SAMPLE_RATE);
    const skip = Math.max(0, open.samples.length - window);
    const startSec = (open.start + skip) / SAMPLE_RATE;
    const keepBefore = skip > 0 ? startSec + (this.opts.partialContextSeconds ?? 2) : -Infinity;
    const generation = this.generation;
    const prev = this.lastPartial?.generation === generation ? this.lastPartial.words : [];
    this.partialBusy = true;
    this.opts.decoder
      .decodeSegment(open.samples.subarray(skip), startSec, { session: this.opts.session, signal: this.abort.signal, purpose: "partial", ...this.hotwordOpts() })
      .then(
        (got) => {
          release?.();
          this.partialBusy = false;
          if (generation !== this.generation || this.outstanding > 0 || this.state !== "open") return;
          const words = skip > 0 ? [...prev.filter((w) => w.start < keepBefore), ...got.filter((w) => w.start >= keepBefore)] : got;
          const text = words.map((w) => w.word).join(" ");
          const changed = text !== (this.lastPartial?.generation === generation ? this.lastPartial.text : "");
          this.lastPartial = { generation, words, text };
          if (changed && words.length > 0) this.opts.onEvent({ type: "partial", words });
          this.maybePartial();
        },
        () => {
          release?.();
          this.partialBusy = false;
        },
      );
  }
}

/** `seg`, followed by audio that starts at sample `nextStart` (before seg's end at a hard cut) */
function utterance(seg: Segment, nextStart: number): Utterance {
  const end = seg.start + seg.samples.length;
  const from = seg.overlap > 0 ? (seg.start + seg.overlap / 2) / SAMPLE_RATE : Number.NEGATIVE_INFINITY;
  const to = nextStart < end ? (nextStart + end) / 2 / SAMPLE_RATE : Number.POSITIVE_INFINITY;
  return { seg, from, to };
}
