/**
 * The async transcription API. Audio is cut into ≤ 20 s segments (src/segment),
 * each decoded from a fresh state in a Worker; segments run in parallel across
 * the pool and their words are stitched back in order with absolute times.
 *
 * The caller's thread never runs ONNX: it only segments, posts and stitches.
 * Memory stays bounded for long input: PCM is never accumulated, and at most
 * `workers + 1` segments are in flight.
 */
import { availableParallelism } from "node:os";
import { wordsToText } from "../decode/detok.ts";
import type { HotwordList } from "../decode/hotwords.ts";
import { GigasttError } from "../errors.ts";
import { buildSegments } from "../format/index.ts";
import { type ModelFiles, selectModelFiles } from "../model/files.ts";
import { disableOrtTelemetry } from "../runtime/telemetry.ts";
import { SAMPLE_RATE, type Precision, type TranscriptResult, type Word } from "../types.ts";
import { transcribeOffline } from "./offline.ts";
import { WorkerPool } from "./pool.ts";
import { Slots } from "./slots.ts";
import { VadLabeller, VadPool, type VadPoolOptions } from "./vad.ts";
import type { DecodeJob, ModelWorkerInfo, ModelWorkerInit } from "./worker.ts";

/**
 * URL of the inference Worker entry (`src/engine/worker.ts`).
 * - From source (`bun src/main.ts`, tests): next to this module.
 * - In a compiled binary (`bun build --compile src/main.ts src/engine/worker.ts`): modules are
 *   bundled into the entry, so `import.meta.url` is the root of the embedded tree
 *   (`file:///$bunfs/root/<binary>`) and the worker entry is `engine/worker.ts` below it.
 */
export function workerUrl(moduleUrl: string = import.meta.url): string {
  if (/\/engine\/transcriber\.[cm]?[jt]s$/.test(new URL(moduleUrl).pathname)) return new URL("./worker.ts", moduleUrl).href;
  return new URL("./engine/worker.ts", moduleUrl).href;
}

export { MAX_SEGMENT_SECONDS } from "./offline.ts";

export interface JobOptions {
  /** fairness key: jobs round-robin across keys (default: one key per call) */
  readonly session?: string;
  readonly signal?: AbortSignal;
  /**
   * "partial": a provisional re-decode of an open utterance. It runs on the partial encoder when
   * one is loaded (`partialEncoder`, e.g. the int8 file) and goes ahead of queued finals.
   */
  readonly purpose?: "final" | "partial" | "file";
  /**
   * The caller gives `samples` away: their buffer is moved to the Worker (detached here) instead
   * of copied, when they own all of it. The offline pipeline does this for every segment, so
   * hours of audio do not leave a copy of each segment behind for the collector.
   */
  readonly giveAway?: boolean;
  /**
   * Hotwords for this job (src/decode/hotwords.ts): a list biases decoding toward it, `null`
   * turns biasing off, absent uses the Transcriber's default (`TranscriberOptions.hotwords`).
   */
  readonly hotwords?: HotwordList | null;
  /** the VAD's non-speech frames of these samples (1 per 10 ms): cut out before the encoder */
  readonly nonSpeech?: Uint8Array;
}

export interface StreamOptions extends JobOptions {
  /** run the file through the VAD (`vad_not_loaded` when the Transcriber has none; default false) */
  readonly vad?: boolean;
  /** called in order for each decoded segment with its new words and its span in seconds */
  readonly onSegment?: (words: Word[], span: { start: number; end: number }) => void | Promise<void>;
}

