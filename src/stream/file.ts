/**
 * An uploaded file through the one offline pipeline (`engine/offline.ts`), the
 * same code path and settings as `gigastt transcribe` and the library's
 * `Transcriber.transcribeStream`: the same bytes give the same words and
 * times on every file route. Each segment's words reach `onSegment` in order
 * as soon as they are decoded (SSE forwards them; REST collects the result).
 * Memory stays bounded: the reader waits while `workers + 1` segments are
 * being decoded, so a 3-hour upload is never held whole as PCM.
 */
import { transcribeOffline } from "../engine/offline.ts";
import type { VadLabeller } from "../engine/vad.ts";
import { GigasttError } from "../errors.ts";
import type { Word } from "../types.ts";
import type { SegmentDecoder } from "./utterances.ts";

export interface FileRunOptions {
  /** the engine's Transcriber, or a wrapper of it (the jobs' checkpoints) */
  decoder: SegmentDecoder & {
    readonly info?: { readonly workers: number; readonly fileConcurrency?: number; readonly vadWorkers?: number };
    vadLabeller?(opts?: { session?: string; signal?: AbortSignal }): VadLabeller;
  };
  /** run the file through the VAD (default: when the decoder has one loaded, i.e. `serve --vad`) */
  vad?: boolean;
  session: string;
  /** client gone: stop everything, emit nothing more */
  signal: AbortSignal;
  /** drain: stop reading input, finish with what was read */
  stop?: AbortSignal;
  /** each segment's new words, in order, as soon as it (and all before it) is decoded */
  onSegment?(words: readonly Word[], span: { start: number; end: number }): void;
  onInference?(seconds: number, audioSeconds: number): void;
  /** a segment's decode failed; `false` aborts the run with that error (REST), `true` continues (SSE) */
  onDecodeError(e: unknown): boolean;
}

export interface FileRunResult {
  /** every segment's words, in order */
  readonly words: readonly Word[];
  /** seconds of 16 kHz audio read */
  readonly duration: number;
  /** true when `stop` cut the input short */
  readonly stopped: boolean;
}

/**
 * Run `audio` (an iterator that may already have been started, see `first`)
 * to the end. Throws the audio's own errors (invalid_audio, audio_too_long,
 * payload_too_large…), an aborted error when `signal` fires, or a decode
 * error that `onDecodeError` refused.
 */
export async function runFile(
  audio: AsyncIterator<Float32Array>,
  opts: FileRunOptions,
  first?: IteratorResult<Float32Array>,
): Promise<FileRunResult> {
  const decoder = opts.decoder;
  try {
    const vad = (opts.vad ?? (decoder.info?.vadWorkers ?? 0) > 0) ? vadOf(decoder, opts) : undefined;
    const run = await transcribeOffline(
      (samples, offset, signal, nonSpeech) => decoder.decodeSegment(samples, offset, { session: opts.session, signal, giveAway: true, purpose: "file", ...(nonSpeech ? { nonSpeech } : {}) }),
      resume(first, audio),
      {
        ...(vad ? { vad } : {}),
        // the file Workers + 1 keeps each busy (--file-window-concurrency sets it); a wrapper without `info` paces itself (2)
        maxInFlight: decoder.info ? (decoder.info.fileConcurrency ?? decoder.info.workers + 1) : 2,
        signal: opts.signal,
        ...(opts.stop ? { stop: opts.stop } : {}),
        ...(opts.onSegment ? { onSegment: opts.onSegment } : {}),
        ...(opts.onInference ? { onInference: opts.onInference } : {}),
        onDecodeError: opts.onDecodeError,
      },
    );
    // drained: the pending read was abandoned; let the decoder go
    if (run.stopped) void audio.return?.(undefined)?.catch?.(() => {});
    return run;
  } catch (e) {
    void audio.return?.(undefined)?.catch?.(() => {});
    if (opts.signal.aborted) throw new GigasttError("internal", "client disconnected");
    throw e;
  }
}

/** a fresh VAD labeller for this file (`vad_not_loaded` when the decoder has no VAD) */
function vadOf(decoder: FileRunOptions["decoder"], opts: FileRunOptions): VadLabeller {
  if (!decoder.vadLabeller || (decoder.info?.vadWorkers ?? 0) === 0) throw new GigasttError("vad_not_loaded");
  return decoder.vadLabeller({ session: opts.session, signal: opts.signal });
}

/** The chunk already taken from `rest` (if any), then the rest of it. */
async function* resume(first: IteratorResult<Float32Array> | undefined, rest: AsyncIterator<Float32Array>): AsyncGenerator<Float32Array> {
  if (first) {
    if (first.done) return;
    yield first.value;
  }
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}
