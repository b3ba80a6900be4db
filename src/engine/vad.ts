/**
 * The VAD on the main thread's side: a pool of VAD Workers (./vad-worker.ts) and, per stream,
 * a `VadLabeller` that sends whole 512-sample windows there (with the stream's carried state)
 * and keeps the speech/non-speech label of each 32 ms window, on the stream's own timeline.
 *
 * Labels: a window is speech from the first probability ≥ `threshold` until one falls below
 * `threshold − 0.15` (Silero's own hysteresis), so a word's soft tail is not cut off. The
 * labeller answers per 10 ms frame (the segmenter's grid) by the window holding the frame's
 * centre, and keeps the last {@link LABEL_HISTORY} windows (enough for a 20 s segment and more).
 */
import { GigasttError } from "../errors.ts";
import { freshCarry, VAD_WINDOW, type VadCarry } from "../model/vad.ts";
import { WorkerPool } from "./pool.ts";
import type { VadJob, VadResult, VadWorkerInit } from "./vad-worker.ts";

/** speech when the probability reaches this (Silero's and the Rust gigastt's default) */
export const DEFAULT_VAD_THRESHOLD = 0.5;
/** speech goes on until the probability falls this far below the threshold */
export const VAD_HYSTERESIS = 0.15;
/** windows of labels kept per stream (≈ 131 s) */
export const LABEL_HISTORY = 4096;
/** frame labels, as the segmenter reads them: 0 speech, 2 non-speech (nothing to transcribe) */
export type FrameLabel = 0 | 2;

/** URL of the VAD Worker entry: next to this module from source, `engine/vad-worker.ts` under the bundle root when compiled. */
export function vadWorkerUrl(moduleUrl: string = import.meta.url): string {
  if (/\/engine\/vad\.[cm]?[jt]s$/.test(new URL(moduleUrl).pathname)) return new URL("./vad-worker.ts", moduleUrl).href;
  return new URL("./engine/vad-worker.ts", moduleUrl).href;
}

/** What a labeller needs: whole windows in, one probability per window out, the carry advanced. */
export interface VadRunner {
  probabilities(samples: Float32Array, carry: VadCarry, opts?: { session?: string; signal?: AbortSignal }): Promise<{ probs: Float32Array; carry: VadCarry }>;
}

export interface VadPoolOptions {
  /** VAD Workers (default 1: a window costs well under a millisecond) */
  readonly workers?: number;
  /** Worker entry URL (default {@link vadWorkerUrl}) */
  readonly url?: string;
  /** a model file instead of the embedded one */
  readonly file?: string;
}

/** The VAD Workers. Jobs round-robin across streams (`session`), like the inference pool's. */
export class VadPool implements VadRunner {
  readonly #pool: WorkerPool<VadWorkerInit, VadJob, VadResult>;
  private constructor(pool: WorkerPool<VadWorkerInit, VadJob, VadResult>) {
    this.#pool = pool;
  }

  static async start(opts: VadPoolOptions = {}): Promise<VadPool> {
    const pool = await WorkerPool.start<VadWorkerInit, VadJob, VadResult>({
      url: opts.url ?? vadWorkerUrl(),
      size: opts.workers ?? 1,
      init: opts.file ? { file: opts.file } : {},
    });
    return new VadPool(pool);
  }

  get size(): number {
    return this.#pool.size;
  }

  async probabilities(samples: Float32Array, carry: VadCarry, opts: { session?: string; signal?: AbortSignal } = {}): Promise<{ probs: Float32Array; carry: VadCarry }> {
    // own copies: the buffers move to the Worker and back
    const job: VadJob = { samples: samples.slice(), state: carry.state.slice(), context: carry.context.slice(), quiet: carry.quiet.slice() };
    const r = await this.#pool.run(job, {
      ...(opts.session ? { session: opts.session } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      transfer: [job.samples.buffer as ArrayBuffer, job.state.buffer as ArrayBuffer, job.context.buffer as ArrayBuffer],
    });
    return { probs: r.probs, carry: { state: r.state, context: r.context, quiet: r.quiet } };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

export interface LabellerOptions {
  /** speech probability threshold in (0, 1) (default 0.5) */
  readonly threshold?: number;
  /** fairness key for the VAD Workers */
  readonly session?: string;
  readonly signal?: AbortSignal;
}

/**
 * One stream's VAD labels. `admit()` calls must not overlap (each awaits the last); samples are
 * labelled in whole windows, the rest waits for the next call (or `finish()`, which pads it).
 */
export class VadLabeller {
  readonly threshold: number;
  readonly #runner: VadRunner;
  readonly #opts: LabellerOptions;
  #carry: VadCarry = freshCarry();
  #rest = new Float32Array(0);
  /** windows labelled since the stream start */
  #windows = 0;
  readonly #ring = new Uint8Array(LABEL_HISTORY);
  #speaking = false;
  /** windows labelled speech, in all */
  speechWindows = 0;
  /**
   * why the VAD stopped (a Worker that failed): from then on every frame is left to the energy
   * rule and nothing is cut out, as without VAD; a VAD failure never fails a transcription
   */
  failure: unknown = null;

