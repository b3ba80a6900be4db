import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobsDb } from "./db.ts";

const path = () => join(mkdtempSync(join(tmpdir(), "gigastt-jobsdb-")), "jobs.db");
const job = (id: string, t: number) => ({ id, created_at: t, bytes: 10, sha256: "s", idempotency_key: null, params: "{}", filename: null });

test("WAL mode, and a second open is refused with jobs_dir_locked naming the file", () => {
  const p = path();
  const db = JobsDb.open(p);
  expect(() => JobsDb.open(p)).toThrow(expect.objectContaining({ code: "jobs_dir_locked" }));
  db.close();
  const raw = new Database(p);
  expect(raw.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode).toBe("wal");
  raw.close();
  JobsDb.open(p).close();
});

test("a damaged file is jobs_store_corrupt naming it, and is not touched", () => {
  const p = path();
  writeFileSync(p, "garbage ".repeat(512));
  let err: unknown;
  try {
    JobsDb.open(p);
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({ code: "jobs_store_corrupt" });
  expect((err as Error).message).toContain(p);
  expect(readFileSync(p, "utf8")).toBe("garbage ".repeat(512));
});

test("a job's life: queued → processing (segments, monotone progress) → done; terminal jobs cannot be cancelled", () => {
  const db = JobsDb.open(path());
  db.insert(job("a", 1));
  expect(db.get("a")).toMatchObject({ status: "queued", attempts: 0, percent: 0 });
  db.start("a", 2);
  db.commitSegment("a", "k1", "[]", { processed_seconds: 5, percent: 40 }, 3);
  db.commitSegment("a", "k0", "[]", { processed_seconds: 3, percent: 30 }, 4);
  expect(db.get("a")).toMatchObject({ status: "processing", attempts: 1, processed_seconds: 5, percent: 40 });
  expect([...db.segments("a").keys()].sort()).toEqual(["k0", "k1"]);
  expect(db.finish("a", 9, 5)).toBe(true);
  expect(db.get("a")).toMatchObject({ status: "done", percent: 100, processed_seconds: 9, finished_at: 5 });
  expect(db.segments("a").size).toBe(0);
  expect(db.cancel("a", 6)).toBe(false);
  db.close();
});

test("usage counts kept jobs and waiting bytes; list pages newest first with a status filter; expiry marks tombstones", () => {
  const db = JobsDb.open(path());
  for (let i = 0; i < 5; i++) db.insert(job(`j${i}`, i));
  db.start("j0", 10);
  db.finish("j0", 1, 10);
  expect(db.usage()).toEqual({ jobs: 5, waitingBytes: 40 });
  const first = db.list({ limit: 2 });
  expect(first.map((r) => r.id)).toEqual(["j4", "j3"]);
  expect(db.list({ limit: 2, before: { created_at: 3, id: "j3" } }).map((r) => r.id)).toEqual(["j2", "j1"]);
  expect(db.list({ limit: 10, status: "done" }).map((r) => r.id)).toEqual(["j0"]);
  expect(db.pending().map((r) => r.id)).toEqual(["j1", "j2", "j3", "j4"]);
  expect(db.expiring(9).length).toBe(0);
  expect(db.expiring(10).map((r) => r.id)).toEqual(["j0"]);
  db.markExpired("j0");
  expect(db.usage().jobs).toBe(4);
  expect(db.purge(10)).toBe(1);
  expect(db.get("j0")).toBeNull();
  db.close();
});
