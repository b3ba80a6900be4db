/**
 * The jobs database: one SQLite file (`jobs.db`) in the jobs dir, opened in
 * WAL mode with `synchronous=FULL` and `locking_mode=EXCLUSIVE`, so
 *
 * - every commit is durable before the call returns (a 202 means stored);
 * - the connection holds an exclusive OS lock for as long as the server runs:
 *   a second server on the same dir gets `jobs_dir_locked` instead of sharing
 *   (and corrupting) it; the lock dies with the process, even on SIGKILL;
 * - an unreadable or damaged file is `jobs_store_corrupt` naming it, checked
 *   with `PRAGMA quick_check` at every start; it is never reset silently.
 */
import { Database, type SQLQueryBindings } from "bun:sqlite";
import { GigasttError } from "../errors.ts";
import type { JobRow, JobStatus } from "./types.ts";

export const DB_FILE = "jobs.db";
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  finished_at REAL,
  expired INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  params TEXT NOT NULL,
  filename TEXT,
  processed_seconds REAL NOT NULL DEFAULT 0,
  percent REAL NOT NULL DEFAULT 0,
  error TEXT,
  error_code TEXT,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at, id);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status);
CREATE TABLE IF NOT EXISTS segments (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  words TEXT NOT NULL,
  PRIMARY KEY (job_id, key)
);
`;

/** SQLite said the disk (or quota) is full */
export function isSqliteFull(e: unknown): boolean {
  return (e as { code?: string })?.code === "SQLITE_FULL";
}

function corrupt(path: string, why: string, cause?: unknown): GigasttError {
  return new GigasttError(
    "jobs_store_corrupt",
    `the jobs database '${path}' is unreadable (${why}); it was left untouched: restore it from a backup or move it away to start with no jobs (\`gigastt jobs check --jobs-dir …\` tells the same)`,
    cause === undefined ? undefined : { cause },
  );
}

export interface NewJob {
  readonly id: string;
  readonly created_at: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly idempotency_key: string | null;
  readonly params: string;
  readonly filename: string | null;
}

export interface ListQuery {
  readonly status?: JobStatus;
  readonly limit: number;
  /** the last row of the previous page: (created_at, id) */
  readonly before?: { created_at: number; id: string };
}

export class JobsDb {
  readonly path: string;
  private readonly db: Database;

  private constructor(path: string, db: Database) {
    this.path = path;
    this.db = db;
  }

