/**
 * The one offline pipeline: every file entry point (`gigastt transcribe`, the library's
 * `Transcriber.transcribe`/`transcribeStream`, `POST /v1/transcribe`, `/v1/transcribe/stream`,
 * `/v1/audio/transcriptions` with or without `stream=true`) runs this function with the same
 * settings, so the same bytes give the same words and times everywhere.
 *
 * Settings, chosen for accuracy (the model predicts punctuation, capitalisation and number
 * formatting from the segment it sees, so a file gets as much context as the encoder handles
 * well):
 * - segments of at most {@link MAX_SEGMENT_SECONDS} s, cut at the centre of the latest pause of
 *   ≥ {@link FILE_MIN_PAUSE_MS} ms before the limit (no endpointing: a file is never cut at every
 *   breath, unlike a live stream);
 * - no pause at all: a hard cut at the limit, the next segment starting one second earlier, and
 *   the duplicated words removed by `stitchWords`;
 * - pause compaction is the Worker's setting (`compactPauses`), the same for every decode.
 *
 * Segments decode in parallel (at most `maxInFlight` at once, so memory stays bounded: PCM is
 * never accumulated); `onSegment` runs in order as soon as a segment and all before it are done.
 * Words near the end of a segment cut at the limit are held back until the next segment settles
 * the overlap, so every word is reported once and never retracted.
 */
import type { Word } from "../types.ts";
import { SAMPLE_RATE } from "../types.ts";
import { DEFAULT_MIN_PAUSE_MS, type Segment, Segmenter } from "../segment/segmenter.ts";
import { stitchWords } from "../segment/stitch.ts";
import type { VadLabeller } from "./vad.ts";

/** Longest segment sent to the encoder, seconds. */
export const MAX_SEGMENT_SECONDS = 20;
/** Shortest pause a file segment is cut in, ms. */
export const FILE_MIN_PAUSE_MS = DEFAULT_MIN_PAUSE_MS;

/**
 * Decodes one segment (its samples may be moved away); word times shifted by `offsetSeconds`;
 * `nonSpeech` (with VAD): 1 per 10 ms frame the VAD found no speech in, cut out before the encoder.
 */
export type DecodeFn = (samples: Float32Array, offsetSeconds: number, signal: AbortSignal, nonSpeech?: Uint8Array) => Promise<Word[]>;

export interface OfflineOptions {
  /** segments decoding at once (e.g. Workers + 1) */
  readonly maxInFlight: number;
  /** abort: stop everything and throw the reason */
  readonly signal?: AbortSignal;
  /** drain: stop reading input, finish with what was read (`stopped: true`) */
  readonly stop?: AbortSignal;
  /** called in order for each decoded segment with its new words and its span in seconds */
  readonly onSegment?: (words: Word[], span: { start: number; end: number }) => void | Promise<void>;
  /** wall seconds of one decode and the seconds of audio it covered */
  readonly onInference?: (seconds: number, audioSeconds: number) => void;
  /** a segment's decode failed: `true` drops its words and goes on, `false` (default) fails the run */
  readonly onDecodeError?: (e: unknown) => boolean;
  /** clock in ms (default performance.now) */
  readonly now?: () => number;
  /**
   * the VAD (a fresh labeller for this stream): segments are cut at its pauses, a segment without
   * speech is never decoded, and non-speech inside a segment is cut out before the encoder
   */
  readonly vad?: VadLabeller;
}

export interface OfflineResult {
  readonly words: Word[];
  /** seconds of 16 kHz audio read */
  readonly duration: number;
  /** true when `stop` cut the input short */
  readonly stopped: boolean;
}

/** Where a segment lies in the stream, in samples. */
interface SegmentSpan {
  readonly start: number;
  readonly length: number;
  readonly overlap: number;
}

