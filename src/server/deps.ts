/**
 * What a route needs, built once per server instance (server-core owns this
 * file; the transcription routes code against it).
 *
 * - `config` is the current frozen {@link ServerConfig}. SIGHUP may replace the
 *   object (reloadable limits only): read it when a session starts and keep
 *   that snapshot for the session; never cache it across sessions.
 * - `admission` bounds concurrent sessions (WS, SSE, REST) to `poolSize`.
 * - `lifecycle` tells routes when the server drains; long-lived work subscribes
 *   with `onDrain` (flush the final, close 1001 / end the SSE stream) and
 *   registers itself with `track` so shutdown waits for it.
 * - `context(request)` gives the request id, client IP and a logger tagged with
 *   both (works for WS too: pass `ws.data.request`).
 */
import type { ConsolaInstance } from "consola";
import type { Precision, TranscriptResult, Word } from "../types.ts";
import type { ServerConfig } from "./config.ts";
import type { Metrics } from "./metrics.ts";
import type { JobsService } from "../jobs/service.ts";
import type { ModelHead } from "../model/head.ts";
import type { Reloader } from "./reload.ts";

import type { HotwordList } from "../decode/hotwords.ts";
import type { VadLabeller } from "../engine/vad.ts";

export type { ServerConfig } from "./config.ts";
export type { Metrics } from "./metrics.ts";

/** Same shape as the engine's `JobOptions`. */
export interface JobOptions {
  /** fairness key: jobs round-robin across keys */
  session?: string;
  signal?: AbortSignal;
  /** "partial": a provisional re-decode (may run on a faster, less exact encoder, ahead of queued finals) */
  purpose?: "final" | "partial";
  /** the caller gives the samples away (moved to the Worker, not copied) */
  giveAway?: boolean;
  /** the VAD's non-speech 10 ms frames of the samples: cut out before the encoder */
  nonSpeech?: Uint8Array;
  /** hotwords of this job: a list, null = off, absent = the server's default (`--hotwords-file`) */
  hotwords?: HotwordList | null;
}

/** The part of the engine's `Transcriber` the server uses (the real one satisfies it). */
export interface TranscriberLike {
  transcribeStream(
    chunks: AsyncIterable<Float32Array>,
    opts?: JobOptions & { onSegment?: (words: Word[], span: { start: number; end: number }) => void | Promise<void>; vad?: boolean },
  ): Promise<TranscriptResult>;
  /** a fresh VAD labeller for one stream; throws `vad_not_loaded` without `--vad` (absent: never loaded) */
  vadLabeller?(opts?: { session?: string; signal?: AbortSignal; threshold?: number }): VadLabeller;
  decodeSegment(samples: Float32Array, offsetSeconds: number, opts?: JobOptions): Promise<Word[]>;
  /** a free Worker for a streaming partial, held until release (see the engine's Transcriber) */
  partialSlot?(signal?: AbortSignal): Promise<() => void>;
  /** false once no inference Worker is alive or starting (a crashed one's replacement failed to load) */
  readonly available?: boolean;
  readonly info: {
    readonly precision: Precision;
    readonly vocabSize: number;
    readonly workers: number;
    /** segments of one file decoding at once (default workers + 1) */
    readonly fileConcurrency?: number;
    /** the encoder file partials run on, when not the main one */
    readonly partialEncoder?: string | null;
    readonly partialEncoderError?: string;
    /** VAD Workers (0 or absent: no VAD) */
    readonly vadWorkers?: number;
    /** the partial Workers are still loading (partials run on the main Workers meanwhile) */
    readonly partialWorkersLoading?: boolean;
  };
}

/** A held admission slot. `release()` is idempotent. */
export interface Slot {
  release(): void;
}

/** At most `size` sessions at once, FIFO; abandoned waiters never lose a slot. */
export interface Admission {
  /**
   * Wait for a slot (FIFO) up to the configured checkout timeout.
   * Throws GigasttError `timeout` (details.retry_after_ms), `pool_closed`
   * after close(), or the signal's reason when aborted.
   */
  acquire(opts?: { signal?: AbortSignal }): Promise<Slot>;
  readonly size: number;
  readonly inUse: number;
  readonly waiting: number;
  /** refuse new acquires and wake every waiter with `pool_closed`; idempotent */
  close(): void;
}

export interface Lifecycle {
  readonly draining: boolean;
  /** aborted when draining starts (handy for `AbortSignal.any`) */
  readonly signal: AbortSignal;
  /** run `cb` when draining starts (immediately if it already has); returns unsubscribe */
  onDrain(cb: () => void): () => void;
  /** drain waits (≤ shutdown-drain-secs) for tracked work; returns `p` */
  track<T>(p: Promise<T>): Promise<T>;
}

/** What a route adds to its request's access log line (mutable; the platform reads it when the response is done). */
export interface AccessNotes {
  /** request body bytes actually read (null: the platform uses Content-Length) */
  bytesIn: number | null;
  /** seconds of audio transcribed (null: not a transcription) */
  audioSeconds: number | null;
  /** wall seconds of the request's inference jobs (for the real-time factor) */
  inferenceSeconds: number;
}

/** Per-request facts, set by the platform before any route runs. */
export interface RequestContext {
  /** validated incoming X-Request-Id or a minted UUIDv7 */
  readonly id: string;
  /** client IP (TCP peer, or the trusted-proxy hop); null if unknown */
  readonly ip: string | null;
  /** logger whose every line carries request_id */
  readonly log: ConsolaInstance;
  /** performance.now() when the request arrived */
  readonly startedAt: number;
  /** filled in by the route for the access log line */
  readonly access: AccessNotes;
}

export interface ServerDeps {
  readonly config: ServerConfig;
  /** null until the model is loaded (/ready is 503 then; routes answer 503 `not_ready`) */
  readonly transcriber: TranscriberLike | null;
  /** the loaded model's head (variant, id, name); null until a model is loaded */
  readonly head?: ModelHead | null;
  /** `POST /v1/admin/reload` (absent: the route answers 503 `reload_unsupported`) */
  readonly reloader?: Reloader;
  readonly admission: Admission;
  readonly lifecycle: Lifecycle;
  readonly metrics: Metrics;
  readonly log: ConsolaInstance;
  /** the `/v1/jobs` store and queue; null without `--enable-jobs` (the routes answer 404 `jobs_disabled`) */
  readonly jobs?: JobsService | null;
  /** the platform's facts about `request` (a fresh context if the platform never saw it) */
  context(request: Request): RequestContext;
}
