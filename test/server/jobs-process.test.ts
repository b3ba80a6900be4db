/**
 * Jobs across process deaths, with real `gigastt serve --enable-jobs`
 * processes on the tone model: SIGKILL mid-job then restart → the job
 * resumes from its committed segments and its result equals /v1/transcribe's;
 * SIGTERM checkpoints within the drain window; a corrupted database stops the
 * start with an error naming it (and `gigastt jobs check` says the same).
 */
import { Database } from "bun:sqlite";
import { afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { longToneWav } from "../helpers/jobs.ts";
import { makeToneModelDir } from "../helpers/tone.ts";

setDefaultTimeout(90_000);

const MAIN = join(import.meta.dir, "../../src/main.ts");
const BASE_ENV = { PATH: process.env.PATH ?? "", HOME: mkdtempSync(join(tmpdir(), "gigastt-home-")), GIGASTT_OFFLINE: "1", NO_COLOR: "1" };
// long enough (≈ 600 segments) that a kill right after the first committed segment lands mid-job
const WAV = longToneWav(600);

let modelDir = "";
beforeAll(() => {
  modelDir = makeToneModelDir();
});

interface Proc {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly lines: Record<string, unknown>[];
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}
const live: Proc[] = [];
afterEach(() => {
  for (const p of live.splice(0)) p.proc.kill("SIGKILL");
});

function spawnServe(args: string[]): Proc {
  const proc = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--model-dir", modelDir, "--workers", "2", "--body-limit-bytes", "100000000", ...args], {
    env: BASE_ENV,
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: Record<string, unknown>[] = [];
  void (async () => {
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          lines.push(JSON.parse(line));
        } catch {
          lines.push({ raw: line });
        }
      }
    }
  })();
  const p: Proc = {
    proc,
    lines,
    async waitFor(pred, ms = 30_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`log line not seen; got:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
        await Bun.sleep(20);
      }
    },
  };
  live.push(p);
  return p;
}

async function ready(dir: string, extra: string[] = []): Promise<{ p: Proc; url: string }> {
  const p = spawnServe(["--enable-jobs", "--jobs-dir", dir, ...extra]);
  const url = String((await p.waitFor((l) => l.msg === "gigastt listening")).url);
  await p.waitFor((l) => l.msg === "model loaded: ready");
  return { p, url };
}

/** resolves at the first progress event with committed audio */
async function firstProgress(url: string, id: string): Promise<void> {
  const res = await fetch(`${url}/v1/jobs/${id}/events`);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`event stream ended early: ${buf}`);
    buf += dec.decode(value, { stream: true });
    for (const m of buf.matchAll(/^data: (.*)$/gm)) {
      const e = JSON.parse(m[1]!) as { type: string; processed_seconds?: number };
      if (e.type === "progress" && (e.processed_seconds ?? 0) > 0) {
        void reader.cancel().catch(() => {});
        return;
      }
      if (e.type !== "progress") throw new Error(`job ended before it could be interrupted: ${m[1]}`);
    }
  }
}

function dbState(dir: string, id: string): { status: string; segments: number; attempts: number } {
  const db = new Database(join(dir, "jobs.db"));
  try {
    const row = db.query<{ status: string; attempts: number }, [string]>("SELECT status, attempts FROM jobs WHERE id = ?").get(id)!;
    const n = db.query<{ n: number }, [string]>("SELECT COUNT(*) AS n FROM segments WHERE job_id = ?").get(id)!.n;
    return { status: row.status, segments: n, attempts: row.attempts };
  } finally {
    db.close();
  }
}

async function waitDone(url: string, id: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const j = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as { status: string };
    if (j.status === "done") return;
    if (j.status !== "queued" && j.status !== "processing") throw new Error(`job ${id}: ${JSON.stringify(j)}`);
    if (Date.now() > deadline) throw new Error(`job ${id} not done`);
    await Bun.sleep(50);
  }
}

test.each([
  ["SIGKILL", "SIGKILL"],
  ["SIGTERM", "SIGTERM"],
] as const)("%s mid-job, then a restart: the job resumes from its last committed segment and its result equals an uninterrupted run's", async (_name, signal) => {
  const dir = mkdtempSync(join(tmpdir(), "gigastt-jobs-proc-"));
  const a = await ready(dir, ["--shutdown-drain-secs", "5"]);
  const sub = await fetch(`${a.url}/v1/jobs`, { method: "POST", body: WAV });
  expect(sub.status).toBe(202);
  const { job_id } = (await sub.json()) as { job_id: string };
  await firstProgress(a.url, job_id);
  const t0 = performance.now();
  a.p.proc.kill(signal);
  const code = await a.p.proc.exited;
  if (signal === "SIGTERM") {
    expect(code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000);
    await a.p.waitFor((l) => l.msg === "job checkpointed: resumes at the next start");
  }
  const mid = dbState(dir, job_id);
  expect(mid.status).toBe("processing");
  expect(mid.segments).toBeGreaterThan(0);
  // only a run cut short by a crash counts towards giving up on a job (MAX_CRASHED_RUNS)
  expect(mid.attempts).toBe(signal === "SIGKILL" ? 1 : 0);

  const b = await ready(dir);
  await waitDone(b.url, job_id);
  const done = await b.p.waitFor((l) => l.msg === "job done" && l.job_id === job_id);
  expect(done.segments_resumed as number).toBeGreaterThan(0);
  const viaJob = await (await fetch(`${b.url}/v1/jobs/${job_id}/result`)).text();
  const direct = await (await fetch(`${b.url}/v1/transcribe`, { method: "POST", body: WAV })).text();
  expect(viaJob).toBe(direct);
  expect(JSON.parse(viaJob).words.length).toBeGreaterThan(1000);
});

test("a corrupted jobs database stops the start with an error naming it, and is left untouched; `gigastt jobs check` says the same", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gigastt-jobs-bad-"));
  const db = join(dir, "jobs.db");
  const garbage = "this is not an sqlite database ".repeat(200);
  writeFileSync(db, garbage);
  const proc = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--model-dir", modelDir, "--enable-jobs", "--jobs-dir", dir], { env: BASE_ENV, stdout: "pipe", stderr: "pipe" });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  expect(code).toBe(1);
  expect(stderr).toContain("jobs_store_corrupt");
  expect(stderr).toContain(db);
  expect(stderr).not.toContain("gigastt listening");
  expect(readFileSync(db, "utf8")).toBe(garbage);
  const check = Bun.spawnSync(["bun", MAIN, "jobs", "check", "--jobs-dir", dir], { env: BASE_ENV });
  expect(check.exitCode).toBe(1);
  expect(check.stderr.toString()).toContain(db);
});

test("`gigastt jobs check` on a sound database prints ok; while a server holds it, jobs_dir_locked", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gigastt-jobs-ok-"));
  const a = await ready(dir);
  const locked = Bun.spawnSync(["bun", MAIN, "jobs", "check", "--jobs-dir", dir], { env: BASE_ENV });
  expect(locked.exitCode).toBe(1);
  expect(locked.stderr.toString()).toContain("jobs_dir_locked");
  const second = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--model-dir", modelDir, "--enable-jobs", "--jobs-dir", dir], { env: BASE_ENV, stdout: "pipe", stderr: "pipe" });
  const [code2, stderr2] = await Promise.all([second.exited, new Response(second.stderr).text()]);
  expect(code2).toBe(1);
  expect(stderr2).toContain("jobs_dir_locked");
  a.p.proc.kill("SIGTERM");
  await a.p.proc.exited;
  const ok = Bun.spawnSync(["bun", MAIN, "jobs", "check", "--jobs-dir", dir], { env: BASE_ENV });
  expect(ok.exitCode).toBe(0);
  expect(ok.stdout.toString()).toContain("ok");
});
