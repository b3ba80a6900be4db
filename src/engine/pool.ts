/**
 * A pool of Bun Workers running jobs one at a time each.
 *
 * - Fair queue: jobs are grouped by `session` key and dispatched round-robin
 *   across keys, so one long upload cannot starve live streams.
 * - Priority lane: `priority` jobs (short provisional work such as streaming
 *   partials, whose latency users watch) are taken before any queued normal job;
 *   each lane is round-robin across keys. A running job is never preempted.
 * - Cancellation: a queued job whose signal aborts is removed and rejected; a
 *   running one is rejected at once, finishes in its Worker, and its result is dropped.
 * - Crashes: a Worker that dies rejects its running job with `internal` and is
 *   replaced by a fresh one (same init data).
 * - Timeouts (`jobTimeoutMs`): a job running longer is rejected with
 *   `inference_timeout`; its Worker (which may be stuck in native code) is
 *   terminated and replaced the same way.
 * - Degraded start (`minSize`): when some Workers fail to load but at least
 *   `minSize` do, the pool starts on those.
 *
 * The main thread only posts messages: all heavy work happens in the Workers.
 */
import { deserializeError, GigasttError } from "../errors.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

export interface PoolOptions<I> {
  /** Worker script URL (href) */
  readonly url: string;
  /** number of Workers (≥ 1) */
  readonly size: number;
  /** sent to every Worker (and to replacements) before its first job */
  readonly init: I;
  /** a job running longer is rejected with `inference_timeout` and its Worker replaced (0/undefined: no limit) */
  readonly jobTimeoutMs?: number;
  /** Workers that must load for `start` to succeed (default: all of `size`) */
  readonly minSize?: number;
  /** `start` succeeded on fewer than `size` Workers: how many, and the first load error */
  readonly onShort?: (loaded: number, error: string) => void;
}

export interface RunOptions {
  /** fairness key: jobs round-robin across keys (default: a key of its own) */
  readonly session?: string | symbol;
  readonly signal?: AbortSignal;
  /** buffers moved to the Worker with the payload */
  readonly transfer?: Bun.Transferable[];
  /** taken before every queued non-priority job (default false) */
  readonly priority?: boolean;
}

interface Job<P, R> {
  readonly id: number;
  readonly key: string | symbol;
  /** 0 priority, 1 normal */
  readonly lane: 0 | 1;
  readonly payload: P;
  readonly transfer: Bun.Transferable[];
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
  readonly signal: AbortSignal | undefined;
  /** settled already (aborted while running): drop the result */
  done: boolean;
  onAbort?: () => void;
  timer?: ReturnType<typeof setTimeout>;
}

interface Slot<P, R> {
  worker: Worker;
  ready: boolean;
  job: Job<P, R> | null;
  dead: boolean;
}

interface Lane<P, R> {
  readonly queues: Map<string | symbol, Job<P, R>[]>;
  readonly order: (string | symbol)[];
}

function newLane<P, R>(): Lane<P, R> {
  return { queues: new Map(), order: [] };
}

/** A Worker's uncaught error can carry a source excerpt and a stack: keep the line that says what failed. */
function firstErrorLine(message: string | undefined): string {
  const lines = (message ?? "").split("\n").map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /^(\w*error|\w+Error)\b[:\s]/i.test(l)) ?? lines[0] ?? "error";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

export class WorkerPool<I, P, R, Info = unknown> {
  readonly #opts: PoolOptions<I>;
  readonly #slots: Slot<P, R>[] = [];
  /** per lane (priority, normal): per-key FIFO queues and the keys with queued jobs, next to serve first */
  readonly #lanes: readonly Lane<P, R>[] = [newLane(), newLane()];
  #nextId = 1;
  #closed = false;
  #info: Info | undefined;
  #idle: (() => void) | null = null;
  #crashes = 0;
  #timeouts = 0;
  #size: number;
  #closing: Promise<void> | null = null;

  private constructor(opts: PoolOptions<I>) {
    this.#opts = opts;
    this.#size = opts.size;
  }

