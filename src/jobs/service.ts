/**
 * The jobs service: the durable store (db.ts + files.ts), the queue and the
 * runs (runner.ts), and the per-job event feed. The HTTP routes are a thin
 * adapter over this; nothing here knows about Elysia.
 *
 * Life of a job: `submit` streams the upload to disk and commits a `queued`
 * row (only then the 202); up to `share.size` jobs run at once, in creation
 * order; each segment is committed as it finishes; the result file is written
 * before `done` is committed; the audio is deleted once the job is terminal;
 * `jobs_ttl_secs` after that the result is deleted too and the job answers
 * 410 `job_expired`. On start, `processing` and `queued` jobs are resumed.
 */
import type { ConsolaInstance } from "consola";
import { GigasttError, isGigasttError } from "../errors.ts";
import { wordsToText } from "../decode/detok.ts";
import type { TranscriptResult, Word } from "../types.ts";
import type { SegmentDecoder } from "../stream/utterances.ts";
import { DB_FILE, isSqliteFull, JobsDb } from "./db.ts";
import { JobsLayout, type JobsFs, NODE_FS, publish, receiveToFile, removeQuiet } from "./files.ts";
import { JobEvents } from "./events.ts";
import { isJobId, newJobId } from "./ids.ts";
import { runJob } from "./runner.ts";
import { WorkerShare } from "./share.ts";
import { type JobEvent, type JobParams, type JobRow, type JobStatus, type JobView, isTerminal, viewOf } from "./types.ts";
import { join } from "node:path";

/** limits read at each call (SIGHUP may change them) */
export interface JobsLimits {
  readonly jobsMax: number;
  readonly jobsMaxBytes: number;
  readonly jobsTtlSecs: number;
  readonly maxAudioSecs: number;
  /** runs of a job a server crash interrupted before it fails (`--jobs-retry`; default MAX_CRASHED_RUNS) */
  readonly jobsRetry?: number;
  /** the Retry-After hint of `queue_full` */
  readonly poolCheckoutTimeoutSecs: number;
}

export interface JobsOptions {
  readonly dir: string;
  /** the jobs' share of the Workers (`--batch-pool-size`) */
  readonly batchPoolSize: number;
  readonly limits: () => JobsLimits;
  /** null until the model is loaded; `kick()` once it is */
  readonly decoder: () => SegmentDecoder | null;
  readonly log: ConsolaInstance;
  /** unix seconds (tests move time) */
  readonly now?: () => number;
  readonly fs?: JobsFs;
  readonly onInference?: (seconds: number, audioSeconds: number) => void;
  /** drain waits for the returned promise */
  readonly track?: <T>(p: Promise<T>) => Promise<T>;
  /** how often expired jobs are swept (ms; default min(60 s, ttl)) */
  readonly sweepEveryMs?: number;
}

export interface Submission {
  /** the audio bytes (the raw body, or a form's file part) */
  readonly bytes: AsyncIterable<Uint8Array>;
  /** Content-Length, when known (checked against the byte budget before reading) */
  readonly declaredBytes: number | null;
  readonly params: () => JobParams;
  readonly filename: () => string | null;
  readonly idempotencyKey: string | null;
}

export interface ListPage {
  readonly jobs: JobView[];
  /** pass as `?cursor=` for the next page; null on the last */
  readonly next_cursor: string | null;
}

const MAX_LIST = 100;
/** a job whose runs ended in this many crashes of the server is failed instead of run again */
export const MAX_CRASHED_RUNS = 3;