/** Runs 16 kHz mono `chunks` through the offline pipeline (see the module comment). */
export async function transcribeOffline(
  decode: DecodeFn,
  chunks: AsyncIterable<Float32Array> | Iterable<Float32Array>,
  opts: OfflineOptions,
): Promise<OfflineResult> {
  const local = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, local.signal]) : local.signal;
  const limit = Math.max(1, opts.maxInFlight);
  const now = opts.now ?? (() => performance.now());
  const vad = opts.vad;
  const segmenter = new Segmenter({
    sampleRate: SAMPLE_RATE,
    maxSeconds: MAX_SEGMENT_SECONDS,
    minPauseMs: FILE_MIN_PAUSE_MS,
    ...(vad ? { labels: (a: number, b: number) => vad.frameLabel(a, b) } : {}),
  });
  const holdSeconds = segmenter.overlapSamples / SAMPLE_RATE;
  const words: Word[] = [];
  let held: Word[] = [];
  let total = 0;
  let stopped = false;
  let failure: { error: unknown } | null = null;
  let chain: Promise<void> = Promise.resolve();
  const inflight: Promise<void>[] = [];
  const failed = (): { error: unknown } | null => failure;

  const settle = async (seg: SegmentSpan, found: Word[], isLast: boolean): Promise<void> => {
    const start = seg.start / SAMPLE_RATE;
    const end = (seg.start + seg.length) / SAMPLE_RATE;
    const merged = seg.overlap > 0 ? stitchWords(held, found, start, seg.overlap / SAMPLE_RATE) : held.concat(found);
    // a segment cut at the length limit may be followed by an overlapping one
    const mayOverlap = !isLast && seg.length >= segmenter.maxSamples;
    const holdFrom = end - holdSeconds;
    const ready = mayOverlap ? merged.filter((w) => w.start < holdFrom) : merged;
    held = mayOverlap ? merged.filter((w) => w.start >= holdFrom) : [];
    for (const w of ready) words.push(w);
    await opts.onSegment?.(ready, { start, end });
  };

  const timed = async (samples: Float32Array, offset: number, nonSpeech: Uint8Array | undefined): Promise<Word[]> => {
    const audioSeconds = samples.length / SAMPLE_RATE;
    const t0 = now();
    try {
      return await (nonSpeech ? decode(samples, offset, signal, nonSpeech) : decode(samples, offset, signal));
    } catch (e) {
      if (signal.aborted || !opts.onDecodeError?.(e)) throw e;
      return [];
    } finally {
      opts.onInference?.((now() - t0) / 1000, audioSeconds);
    }
  };

  const submit = async (segs: Segment[], last: boolean): Promise<void> => {
    for (let i = 0; i < segs.length; i++) {
      const { samples, voiced } = segs[i]!;
      // the samples may move to a Worker: keep only the span
      const seg: SegmentSpan = { start: segs[i]!.start, length: samples.length, overlap: segs[i]!.overlap };
      while (inflight.length >= limit) await inflight[0];
      const f = failed();
      if (f) throw f.error;
      const isLast = last && i === segs.length - 1;
      const found = voiced ? timed(samples, seg.start / SAMPLE_RATE, vad?.nonSpeechMask(seg.start, samples.length)) : Promise.resolve<Word[]>([]);
      found.catch(() => {}); // awaited in order below; no unhandled rejection meanwhile
      const step = chain.then(async () => {
        if (failure) return;
        try {
          await settle(seg, await found, isLast);
        } catch (e) {
          failure = { error: e };
          local.abort(e);
        }
      });
      chain = step;
      inflight.push(step.then(() => void inflight.shift()));
    }
  };

  const it = (Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : (chunks as Iterable<Float32Array>)[Symbol.iterator]()) as
    | AsyncIterator<Float32Array>
    | Iterator<Float32Array>;
  try {
    for (;;) {
      const r = await nextOrStop(it, opts.stop, signal);
      if (r === STOP) {
        stopped = true;
        void Promise.resolve(it.return?.(undefined)).catch(() => {});
        break;
      }
      if (r.done) break;
      signal.throwIfAborted();
      const f = failed();
      if (f) throw f.error;
      const chunk = r.value;
      if (chunk.length === 0) continue;
      total += chunk.length;
      // with VAD the segmenter takes only labelled samples (whole 32 ms windows): the same cuts for any chunking
      await submit(segmenter.push(vad ? await vad.admit(chunk) : chunk), false);
    }
    if (vad) await submit(segmenter.push(await vad.finish()), false);
    await submit(segmenter.flush(), true);
    await chain;
    const f = failed();
    if (f) throw f.error;
    if (held.length > 0) {
      // the stream ended right after a segment cut at the limit: nothing overlaps it
      const rest = held;
      held = [];
      words.push(...rest);
      await opts.onSegment?.(rest, { start: rest[0]!.start, end: total / SAMPLE_RATE });
    }
  } catch (e) {
    local.abort(e);
    await chain;
    void Promise.resolve(it.return?.(undefined)).catch(() => {});
    throw e;
  }
  return { words, duration: total / SAMPLE_RATE, stopped };
}

const STOP = Symbol("stop");

/**
 * The next chunk; STOP as soon as `stop` fires, or the abort reason as soon as `signal` fires
 * (the pending read is abandoned either way: a client gone mid-upload never holds the run).
 */
function nextOrStop(
  it: AsyncIterator<Float32Array> | Iterator<Float32Array>,
  stop: AbortSignal | undefined,
  signal: AbortSignal,
): Promise<IteratorResult<Float32Array> | typeof STOP> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (stop?.aborted) return Promise.resolve(STOP);
  const next = Promise.resolve(it.next());
  return new Promise((resolve, reject) => {
    const onStop = () => resolve(STOP);
    const onAbort = () => reject(signal.reason);
    const done = () => {
      stop?.removeEventListener("abort", onStop);
      signal.removeEventListener("abort", onAbort);
    };
    stop?.addEventListener("abort", onStop, { once: true });
    signal.addEventListener("abort", onAbort, { once: true });
    next.then(
      (r) => {
        done();
        resolve(r);
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
  });
}