export interface TranscriberOptions {
  readonly modelDir: string;
  readonly precision?: Precision;
  /** Workers (default: CPU cores) */
  readonly workers?: number;
  /** intra-op threads per Worker (default 1) */
  readonly threadsPerWorker?: number;
  /** Worker entry URL (default {@link workerUrl}) */
  readonly workerUrl?: string;
  /**
   * A faster encoder file for streaming partials (`purpose: "partial"`), e.g. the dynamic int8
   * `v3_e2e_rnnt_encoder.int8.onnx`, run by Workers of their own (`partialWorkers`) with the same
   * decoder and joint. Finals and files always use the main encoder. If it cannot be loaded,
   * partials use the main Workers (ahead of queued finals) and `info.partialEncoderError` says why.
   */
  readonly partialEncoder?: string;
  /**
   * Start the partial Workers only once the main ones have loaded, and resolve without waiting
   * for them (default false: `fromFiles` waits for both). Until they are loaded (or if they fail)
   * partials run on the main Workers ahead of queued finals, as when no partial encoder is set;
   * `partialWorkersReady()` says when that ends. `serve` uses this: on a 2-core machine the
   * partial Worker's encoder session was ≈ ⅕ of the CPU spent before `/ready` with 4 Workers.
   */
  readonly lazyPartialWorkers?: boolean;
  /** Workers for partials when `partialEncoder` is set (default: one per 4 main Workers, at least 1) */
  readonly partialWorkers?: number;
  /**
   * intra-op threads of each partial Worker (default 1; idle threads sleep instead of spinning).
   * Measured on 2 cores: 2 threads made partials faster but finals slower (the cores are shared
   * with the main Workers), so 1 is the default.
   */
  readonly partialThreads?: number;
  /**
   * Shorten pauses longer than 600 ms to 300 ms before the encoder (default true); word times
   * still refer to the original audio. Off: the encoder sees every sample (like-for-like benchmarks).
   */
  readonly compactPauses?: boolean;
  /**
   * The main Workers prepack their weights (default false): faster finals, but each Worker then holds a
   * private copy of the encoder instead of sharing the mapped file's pages (BENCHMARKS.md: session layouts).
   */
  readonly prepack?: boolean;
  /** hotwords of every job that names none (`--hotwords-file`); default none */
  readonly hotwords?: HotwordList | null;
  /** a segment decode running longer fails with `inference_timeout` and its Worker is replaced (default 0: no limit) */
  readonly inferenceTimeoutMs?: number;
  /** main Workers that must load (default: all); fewer loaded than `workers` → `onWorkersShort` */
  readonly minWorkers?: number;
  readonly onWorkersShort?: (loaded: number, error: string) => void;
  /**
   * Workers of their own for files (`purpose: "file"`), taken from `workers` (at most workers − 1),
   * so a long file never slows live streams (default 0: files and live streams share the Workers).
   */
  readonly fileWorkers?: number;
  /** segments of one file decoding at once (default: its Workers + 1) */
  readonly fileConcurrency?: number;
  /**
   * Load the Silero VAD (embedded) in Workers of its own (default 1): files may then ask for VAD
   * (`transcribeStream(…, { vad: true })`) and streams for VAD endpointing (`vadLabeller()`).
   */
  readonly vad?: boolean | (VadPoolOptions & { readonly threshold?: number });
}

export interface TranscriberInfo {
  readonly precision: Precision;
  readonly vocabSize: number;
  readonly workers: number;
  readonly files: ModelFiles;
  /** the encoder file partials run on (the main encoder when null) */
  readonly partialEncoder: string | null;
  /** Workers running partials on it (0 when partialEncoder is null) */
  readonly partialWorkers: number;
  /** of `workers`, the ones that only run files (0: shared) */
  readonly fileWorkers: number;
  /** segments of one file decoding at once */
  readonly fileConcurrency: number;
  /** why the requested partial encoder is not used */
  readonly partialEncoderError?: string;
  /** phrases of the default hotword list (0: none) */
  readonly hotwords: number;
  /** the partial Workers are still loading (`lazyPartialWorkers`): partials run on the main Workers meanwhile */
  readonly partialWorkersLoading?: boolean;
  /** VAD Workers (0: no VAD loaded) */
  readonly vadWorkers: number;
}

type Pool = WorkerPool<ModelWorkerInit, DecodeJob, Word[], ModelWorkerInfo>;
type PartialStart = Promise<{ pool: Pool } | { error: string }>;

export class Transcriber {
  readonly #pool: Pool;
  readonly #files: ModelFiles;
  /** Workers with the partial encoder, once loaded */
  #partialPool: Pool | null = null;
  #partialEncoder: string | null = null;
  #partialError: string | undefined;
  /** settles when the partial Workers have loaded or failed (at once when there are none) */
  readonly #partialSettled: Promise<void>;
  #partialLoading = false;
  #closed = false;
  /** one per Worker that runs partials: a partial takes its audio only once it can start */
  #partialSlots: Slots | null = null;
  /** the default hotword list */
  readonly #hotwords: HotwordList | null;
  readonly #mainSlots: Slots;
  /** Workers that only run file segments, if any */
  readonly #filePool: Pool | null;
  readonly #fileConcurrency: number | undefined;
  readonly #vad: VadPool | null;
  /** the labellers' default speech threshold */
  #vadThreshold: number | undefined;