  constructor(runner: VadRunner, opts: LabellerOptions = {}) {
    const t = opts.threshold ?? DEFAULT_VAD_THRESHOLD;
    if (!(t > 0 && t < 1)) throw new GigasttError("invalid_config", `VAD threshold must be between 0 and 1, got ${t}`);
    this.threshold = t;
    this.#runner = runner;
    this.#opts = opts;
  }

  /** samples waiting for a whole window */
  get held(): number {
    return this.#rest.length;
  }

  /** samples labelled so far (a multiple of 512) */
  get labelled(): number {
    return this.#windows * VAD_WINDOW;
  }

  /**
   * Labels the whole windows that `x` completes and resolves with their samples (the rest waits
   * for the next call or `finish()`): a consumer that takes only these sees every frame labelled,
   * so its decisions do not depend on how the stream was split into chunks.
   */
  async admit(x: Float32Array): Promise<Float32Array> {
    const all = new Float32Array(this.#rest.length + x.length);
    all.set(this.#rest);
    all.set(x, this.#rest.length);
    const whole = all.length - (all.length % VAD_WINDOW);
    this.#rest = all.slice(whole);
    if (whole === 0) return new Float32Array(0);
    const ready = all.subarray(0, whole);
    await this.#run(ready);
    return ready;
  }

  /** End of the stream: labels the last partial window (zero-padded) and resolves with its samples; nothing may follow. */
  async finish(): Promise<Float32Array> {
    const rest = this.#rest;
    if (rest.length === 0) return rest;
    this.#rest = new Float32Array(0);
    const w = new Float32Array(VAD_WINDOW);
    w.set(rest);
    await this.#run(w);
    return rest;
  }

  /**
   * The label of the 10 ms frame [start, end) (stream samples): its centre's window. Past the
   * labelled windows (a tail shorter than a window), the last window's; null before any.
   */
  frameLabel(start: number, end: number): FrameLabel | null {
    if (this.#windows === 0 || this.failure !== null) return null;
    const w = Math.min(this.#windows - 1, Math.floor((start + end) / 2 / VAD_WINDOW));
    if (w < this.#windows - LABEL_HISTORY) return null; // forgotten: let energy decide
    return this.#ring[w % LABEL_HISTORY] ? 0 : 2;
  }

  /** 1 per 10 ms frame of [start, start + length) that is non-speech (the frames' centres); undefined once the VAD failed */
  nonSpeechMask(start: number, length: number): Uint8Array | undefined {
    if (this.failure !== null) return undefined;
    const hop = 160;
    const frames = Math.ceil(length / hop);
    const mask = new Uint8Array(frames);
    for (let f = 0; f < frames; f++) {
      const a = start + f * hop;
      mask[f] = this.frameLabel(a, Math.min(a + hop, start + length)) === 2 ? 1 : 0;
    }
    return mask;
  }

  async #run(samples: Float32Array): Promise<void> {
    if (this.failure !== null) return;
    let got: { probs: Float32Array; carry: VadCarry };
    try {
      got = await this.#runner.probabilities(samples, this.#carry, this.#opts);
    } catch (e) {
      if (this.#opts.signal?.aborted) throw e;
      this.failure = e;
      return;
    }
    const { probs, carry } = got;
    this.#carry = carry;
    const off = this.threshold - VAD_HYSTERESIS;
    for (const p of probs) {
      if (p >= this.threshold) this.#speaking = true;
      else if (p < off) this.#speaking = false;
      this.#ring[this.#windows % LABEL_HISTORY] = this.#speaking ? 1 : 0;
      if (this.#speaking) this.speechWindows++;
      this.#windows++;
    }
  }
}