  /**
   * Open (creating it when absent) and lock. Throws `jobs_dir_locked` when
   * another process holds it, `jobs_store_corrupt` when it is damaged.
   */
  static open(path: string, opts: { check?: boolean } = {}): JobsDb {
    let db: Database;
    try {
      db = new Database(path, { create: true, strict: true });
    } catch (e) {
      throw corrupt(path, (e as Error).message, e);
    }
    try {
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA busy_timeout = 0");
      const mode = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get();
      if (mode?.journal_mode !== "wal") throw corrupt(path, `cannot use WAL mode (${mode?.journal_mode})`);
      db.exec("PRAGMA synchronous = FULL");
      db.exec("PRAGMA foreign_keys = ON");
      // the first write takes the exclusive lock, held until close
      db.exec("BEGIN IMMEDIATE");
      db.exec(SCHEMA);
      const v = db.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'schema_version'").get();
      if (!v) db.query("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
      else if (Number(v.value) !== SCHEMA_VERSION) throw corrupt(path, `schema version ${v.value}, this gigastt reads ${SCHEMA_VERSION}`);
      db.exec("COMMIT");
      if (opts.check !== false) {
        const rows = db.query<{ quick_check: string }, []>("PRAGMA quick_check").all();
        if (rows.length !== 1 || rows[0]!.quick_check !== "ok") throw corrupt(path, rows.map((r) => r.quick_check).slice(0, 3).join("; "));
      }
    } catch (e) {
      try {
        db.close();
      } catch {}
      const code = (e as { code?: string })?.code;
      if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED")
        throw new GigasttError("jobs_dir_locked", `the jobs database '${path}' is locked by another gigastt server: give each server its own --jobs-dir`, { cause: e });
      if (e instanceof GigasttError) throw e;
      if (code === "SQLITE_FULL") throw new GigasttError("disk_full", `no space left to open the jobs database '${path}'`, { cause: e });
      throw corrupt(path, (e as Error).message, e);
    }
    return new JobsDb(path, db);
  }

  close(): void {
    this.db.close();
  }

  insert(job: NewJob): void {
    this.db
      .query(
        `INSERT INTO jobs (id, status, created_at, updated_at, bytes, sha256, idempotency_key, params, filename)
         VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(job.id, job.created_at, job.created_at, job.bytes, job.sha256, job.idempotency_key, job.params, job.filename);
  }

  get(id: string): JobRow | null {
    return this.db.query<JobRow, [string]>("SELECT * FROM jobs WHERE id = ?").get(id);
  }

  byIdempotencyKey(key: string): JobRow | null {
    return this.db.query<JobRow, [string]>("SELECT * FROM jobs WHERE idempotency_key = ?").get(key);
  }

  /** jobs not yet expired (they count against jobs_max) and the audio bytes still waiting */
  usage(): { jobs: number; waitingBytes: number } {
    const r = this.db
      .query<{ jobs: number; bytes: number | null }, []>(
        "SELECT COUNT(*) AS jobs, SUM(CASE WHEN status IN ('queued', 'processing') THEN bytes ELSE 0 END) AS bytes FROM jobs WHERE expired = 0",
      )
      .get();
    return { jobs: r?.jobs ?? 0, waitingBytes: r?.bytes ?? 0 };
  }

  /** jobs kept (not expired) per status */
  countByStatus(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.db.query<{ status: string; n: number }, []>("SELECT status, COUNT(*) AS n FROM jobs WHERE expired = 0 GROUP BY status").all()) out.set(r.status, r.n);
    return out;
  }

  /** queued and processing jobs, oldest first (processing ones first: they resume) */
  pending(): JobRow[] {
    return this.db.query<JobRow, []>("SELECT * FROM jobs WHERE status IN ('processing', 'queued') ORDER BY status = 'queued', created_at, id").all();
  }

  list(q: ListQuery): JobRow[] {
    const where: string[] = ["expired = 0"];
    const args: SQLQueryBindings[] = [];
    if (q.status) {
      where.push("status = ?");
      args.push(q.status);
    }
    if (q.before) {
      where.push("(created_at, id) < (?, ?)");
      args.push(q.before.created_at, q.before.id);
    }
    args.push(q.limit);
    return this.db.query<JobRow, SQLQueryBindings[]>(`SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...args);
  }

  /** queued/processing → processing (one more attempt) */
  start(id: string, now: number): void {
    this.db.query("UPDATE jobs SET status = 'processing', attempts = attempts + 1, updated_at = ? WHERE id = ? AND status IN ('queued', 'processing')").run(now, id);
  }

  /** a graceful stop (drain) is not an attempt: only runs cut short by a crash count */
  unstart(id: string): void {
    this.db.query("UPDATE jobs SET attempts = MAX(0, attempts - 1) WHERE id = ? AND status = 'processing'").run(id);
  }

  /** one finished segment and the progress it brings, in one transaction */
  commitSegment(id: string, key: string, words: string, progress: { processed_seconds: number; percent: number }, now: number): void {
    this.db.transaction(() => {
      this.db.query("INSERT OR REPLACE INTO segments (job_id, key, words) VALUES (?, ?, ?)").run(id, key, words);
      this.db
        .query("UPDATE jobs SET processed_seconds = MAX(processed_seconds, ?), percent = MAX(percent, ?), updated_at = ? WHERE id = ? AND status = 'processing'")
        .run(progress.processed_seconds, progress.percent, now, id);
    })();
  }

  segments(id: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const r of this.db.query<{ key: string; words: string }, [string]>("SELECT key, words FROM segments WHERE job_id = ?").all(id)) out.set(r.key, r.words);
    return out;
  }

  /** processing → done (the result file is already in place); segments are no longer needed */
  finish(id: string, processedSeconds: number, now: number): boolean {
    return this.db.transaction(() => {
      const r = this.db
        .query("UPDATE jobs SET status = 'done', processed_seconds = ?, percent = 100, finished_at = ?, updated_at = ? WHERE id = ? AND status = 'processing'")
        .run(processedSeconds, now, now, id);
      this.db.query("DELETE FROM segments WHERE job_id = ?").run(id);
      return r.changes === 1;
    })();
  }

  fail(id: string, code: string, message: string, now: number): boolean {
    return this.db.transaction(() => {
      const r = this.db
        .query("UPDATE jobs SET status = 'failed', error = ?, error_code = ?, finished_at = ?, updated_at = ? WHERE id = ? AND status = 'processing'")
        .run(message, code, now, now, id);
      this.db.query("DELETE FROM segments WHERE job_id = ?").run(id);
      return r.changes === 1;
    })();
  }

  /** queued/processing → cancelled; false when the job was already terminal */
  cancel(id: string, now: number): boolean {
    return this.db.transaction(() => {
      const r = this.db.query("UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND status IN ('queued', 'processing')").run(now, now, id);
      this.db.query("DELETE FROM segments WHERE job_id = ?").run(id);
      return r.changes === 1;
    })();
  }

  /** finished jobs whose TTL ran out (not yet marked) */
  expiring(cutoff: number): JobRow[] {
    return this.db.query<JobRow, [number]>("SELECT * FROM jobs WHERE expired = 0 AND finished_at IS NOT NULL AND finished_at <= ?").all(cutoff);
  }

  markExpired(id: string): void {
    this.db.query("UPDATE jobs SET expired = 1 WHERE id = ?").run(id);
  }

  /** tombstones older than `cutoff` are forgotten (then 404) */
  purge(cutoff: number): number {
    return this.db.query("DELETE FROM jobs WHERE expired = 1 AND finished_at <= ?").run(cutoff).changes;
  }

  /** ids of every row (for the orphan-file sweep at start) */
  ids(): Set<string> {
    return new Set(this.db.query<{ id: string }, []>("SELECT id FROM jobs").all().map((r) => r.id));
  }

  /** `PRAGMA integrity_check` lines ("ok" when sound) */
  integrity(): string[] {
    return this.db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check);
  }
}