  private constructor(
    pool: Pool,
    files: ModelFiles,
    partial: { start: PartialStart; encoder: string } | null,
    hotwords: HotwordList | null,
    file: { pool: Pool | null; concurrency: number | undefined } = { pool: null, concurrency: undefined },
    vad: VadPool | null = null,
  ) {
    this.#pool = pool;
    this.#filePool = file.pool;
    this.#fileConcurrency = file.concurrency;
    this.#vad = vad;
    this.#hotwords = hotwords;
    this.#files = files;
    this.#mainSlots = new Slots(pool.size);
    if (!partial) {
      this.#partialSettled = Promise.resolve();
      return;
    }
    this.#partialLoading = true;
    this.#partialSettled = partial.start.then(async (r) => {
      this.#partialLoading = false;
      if ("error" in r) this.#partialError = r.error;
      else if (this.#closed) await r.pool.close();
      else {
        this.#partialPool = r.pool;
        this.#partialEncoder = partial.encoder;
        this.#partialSlots = new Slots(r.pool.size);
      }
    });
  }

  get info(): TranscriberInfo {
    return Object.freeze({
      precision: this.#files.precision,
      vocabSize: this.#pool.info.vocabSize,
      workers: this.#pool.size + (this.#filePool?.size ?? 0),
      files: this.#files,
      partialEncoder: this.#partialEncoder,
      partialWorkers: this.#partialPool?.size ?? 0,
      fileWorkers: this.#filePool?.size ?? 0,
      fileConcurrency: this.#fileConcurrency ?? (this.#filePool ?? this.#pool).size + 1,
      ...(this.#partialError ? { partialEncoderError: this.#partialError } : {}),
      hotwords: this.#hotwords?.phrases.length ?? 0,
      ...(this.#partialLoading ? { partialWorkersLoading: true } : {}),
      vadWorkers: this.#vad?.size ?? 0,
    });
  }

  /** the VAD Workers, or null when the VAD is not loaded */
  get vad(): VadPool | null {
    return this.#vad;
  }

  /** A fresh VAD labeller for one stream (`vad_not_loaded` without a VAD). */
  vadLabeller(opts: { session?: string; signal?: AbortSignal; threshold?: number } = {}): VadLabeller {
    if (!this.#vad) throw new GigasttError("vad_not_loaded");
    const threshold = opts.threshold ?? this.#vadThreshold;
    return new VadLabeller(this.#vad, { ...opts, ...(threshold !== undefined ? { threshold } : {}) });
  }

  /** Resolves once the partial Workers have loaded or failed (`info` then says which); at once without them. */
  partialWorkersReady(): Promise<void> {
    return this.#partialSettled;
  }

  /** false once no main Worker is alive or starting: a crashed Worker's replacement failed to load */
  get available(): boolean {
    return this.#pool.alive > 0 && (this.#filePool?.alive ?? 1) > 0;
  }

  /** segment decodes that ran past the inference timeout (their Workers were replaced) */
  get timeouts(): number {
    return this.#pool.timeouts + (this.#filePool?.timeouts ?? 0) + (this.#partialPool?.timeouts ?? 0);
  }

  /** Selects the files (`model_missing`), starts the Workers and loads the model in each (`model_invalid`). */
  static async load(opts: TranscriberOptions): Promise<Transcriber> {
    return Transcriber.fromFiles(selectModelFiles(opts.modelDir, opts.precision ?? "fp32"), opts);
  }

  /** Same as `load` for files already selected (e.g. by the model store). */
  static async fromFiles(files: ModelFiles, opts: Omit<TranscriberOptions, "modelDir" | "precision"> = {}): Promise<Transcriber> {
    const workers = opts.workers ?? Math.max(1, availableParallelism());
    const threads = opts.threadsPerWorker ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new GigasttError("invalid_config", `threads per worker must be a positive integer, got ${threads}`);
    disableOrtTelemetry(); // before any Worker creates onnxruntime's environment
    const url = opts.workerUrl ?? workerUrl();
    const compactPauses = opts.compactPauses ?? true;
    const partialWorkers = opts.partialWorkers ?? Math.max(1, Math.floor(workers / 4));
    const partialThreads = opts.partialThreads ?? 1;
    if (opts.partialEncoder && (!Number.isInteger(partialThreads) || partialThreads < 1)) {
      throw new GigasttError("invalid_config", `partial threads must be a positive integer, got ${partialThreads}`);
    }
    // A partial encoder that cannot be loaded costs speed (partials then run on the main Workers), never the model
    const partialEncoder = opts.partialEncoder;
    const timeout = opts.inferenceTimeoutMs ?? 0;
    const fileWorkers = Math.max(0, Math.min(opts.fileWorkers ?? 0, workers - 1));
    const startPartial = (): PartialStart =>
      WorkerPool.start<ModelWorkerInit, DecodeJob, Word[], ModelWorkerInfo>({
        url,
        size: partialWorkers,
        init: { files: Object.freeze({ ...files, encoder: partialEncoder!, precision: "int8" as const }), intraOpThreads: partialThreads, allowSpinning: false, compactPauses },
        jobTimeoutMs: timeout,
      }).then(
        (p) => ({ pool: p }),
        (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }),
      );
    // eager: the main and the partial Workers load at once (with the weights mapped, src/store/mapped.ts,
    // a load holds little memory of its own, so a start lasts as long as the slowest load, not the sum);
    // lazy: the partial Workers start once the main ones are loaded, so they take no CPU from them
    const lazy = opts.lazyPartialWorkers === true;
    const eager: PartialStart | null = partialEncoder && !lazy ? startPartial() : null;
    const vadStart = opts.vad ? VadPool.start(opts.vad === true ? {} : opts.vad) : null;
    vadStart?.catch(() => {}); // awaited below
    let pool: Pool;
    let filePool: Pool | null = null;
    try {
      ({ pool, filePool } = await startMainPools(url, workers, fileWorkers, { files, intraOpThreads: threads, compactPauses, ...(opts.prepack ? { prepack: true } : {}) }, timeout, opts));
    } catch (e) {
      const p = await eager;
      if (p && "pool" in p) await p.pool.close();
      await vadStart?.then((v) => v.close(), () => {});
      throw e;
    }
    let vad: VadPool | null;
    try {
      vad = vadStart ? await vadStart : null;
    } catch (e) {
      const p = await eager;
      if (p && "pool" in p) await p.pool.close();
      await Promise.all([pool.close(), filePool?.close()]);
      throw e;
    }
    const hotwords = opts.hotwords ?? null;
    const file = { pool: filePool, concurrency: opts.fileConcurrency };
    const t = new Transcriber(pool, files, partialEncoder ? { start: eager ?? startPartial(), encoder: partialEncoder } : null, hotwords, file, vad);
    if (typeof opts.vad === "object" && opts.vad.threshold !== undefined) t.#vadThreshold = opts.vad.threshold;
    if (!partialEncoder) return t;
    if (!lazy) await t.#partialSettled;
    return t;
  }

  /**
   * Waits for a Worker that can run a partial now and holds it until `release()`: a streaming
   * partial snapshots its audio only then, so what it shows is as recent as possible instead of
   * aging in a queue. FIFO across callers; abortable while waiting.
   */
  partialSlot(signal?: AbortSignal): Promise<() => void> {
    return (this.#partialSlots ?? this.#mainSlots).acquire(signal);
  }

  /** Jobs waiting for a Worker and Workers busy (for metrics/admission). */
  get load(): { queued: number; busy: number; workers: number } {
    const p = this.#partialPool;
    const f = this.#filePool;
    return {
      queued: this.#pool.queued + (p?.queued ?? 0) + (f?.queued ?? 0),
      busy: this.#pool.busy + (p?.busy ?? 0) + (f?.busy ?? 0),
      workers: this.#pool.size + (p?.size ?? 0) + (f?.size ?? 0),
    };
  }

  /**
   * Decodes one ≤ 20 s segment from a fresh decoder state; word times are shifted by `offsetSeconds`.
   * `purpose: "partial"` runs on the partial encoder's Workers (if loaded), else ahead of queued finals.
   */
  decodeSegment(samples: Float32Array, offsetSeconds: number, opts: JobOptions = {}): Promise<Word[]> {
    // own copy: the caller's buffer is never detached by the transfer (unless given away)
    const copy = opts.giveAway && samples.byteOffset === 0 && samples.byteLength === samples.buffer.byteLength ? samples : samples.slice();
    const partial = opts.purpose === "partial";
    const run = { session: opts.session, signal: opts.signal, transfer: [copy.buffer as ArrayBuffer] };
    const hotwords = opts.hotwords === undefined ? this.#hotwords : opts.hotwords;
    const job: DecodeJob = { samples: copy, offsetSeconds, ...(hotwords ? { hotwords } : {}), ...(opts.nonSpeech ? { nonSpeech: opts.nonSpeech } : {}) };
    if (partial && this.#partialPool) return this.#partialPool.run(job, run);
    if (opts.purpose === "file" && this.#filePool) return this.#filePool.run(job, run);
    return this.#pool.run(job, { ...run, priority: partial });
  }

  /** Transcribes 16 kHz mono samples. */
  transcribe(samples: Float32Array, opts: JobOptions = {}): Promise<TranscriptResult> {
    return this.transcribeStream(once(samples), opts);
  }

  /**
   * Transcribes a stream of 16 kHz mono chunks through the offline pipeline (`./offline.ts`, the
   * same path as every server file route). Segments decode in parallel; `onSegment`
   * runs in order as soon as each segment (and all before it) is done. Words near the end of
   * a segment that reached the length limit (a possible hard cut) are held back until the next
   * segment settles the overlap, so every word is reported once and never retracted.
   */
  async transcribeStream(chunks: AsyncIterable<Float32Array> | Iterable<Float32Array>, opts: StreamOptions = {}): Promise<TranscriptResult> {
    const session = opts.session ?? `stream-${crypto.randomUUID()}`;
    const vad = opts.vad ? this.vadLabeller({ session, ...(opts.signal ? { signal: opts.signal } : {}) }) : undefined;
    const decode = (samples: Float32Array, offset: number, signal: AbortSignal, nonSpeech?: Uint8Array) =>
      this.decodeSegment(samples, offset, { session, signal, giveAway: true, purpose: "file", ...(opts.hotwords !== undefined ? { hotwords: opts.hotwords } : {}), ...(nonSpeech ? { nonSpeech } : {}) });
    const { words, duration } = await transcribeOffline(decode, chunks, {
      ...(vad ? { vad } : {}),
      maxInFlight: this.info.fileConcurrency,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onSegment ? { onSegment: opts.onSegment } : {}),
    });
    return { text: wordsToText(words), duration, words, segments: buildSegments(words) };
  }

  /** Stops the Workers after running jobs finish; queued jobs fail with `pool_closed`. */
  async close(): Promise<void> {
    this.#closed = true;
    // partial Workers still loading are closed as soon as they are up
    await Promise.all([this.#pool.close(), this.#filePool?.close(), this.#partialSettled.then(() => this.#partialPool?.close()), this.#vad?.close()]);
  }
}

/**
 * The live Workers and (with `fileWorkers`) the file Workers, loading at once; each pool needs at
 * least one Worker, the live one `minWorkers` − fileWorkers (a degraded start says so once).
 */
async function startMainPools(
  url: string,
  workers: number,
  fileWorkers: number,
  init: ModelWorkerInit,
  timeout: number,
  opts: Pick<TranscriberOptions, "minWorkers" | "onWorkersShort">,
): Promise<{ pool: Pool; filePool: Pool | null }> {
  const minWorkers = Math.min(workers, Math.max(1, opts.minWorkers ?? workers));
  const short: { error?: string } = {};
  const onShort = (_loaded: number, error: string) => void (short.error ??= error);
  const start = (size: number, minSize: number) => WorkerPool.start<ModelWorkerInit, DecodeJob, Word[], ModelWorkerInfo>({ url, size, init, jobTimeoutMs: timeout, minSize, onShort });
  const started = await Promise.allSettled([start(workers - fileWorkers, Math.max(1, minWorkers - fileWorkers)), ...(fileWorkers > 0 ? [start(fileWorkers, 1)] : [])]);
  const bad = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (bad) {
    await Promise.all(started.map((r) => (r.status === "fulfilled" ? r.value.close() : undefined)));
    throw bad.reason;
  }
  const pool = (started[0] as PromiseFulfilledResult<Pool>).value;
  const filePool = fileWorkers > 0 ? (started[1] as PromiseFulfilledResult<Pool>).value : null;
  if (short.error !== undefined) opts.onWorkersShort?.(pool.size + (filePool?.size ?? 0), short.error);
  return { pool, filePool };
}

/** Feeds a whole buffer in 5 s views so segmenting never holds the thread for long. */
async function* once(x: Float32Array): AsyncGenerator<Float32Array> {
  const step = 5 * SAMPLE_RATE;
  for (let i = 0; i < x.length; i += step) yield x.subarray(i, i + step);
}
