/**
 * An uploaded file through the same streaming core as a live WebSocket
 * session: decoded 16 kHz chunks → {@link UtteranceStream} → finals in order.
 * REST collects the finals into one result; SSE forwards every event.
 * Memory stays bounded: the reader waits while two utterances are still
 * being decoded, so a 3-hour upload is never held whole as PCM.
 */
import { GigasttError } from "../../errors.ts";
import type { Word } from "../../types.ts";
import { type SegmentDecoder, type UtteranceEvent, UtteranceStream } from "./utterances.ts";

/** utterances that may wait for their decode before reading more input */
const MAX_PENDING_FINALS = 2;

export interface FileRunOptions {
  decoder: SegmentDecoder;
  session: string;
  /** client gone: stop everything, emit nothing more */
  signal: AbortSignal;
  /** drain: stop reading input, finish with what was read */
  stop?: AbortSignal;
  partials: boolean;
  onEvent?(e: UtteranceEvent): void;
  onInference?(seconds: number, audioSeconds: number): void;
  /** a final's decode failed; `false` aborts the run with that error (REST), `true` continues (SSE) */
  onDecodeError(e: unknown): boolean;
}

export interface FileRunResult {
  /** every final's words, in order */
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
  const words: Word[] = [];
  let failure: unknown = null;
  const stream = new UtteranceStream({
    decoder: opts.decoder,
    session: opts.session,
    partials: opts.partials,
    onEvent(e) {
      if (e.type === "final") words.push(...e.words);
      opts.onEvent?.(e);
    },
    onError(e) {
      if (failure === null && !opts.onDecodeError(e)) {
        failure = e;
        stream.close();
      }
    },
    ...(opts.onInference ? { onInference: opts.onInference } : {}),
  });
  const aborted = () => opts.signal.aborted || failure !== null;
  const onAbort = () => stream.close();
  opts.signal.addEventListener("abort", onAbort, { once: true });
  let stopped = false;
  try {
    let r = first ?? (await nextOrStop(audio, opts.stop));
    while (r !== STOP && !r.done) {
      if (aborted()) break;
      stream.push(r.value);
      await stream.whenBelow(MAX_PENDING_FINALS);
      if (aborted()) break;
      r = await nextOrStop(audio, opts.stop);
    }
    if (r === STOP) {
      stopped = true;
      void audio.return?.(undefined)?.catch?.(() => {});
    }
    if (!aborted()) await stream.finish();
  } catch (e) {
    stream.close();
    void audio.return?.(undefined)?.catch?.(() => {});
    throw e;
  } finally {
    opts.signal.removeEventListener("abort", onAbort);
  }
  if (failure !== null) throw failure;
  if (opts.signal.aborted) throw new GigasttError("internal", "client disconnected");
  return { words, duration: stream.duration, stopped };
}

const STOP = Symbol("stop");

/** the next chunk, or STOP as soon as `stop` fires (the pending read is abandoned) */
function nextOrStop(audio: AsyncIterator<Float32Array>, stop?: AbortSignal): Promise<IteratorResult<Float32Array> | typeof STOP> {
  if (!stop) return audio.next();
  if (stop.aborted) return Promise.resolve(STOP);
  return new Promise((resolve, reject) => {
    const onStop = () => resolve(STOP);
    stop.addEventListener("abort", onStop, { once: true });
    audio.next().then(
      (r) => {
        stop.removeEventListener("abort", onStop);
        resolve(r);
      },
      (e: unknown) => {
        stop.removeEventListener("abort", onStop);
        reject(e);
      },
    );
  });
}