export class JobsService {
  readonly dir: string;
  readonly share: WorkerShare;
  private readonly db: JobsDb;
  private readonly layout: JobsLayout;
  private readonly opts: JobsOptions;
  private readonly fs: JobsFs;
  private readonly now: () => number;
  private readonly queue: string[] = [];
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void>; words: Word[] }>();
  private readonly events: JobEvents;
  private stopping = false;
  private closed = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  private constructor(opts: JobsOptions, db: JobsDb, layout: JobsLayout) {
    this.opts = opts;
    this.dir = opts.dir;
    this.db = db;
    this.layout = layout;
    this.fs = opts.fs ?? NODE_FS;
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.share = new WorkerShare(opts.batchPoolSize);
    this.events = new JobEvents((id, err) => opts.log.warn("job event subscriber failed", { job_id: id, error: String(err) }));
  }

  /** Opens and locks the jobs dir; throws jobs_dir_locked / jobs_store_corrupt / disk_full. */
  static open(opts: JobsOptions): JobsService {
    const layout = new JobsLayout(opts.dir);
    layout.ensure();
    const db = JobsDb.open(join(opts.dir, DB_FILE));
    const svc = new JobsService(opts, db, layout);
    const swept = layout.sweep(db.ids());
    if (swept > 0) opts.log.info("jobs: removed files a crash left behind", { files: swept });
    svc.sweepExpired();
    const l = opts.limits();
    opts.log.info("jobs enabled", { dir: opts.dir, batch_pool_size: svc.share.size, jobs_max: l.jobsMax, jobs_max_bytes: l.jobsMaxBytes, jobs_ttl_secs: l.jobsTtlSecs });
    for (const row of db.pending()) svc.queue.push(row.id);
    if (svc.queue.length > 0) opts.log.info("jobs: resuming", { jobs: svc.queue.length });
    const every = opts.sweepEveryMs ?? Math.max(1000, Math.min(60_000, (opts.limits().jobsTtlSecs || 60) * 1000));
    svc.sweeper = setInterval(() => svc.sweepExpired(), every);
    svc.sweeper.unref?.();
    return svc;
  }

  get dbPath(): string {
    return this.db.path;
  }

  /** jobs per status (metrics), expired ones left out */
  counts(): Record<JobStatus, number> {
    const out: Record<JobStatus, number> = { queued: 0, processing: 0, done: 0, failed: 0, cancelled: 0 };
    if (this.closed) return out;
    for (const [status, n] of this.db.countByStatus()) if (status in out) out[status as JobStatus] = n;
    return out;
  }

  // ---- submission -------------------------------------------------------------

  private queueFull(why: string): GigasttError {
    const ms = this.opts.limits().poolCheckoutTimeoutSecs * 1000;
    return new GigasttError("queue_full", `Job queue is full (${why})`, { details: { retry_after_ms: ms } });
  }

  /** uploads being received now: they count against jobs_max and jobs_max_bytes already */
  private readonly receiving = { jobs: 0, bytes: 0 };

  private checkRoom(incoming: number): void {
    const l = this.opts.limits();
    this.sweepExpired();
    const u = this.db.usage();
    const jobs = u.jobs + this.receiving.jobs;
    if (jobs >= l.jobsMax) throw this.queueFull(`${jobs} of jobs_max ${l.jobsMax} jobs kept or arriving`);
    if (u.waitingBytes + this.receiving.bytes + incoming > l.jobsMaxBytes) throw this.queueFull(`jobs_max_bytes ${l.jobsMaxBytes} of audio waiting`);
  }

  /** Stores the upload and its row; resolves once both are durable. `reused`: the Idempotency-Key named an existing job. */
  async submit(s: Submission): Promise<{ view: JobView; reused: boolean }> {
    if (this.closed || this.stopping) throw new GigasttError("shutting_down");
    // a retried submission with its Idempotency-Key gets its job even when the queue is full
    const prior = s.idempotencyKey !== null ? this.db.byIdempotencyKey(s.idempotencyKey) : null;
    if (!prior) this.checkRoom(s.declaredBytes ?? 0);
    const id = newJobId();
    const tmp = this.layout.tmp(`${id}.upload`);
    // room for this upload is held (jobs_max, jobs_max_bytes) from its first byte until its row is
    // committed, or given back the moment the upload fails, so concurrent uploads cannot overrun it
    const held = { jobs: 1, bytes: 0 };
    this.receiving.jobs++;
    const release = () => {
      this.receiving.jobs -= held.jobs;
      this.receiving.bytes -= held.bytes;
      held.jobs = 0;
      held.bytes = 0;
    };
    const self = this;
    try {
      const received = await receiveToFile(
        (async function* () {
          let ok = false;
          try {
            for await (const chunk of s.bytes) {
              held.bytes += chunk.length;
              self.receiving.bytes += chunk.length;
              if (self.db.usage().waitingBytes + self.receiving.bytes > self.opts.limits().jobsMaxBytes)
                throw self.queueFull(`jobs_max_bytes ${self.opts.limits().jobsMaxBytes} of audio waiting`);
              yield chunk;
            }
            ok = true;
          } finally {
            if (!ok) release();
          }
        })(),
        tmp,
        this.fs,
      );
      const again = s.idempotencyKey !== null ? this.db.byIdempotencyKey(s.idempotencyKey) : null;
      if (again) {
        if (again.sha256 !== received.sha256 || again.bytes !== received.bytes) throw new GigasttError("idempotency_conflict");
        return { view: viewOf(again), reused: true };
      }
      publish(tmp, this.layout.audio(id), this.layout.audioDir);
      try {
        this.db.insert({
          id,
          created_at: this.now(),
          bytes: received.bytes,
          sha256: received.sha256,
          idempotency_key: s.idempotencyKey,
          params: JSON.stringify(s.params()),
          filename: s.filename(),
        });
      } catch (e) {
        removeQuiet(this.layout.audio(id));
        if (isSqliteFull(e)) throw new GigasttError("disk_full", "Not enough disk space to store the job", { cause: e });
        // the same Idempotency-Key committed by a concurrent submission meanwhile
        const raced = s.idempotencyKey !== null ? this.db.byIdempotencyKey(s.idempotencyKey) : null;
        if (raced) {
          if (raced.sha256 !== received.sha256 || raced.bytes !== received.bytes) throw new GigasttError("idempotency_conflict");
          return { view: viewOf(raced), reused: true };
        }
        throw e;
      }
      this.opts.log.info("job queued", { job_id: id, bytes: received.bytes });
    } finally {
      release();
      removeQuiet(tmp);
    }
    const view = viewOf(this.db.get(id)!);
    this.queue.push(id);
    this.kick();
    return { view, reused: false };
  }

  // ---- reading ------------------------------------------------------------------

  /** the row, or job_not_found / job_expired */
  row(id: string): JobRow {
    const row = isJobId(id) ? this.db.get(id) : null;
    if (!row) throw new GigasttError("job_not_found");
    if (row.expired || this.isExpired(row)) throw new GigasttError("job_expired");
    return row;
  }

  view(id: string): JobView {
    const words = this.running.get(id)?.words;
    return viewOf(this.row(id), words && words.length > 0 ? wordsToText(words) : undefined);
  }

  /** the stored transcript and the submission's options (job_not_finished before `done`) */
  async result(id: string): Promise<{ result: TranscriptResult; params: JobParams }> {
    const row = this.row(id);
    if (row.status !== "done") throw new GigasttError("job_not_finished", `Job is not finished (status ${row.status})`);
    const file = Bun.file(this.layout.result(id));
    if (!(await file.exists())) throw new GigasttError("internal", "Job result is missing");
    return { result: (await file.json()) as TranscriptResult, params: JSON.parse(row.params) as JobParams };
  }

  list(q: { status?: JobStatus; limit?: number; cursor?: string }): ListPage {
    const limit = Math.max(1, Math.min(MAX_LIST, q.limit ?? 20));
    let before: { created_at: number; id: string } | undefined;
    if (q.cursor) {
      const [t, cid] = Buffer.from(q.cursor, "base64url").toString("utf8").split("|");
      if (!t || !cid || !Number.isFinite(Number(t)) || !isJobId(cid)) throw new GigasttError("usage", "Invalid cursor: pass next_cursor of the previous page");
      before = { created_at: Number(t), id: cid };
    }
    const rows = this.db.list({ ...(q.status ? { status: q.status } : {}), limit: limit + 1, ...(before ? { before } : {}) }).filter((r) => !this.isExpired(r));
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const next = rows.length > limit && last ? Buffer.from(`${last.created_at}|${last.id}`).toString("base64url") : null;
    return { jobs: page.map((r) => viewOf(r)), next_cursor: next };
  }

  // ---- cancel ---------------------------------------------------------------------

  cancel(id: string): void {
    const row = this.row(id);
    if (isTerminal(row.status) || !this.db.cancel(id, this.now())) throw new GigasttError("job_not_cancellable", `Job cannot be cancelled (status ${row.status})`);
    const i = this.queue.indexOf(id);
    if (i >= 0) this.queue.splice(i, 1);
    const run = this.running.get(id);
    run?.controller.abort(new GigasttError("job_not_cancellable", "cancelled"));
    if (!run) removeQuiet(this.layout.audio(id));
    this.opts.log.info("job cancelled", { job_id: id, was: row.status });
    this.emit(id, { type: "cancelled" });
  }

  // ---- events -----------------------------------------------------------------------

  /** `cb` gets every later event of the job; the returned function unsubscribes */
  subscribe(id: string, cb: (e: JobEvent) => void): () => void {
    return this.events.subscribe(id, cb);
  }

  private emit(id: string, e: JobEvent): void {
    this.events.emit(id, e);
  }

  // ---- running ----------------------------------------------------------------------

  /** start queued jobs while the share has room (call when the model becomes ready) */
  kick(): void {
    if (this.stopping || this.closed) return;
    const decoder = this.opts.decoder();
    if (!decoder) return;
    while (this.running.size < this.share.size && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const row = this.db.get(id);
      if (!row || isTerminal(row.status)) continue;
      this.start(row, decoder);
    }
  }

  private start(row: JobRow, decoder: SegmentDecoder): void {
    if (row.status === "processing" && row.attempts >= (this.opts.limits().jobsRetry ?? MAX_CRASHED_RUNS)) {
      const message = `Transcription failed: the server stopped without a shutdown during each of the last ${row.attempts} runs of this job`;
      this.opts.log.error("job failed: it was running at every one of the last crashes", { job_id: row.id, attempts: row.attempts });
      if (this.db.fail(row.id, "internal", message, this.now())) removeQuiet(this.layout.audio(row.id));
      return;
    }
    const controller = new AbortController();
    const words: Word[] = [];
    this.db.start(row.id, this.now());
    this.opts.log.info("job processing", { job_id: row.id, attempt: row.attempts + 1 });
    const cur = this.db.get(row.id)!;
    this.emit(row.id, { type: "progress", percent: Math.floor(cur.percent), processed_seconds: cur.processed_seconds });
    const done = (async () => {
      try {
        const out = await runJob({
          row: cur,
          db: this.db,
          layout: this.layout,
          fs: this.fs,
          decoder,
          share: this.share,
          signal: controller.signal,
          maxAudioSecs: this.opts.limits().maxAudioSecs,
          now: this.now,
          onFinal: (w) => void words.push(...w),
          onWarnings: (w) => this.opts.log.warn("damaged audio: the valid part is transcribed", { job_id: row.id, warnings: w }),
          onProgress: (processed, percent) => this.emit(row.id, { type: "progress", percent: Math.floor(percent), processed_seconds: Math.round(processed * 1000) / 1000 }),
          ...(this.opts.onInference ? { onInference: this.opts.onInference } : {}),
        });
        if (controller.signal.aborted) return this.afterAbort(row.id);
        if (this.db.finish(row.id, out.result.duration, this.now())) {
          removeQuiet(this.layout.audio(row.id));
          this.opts.log.info("job done", { job_id: row.id, audio_seconds: out.result.duration, segments_decoded: out.decoded, segments_resumed: out.reused });
          this.emit(row.id, { type: "done" });
        } else removeQuiet(this.layout.result(row.id));
      } catch (e) {
        if (controller.signal.aborted) return this.afterAbort(row.id);
        const err = isGigasttError(e) ? e : new GigasttError("internal", "Transcription failed");
        if (!isGigasttError(e)) this.opts.log.error("job failed", { job_id: row.id, error: e instanceof Error ? e.message : String(e) });
        else this.opts.log.info("job failed", { job_id: row.id, code: err.code, error: err.message });
        if (this.db.fail(row.id, err.code, err.message, this.now())) {
          removeQuiet(this.layout.audio(row.id));
          this.emit(row.id, { type: "failed", error: err.message });
        }
      } finally {
        this.running.delete(row.id);
        this.kick();
      }
    })();
    this.running.set(row.id, { controller, done, words });
    void this.opts.track?.(done);
  }

  /** stopped by cancel (row already cancelled) or by drain (row stays processing: resumed at the next start) */
  private afterAbort(id: string): void {
    const row = this.db.get(id);
    if (row?.status === "cancelled") {
      removeQuiet(this.layout.audio(id));
      removeQuiet(this.layout.result(id));
    } else {
      this.db.unstart(id);
      this.opts.log.info("job checkpointed: resumes at the next start", { job_id: id, processed_seconds: row?.processed_seconds });
    }
  }

  // ---- expiry ---------------------------------------------------------------------

  private isExpired(row: JobRow): boolean {
    const ttl = this.opts.limits().jobsTtlSecs;
    return ttl > 0 && row.finished_at !== null && this.now() - row.finished_at > ttl;
  }

  /** finished jobs past their TTL: files deleted, row kept as a tombstone (410) for a week */
  sweepExpired(): void {
    if (this.closed) return;
    const ttl = this.opts.limits().jobsTtlSecs;
    if (ttl <= 0) return;
    const now = this.now();
    for (const row of this.db.expiring(now - ttl)) {
      if (now - row.finished_at! <= ttl) continue;
      removeQuiet(this.layout.result(row.id));
      removeQuiet(this.layout.audio(row.id));
      this.db.markExpired(row.id);
    }
    this.db.purge(now - ttl - 7 * 86_400);
  }

  // ---- shutdown -----------------------------------------------------------------------

  /** drain: running jobs stop at once (their committed segments stay) and resume at the next start */
  async stop(): Promise<void> {
    this.stopping = true;
    const runs = [...this.running.values()];
    for (const r of runs) r.controller.abort(new GigasttError("shutting_down"));
    await Promise.allSettled(runs.map((r) => r.done));
  }

  /** stop, then release the database (and its lock); idempotent */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.closed = true;
    clearInterval(this.sweeper);
    this.db.close();
  }
}
