/**
 * How a live stream decides where an utterance ends: the seam between the stream core
 * (./utterances.ts) and what classifies its audio.
 *
 * - `energy` (the default): the segmenter's own rule, signal energy against an adaptive floor
 *   (src/segment/energy.ts). Samples reach the segmenter at once.
 * - `vad`: Silero VAD (src/engine/vad.ts) labels every 32 ms window as speech or not, in a VAD
 *   Worker; the segmenter reads those labels instead of energy, so an utterance ends after
 *   `minPauseMs` (`min_silence_ms`) of non-speech, on a noisy line too, and a stretch without
 *   speech is never decoded. Samples reach the segmenter once labelled (whole windows, a Worker
 *   round trip later), always in order; a VAD failure leaves the rest of the stream to energy.
 */
import type { VadLabeller } from "../engine/vad.ts";
import type { FrameLabels } from "../segment/segmenter.ts";

export type EndpointerKind = "energy" | "vad";

export interface Endpointer {
  readonly mode: EndpointerKind;
  /** the segmenter's frame labels (undefined: its energy rule) */
  readonly labels: FrameLabels | undefined;
  /** the VAD's non-speech 10 ms frames of a span of delivered samples, cut out before the encoder (energy: none) */
  nonSpeech?(start: number, length: number): Uint8Array | undefined;
  /** every pushed sample was delivered (none waits for a Worker or for a whole VAD window) */
  readonly idle: boolean;
  /** takes the stream's samples; they are delivered in order, now or once classified */
  push(x: Float32Array): void;
  /**
   * runs `fn` once every sample pushed so far was delivered (at once when idle), in order with
   * later deliveries; `end`: the stream ends here, so a last partial window is classified too
   */
  after(fn: () => void | Promise<void>, end?: boolean): Promise<void>;
  /** nothing more is delivered */
  close(): void;
}

/** builds a stream's endpointer around the stream's delivery function */
export type EndpointerFactory = (deliver: (x: Float32Array) => void) => Endpointer;

/** Today's endpointing: energy, samples delivered as they come. */
export const energyEndpointing: EndpointerFactory = (deliver) => ({
  mode: "energy",
  labels: undefined,
  idle: true,
  push: deliver,
  after: async (fn) => {
    await fn();
  },
  close: () => {},
});

/** VAD endpointing with a fresh labeller for this stream (`Transcriber.vadLabeller()`). */
export function vadEndpointing(labeller: VadLabeller): EndpointerFactory {
  return (deliver) => new VadEndpointer(labeller, deliver);
}

class VadEndpointer implements Endpointer {
  readonly mode = "vad" as const;
  readonly labels: FrameLabels;
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;
  #closed = false;

  constructor(
    private readonly labeller: VadLabeller,
    private readonly deliver: (x: Float32Array) => void,
  ) {
    this.labels = (a, b) => labeller.frameLabel(a, b);
  }

  get idle(): boolean {
    return this.#pending === 0 && this.labeller.held === 0;
  }

  nonSpeech(start: number, length: number): Uint8Array | undefined {
    return this.labeller.nonSpeechMask(start, length);
  }

  push(x: Float32Array): void {
    if (this.#closed || x.length === 0) return;
    const own = x.slice(); // the caller may reuse its buffer
    this.#queue(async () => {
      const ready = await this.labeller.admit(own);
      if (!this.#closed && ready.length > 0) this.deliver(ready);
    });
  }

  after(fn: () => void | Promise<void>, end = false): Promise<void> {
    // fn runs in order with the deliveries, but what it starts (a final's decode) does not hold them up
    let done: Promise<void> = Promise.resolve();
    const step = this.#queue(async () => {
      if (end) {
        const rest = await this.labeller.finish();
        if (!this.#closed && rest.length > 0) this.deliver(rest);
      }
      if (!this.#closed) done = Promise.resolve(fn());
    });
    return step.then(() => done);
  }

  close(): void {
    this.#closed = true;
  }

  #queue(step: () => Promise<void>): Promise<void> {
    this.#pending++;
    const run = this.#chain.then(step).finally(() => void this.#pending--);
    // a failed step (the stream was aborted) must not block the steps after it
    this.#chain = run.catch(() => {});
    return run;
  }
}