  /**
   * Starts `size` Workers at once and resolves when each has loaded (rejects with the first init
   * error). Measured with the 0.9 GB stand-in and 2 Workers (BENCHMARKS.md): loading them one after
   * another took twice as long and left ≈ 400 MB more resident (allocator arenas keep the freed
   * load buffers), so they load concurrently.
   */
  static async start<I, P, R, Info = unknown>(opts: PoolOptions<I>): Promise<WorkerPool<I, P, R, Info>> {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new GigasttError("invalid_config", `worker count must be a positive integer, got ${opts.size}`);
    const pool = new WorkerPool<I, P, R, Info>(opts);
    const min = Math.min(opts.size, Math.max(1, opts.minSize ?? opts.size));
    const results = await Promise.allSettled(Array.from({ length: opts.size }, () => pool.#spawn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    const loaded = results.length - failed.length;
    if (loaded < min) {
      pool.#closed = true;
      for (const s of pool.#slots) {
        s.dead = true;
        s.worker.terminate();
      }
      throw failed[0]!.reason;
    }
    if (failed.length > 0) {
      pool.#size = loaded;
      const e = failed[0]!.reason;
      opts.onShort?.(loaded, e instanceof Error ? e.message : String(e));
    }
    return pool;
  }

  /** What the first Worker reported when ready. */
  get info(): Info {
    return this.#info as Info;
  }
  get size(): number {
    return this.#size;
  }
  /** jobs waiting for a Worker */
  get queued(): number {
    let n = 0;
    for (const lane of this.#lanes) for (const q of lane.queues.values()) n += q.length;
    return n;
  }
  /** Workers running a job */
  get busy(): number {
    return this.#slots.filter((s) => s.job !== null).length;
  }
  /** Workers replaced after a crash since start */
  get crashes(): number {
    return this.#crashes;
  }
  /** jobs that ran past `jobTimeoutMs` (their Workers were replaced) since start */
  get timeouts(): number {
    return this.#timeouts;
  }
  /** Workers alive or starting (0: a crashed Worker's replacement failed to load; every job fails) */
  get alive(): number {
    return this.#slots.length;
  }

  run(payload: P, opts: RunOptions = {}): Promise<R> {
    if (this.#closed) return Promise.reject(new GigasttError("pool_closed"));
    // no Worker left and none starting: fail now, never queue a job nobody will run
    if (this.#slots.length === 0) return Promise.reject(new GigasttError("internal", "no inference worker is available"));
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<R>((resolve, reject) => {
      const job: Job<P, R> = {
        id: this.#nextId++,
        key: opts.session ?? Symbol("job"),
        lane: opts.priority ? 0 : 1,
        payload,
        transfer: opts.transfer ?? [],
        resolve,
        reject,
        signal,
        done: false,
      };
      if (signal) {
        job.onAbort = () => this.#cancel(job);
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#enqueue(job);
      this.#dispatch();
    });
  }

  /** Rejects queued jobs with `pool_closed`, lets running ones finish, then stops the Workers. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    for (const job of this.#drainQueues()) this.#settle(job, new GigasttError("pool_closed"));
    if (this.#slots.some((s) => s.job)) await new Promise<void>((r) => (this.#idle = r));
    for (const s of this.#slots) {
      s.dead = true;
      s.worker.terminate();
    }
    this.#slots.length = 0;
  }

  // ---- internal -----------------------------------------------------------

  #spawn(): Promise<void> {
    const worker = new Worker(this.#opts.url);
    const slot: Slot<P, R> = { worker, ready: false, job: null, dead: false };
    this.#slots.push(slot);
    return new Promise<void>((resolveReady, rejectReady) => {
      let starting = true;
      worker.onmessage = (ev: MessageEvent) => {
        const msg = ev.data as FromWorker<R, Info>;
        switch (msg.type) {
          case "ready":
            this.#info ??= msg.info;
            slot.ready = true;
            starting = false;
            resolveReady();
            this.#dispatch();
            return;
          case "init-error":
            starting = false;
            this.#retire(slot);
            rejectReady(deserializeError(msg.error));
            this.#failIfNoWorkers();
            return;
          case "result":
          case "error": {
            const job = slot.job;
            if (!job || job.id !== msg.id) return;
            clearTimeout(job.timer);
            slot.job = null;
            if (msg.type === "result") this.#settle(job, undefined, msg.result);
            else this.#settle(job, deserializeError(msg.error));
            this.#dispatch();
            return;
          }
        }
      };
      const onDeath = (why: string) => {
        if (slot.dead) return;
        this.#retire(slot);
        const job = slot.job;
        slot.job = null;
        if (job) clearTimeout(job.timer);
        if (job) this.#settle(job, new GigasttError("internal", `inference worker crashed (${why})`));
        if (starting) {
          starting = false;
          rejectReady(new GigasttError("internal", `inference worker failed to start (${why})`));
          return;
        }
        this.#crashes++;
        if (!this.#closed) {
          this.#spawn().catch(() => this.#failIfNoWorkers());
        }
        this.#dispatch();
      };
      worker.onerror = (ev: ErrorEvent) => {
        ev.preventDefault?.();
        onDeath(firstErrorLine(ev.message));
      };
      worker.addEventListener("close", () => onDeath("exited"));
      worker.postMessage({ type: "init", init: this.#opts.init } satisfies ToWorker<I, P>);
    });
  }

  #retire(slot: Slot<P, R>): void {
    slot.dead = true;
    slot.ready = false;
    slot.worker.terminate();
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    this.#checkIdle();
  }

  /** No Worker left and none starting: fail what is queued rather than hang. */
  #failIfNoWorkers(): void {
    if (this.#slots.length > 0) return;
    for (const job of this.#drainQueues()) this.#settle(job, new GigasttError("internal", "no inference worker is available"));
  }

  /** Empties every queue; returns the jobs that were queued. */
  #drainQueues(): Job<P, R>[] {
    const jobs: Job<P, R>[] = [];
    for (const lane of this.#lanes) {
      for (const q of lane.queues.values()) jobs.push(...q);
      lane.queues.clear();
      lane.order.length = 0;
    }
    return jobs;
  }

  #enqueue(job: Job<P, R>): void {
    const lane = this.#lanes[job.lane]!;
    let q = lane.queues.get(job.key);
    if (!q) {
      q = [];
      lane.queues.set(job.key, q);
      lane.order.push(job.key);
    }
    q.push(job);
  }

  /** Next job: the priority lane first, round-robin across keys within a lane. */
  #take(): Job<P, R> | undefined {
    for (const lane of this.#lanes) {
      const key = lane.order.shift();
      if (key === undefined) continue;
      const q = lane.queues.get(key)!;
      const job = q.shift()!;
      if (q.length > 0) lane.order.push(key);
      else lane.queues.delete(key);
      return job;
    }
    return undefined;
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (!slot.ready || slot.dead || slot.job) continue;
      const job = this.#take();
      if (!job) return;
      slot.job = job;
      try {
        slot.worker.postMessage({ type: "job", id: job.id, payload: job.payload } satisfies ToWorker<I, P>, job.transfer);
      } catch (e) {
        slot.job = null;
        this.#settle(job, new GigasttError("internal", "could not send the job to a worker", { cause: e }));
        continue;
      }
      const ms = this.#opts.jobTimeoutMs ?? 0;
      if (ms > 0) {
        job.timer = setTimeout(() => this.#timedOut(slot, job, ms), ms);
        job.timer.unref?.();
      }
    }
  }

  /** The job ran past the limit (even one aborted meanwhile): its Worker may be stuck, in native code too, so it is terminated and replaced. */
  #timedOut(slot: Slot<P, R>, job: Job<P, R>, ms: number): void {
    if (slot.job !== job || slot.dead) return;
    slot.job = null;
    this.#retire(slot);
    this.#timeouts++;
    this.#settle(job, new GigasttError("inference_timeout", `inference took longer than ${Math.round(ms / 100) / 10} s (--inference-timeout-secs); the Worker was replaced`));
    if (!this.#closed) this.#spawn().catch(() => this.#failIfNoWorkers());
    this.#dispatch();
  }

  #cancel(job: Job<P, R>): void {
    if (job.done) return;
    const lane = this.#lanes[job.lane]!;
    const q = lane.queues.get(job.key);
    const i = q ? q.indexOf(job) : -1;
    if (q && i >= 0) {
      q.splice(i, 1);
      if (q.length === 0) {
        lane.queues.delete(job.key);
        const k = lane.order.indexOf(job.key);
        if (k >= 0) lane.order.splice(k, 1);
      }
    }
    // running: the Worker finishes it, the result is dropped (slot.job stays set until then)
    this.#settle(job, abortReason(job.signal!));
  }

  #settle(job: Job<P, R>, error: unknown, result?: R): void {
    if (!job.done) {
      job.done = true;
      if (job.onAbort) job.signal?.removeEventListener("abort", job.onAbort);
      if (error !== undefined) job.reject(error);
      else job.resolve(result as R);
    }
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#idle && !this.#slots.some((s) => s.job)) {
      const r = this.#idle;
      this.#idle = null;
      r();
    }
  }
}
