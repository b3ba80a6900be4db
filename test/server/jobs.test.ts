/**
 * /v1/jobs over loopback with the tone model, in-process: submit → poll →
 * result equals /v1/transcribe on the same bytes; SSE progress; cancel;
 * idempotency; queue full; TTL expiry; disk full; the lock; disabled.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobsFs } from "../../src/jobs/files.ts";
import { createLogger } from "../../src/log.ts";
import { parseServeConfig } from "../../src/server/config.ts";
import type { TranscriberLike } from "../../src/server/deps.ts";
import { type RunningServer, type StartOptions, startServer } from "../../src/server/server.ts";
import { longToneWav, slowTranscriber } from "../helpers/jobs.ts";
import { closeToneTranscriber, toneTranscriber } from "./http-helpers.ts";
import { parseSse } from "./streaming-helpers.ts";

const WAV = longToneWav(8);
const servers: RunningServer[] = [];

async function start(flags: string[] = [], opts: { transcriber?: TranscriberLike | null; jobs?: StartOptions["jobs"]; dir?: string } = {}) {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "gigastt-jobs-"));
  const config = parseServeConfig(["--port", "0", "--enable-jobs", "--jobs-dir", dir, ...flags], {}, { isTTY: false, cpus: 1 });
  const log = createLogger({ level: "silent", format: "json", write: () => {} });
  const transcriber = opts.transcriber === undefined ? await toneTranscriber() : opts.transcriber;
  const server = await startServer(config, { transcriber, log, ...(opts.jobs ? { jobs: opts.jobs } : {}) });
  servers.push(server);
  return { server, url: server.url, dir };
}

async function submit(url: string, body: Uint8Array = WAV, init: RequestInit = {}, query = ""): Promise<Response> {
  return fetch(`${url}/v1/jobs${query}`, { method: "POST", body, ...init });
}

async function waitStatus(url: string, id: string, want: string[], ms = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const j = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as Record<string, unknown>;
    if (want.includes(String(j.status))) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${j.status}`);
    await Bun.sleep(20);
  }
}

afterAll(async () => {
  for (const s of servers) await s.stop();
  await closeToneTranscriber();
});

describe("submit → poll → result", () => {
  let url = "";
  beforeAll(async () => {
    ({ url } = await start());
  });

  test("202 {job_id, status: queued, created_at}; done; the result equals /v1/transcribe on the same bytes, in every format", async () => {
    const res = await submit(url);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { job_id: string; status: string; created_at: number };
    expect(body.status).toBe("queued");
    expect(body.job_id).toMatch(/^[0-9a-f]{32}$/);
    expect(Math.abs(body.created_at - Date.now() / 1000)).toBeLessThan(60);
    const done = await waitStatus(url, body.job_id, ["done", "failed"]);
    expect(done).toMatchObject({ job_id: body.job_id, status: "done", percent: 100 });
    expect(done.processed_seconds as number).toBeGreaterThan(10);
    for (const format of ["json", "text", "srt", "vtt"]) {
      const direct = await fetch(`${url}/v1/transcribe?format=${format}`, { method: "POST", body: WAV });
      const viaJob = await fetch(`${url}/v1/jobs/${body.job_id}/result?format=${format}`);
      expect(viaJob.status).toBe(200);
      expect(viaJob.headers.get("content-type")).toBe(direct.headers.get("content-type"));
      expect(await viaJob.text()).toBe(await direct.text());
    }
    const json = (await (await fetch(`${url}/v1/jobs/${body.job_id}/result`)).json()) as { text: string };
    expect(json.text).toContain("привет мир как дела");
  });

  test("the submission's ?format= is the result's default; a form upload works like the raw body", async () => {
    const form = new FormData();
    form.set("file", new Blob([WAV]), "talk.wav");
    const res = await fetch(`${url}/v1/jobs?format=srt`, { method: "POST", body: form });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    await waitStatus(url, job_id, ["done"]);
    const r = await fetch(`${url}/v1/jobs/${job_id}/result`);
    expect(r.headers.get("content-type")).toContain("application/x-subrip");
    expect(await r.text()).toBe(await (await fetch(`${url}/v1/transcribe?format=srt`, { method: "POST", body: WAV })).text());
  });

  test("SSE /events: progress is monotone and the stream ends with done", async () => {
    const { job_id } = (await (await submit(url)).json()) as { job_id: string };
    const res = await fetch(`${url}/v1/jobs/${job_id}/events`);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const { events } = parseSse(await res.text());
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)).toEqual({ type: "done" } as never);
    const progress = events.slice(0, -1) as unknown as Array<{ type: string; percent: number; processed_seconds: number }>;
    for (const e of progress) expect(e.type).toBe("progress");
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.percent).toBeGreaterThanOrEqual(progress[i - 1]!.percent);
      expect(progress[i]!.processed_seconds).toBeGreaterThanOrEqual(progress[i - 1]!.processed_seconds);
    }
    // a finished job's stream is its terminal event alone
    expect(parseSse(await (await fetch(`${url}/v1/jobs/${job_id}/events`)).text()).events).toEqual([{ type: "done" }] as never);
  });

  test("a broken upload becomes a failed job with the audio's error; /result is 409 job_not_finished", async () => {
    const { job_id } = (await (await submit(url, new TextEncoder().encode("this is not audio at all, not even close"))).json()) as { job_id: string };
    const j = await waitStatus(url, job_id, ["failed", "done"]);
    expect(j.status).toBe("failed");
    expect(typeof j.error).toBe("string");
    const r = await fetch(`${url}/v1/jobs/${job_id}/result`);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { code: string }).code).toBe("job_not_finished");
    const del = await fetch(`${url}/v1/jobs/${job_id}`, { method: "DELETE" });
    expect(del.status).toBe(409);
    expect(((await del.json()) as { code: string }).code).toBe("job_not_cancellable");
  });

  test("unknown and malformed ids are 404 job_not_found", async () => {
    for (const id of ["0123456789abcdef0123456789abcdef", "nope", "..%2F..%2Fjobs.db"]) {
      const r = await fetch(`${url}/v1/jobs/${id}`);
      expect(r.status).toBe(404);
      expect(((await r.json()) as { code: string }).code).toBe("job_not_found");
    }
  });

  test("Idempotency-Key: the same key and body give the same job; another body under that key is 409", async () => {
    const key = `k-${crypto.randomUUID()}`;
    const a = (await (await submit(url, WAV, { headers: { "idempotency-key": key } })).json()) as { job_id: string };
    const b = await submit(url, WAV, { headers: { "idempotency-key": key } });
    expect(b.status).toBe(202);
    expect(((await b.json()) as { job_id: string }).job_id).toBe(a.job_id);
    const c = await submit(url, longToneWav(2), { headers: { "idempotency-key": key } });
    expect(c.status).toBe(409);
    expect(((await c.json()) as { code: string }).code).toBe("idempotency_conflict");
  });

  test("GET /v1/jobs?status= pages newest first", async () => {
    await waitStatus(url, ((await (await submit(url, longToneWav(1))).json()) as { job_id: string }).job_id, ["done"]);
    const all = (await (await fetch(`${url}/v1/jobs?limit=100`)).json()) as { jobs: Array<{ job_id: string; status: string; created_at: number }> };
    expect(all.jobs.length).toBeGreaterThanOrEqual(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { jobs: Array<{ job_id: string }>; next_cursor: string | null } = (await (await fetch(`${url}/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ""}`)).json()) as never;
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((j) => j.job_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.jobs.map((j) => j.job_id));
    const failed = (await (await fetch(`${url}/v1/jobs?status=failed`)).json()) as { jobs: Array<{ status: string }> };
    expect(failed.jobs.length).toBeGreaterThanOrEqual(1);
    for (const j of failed.jobs) expect(j.status).toBe("failed");
    expect((await fetch(`${url}/v1/jobs?status=bogus`)).status).toBe(400);
  });

  test("the platform rules apply: a foreign Origin is 403", async () => {
    const r = await submit(url, WAV, { headers: { origin: "https://evil.example" } });
    expect(r.status).toBe(403);
    expect((await fetch(`${url}/v1/jobs`, { headers: { origin: "https://evil.example" } })).status).toBe(403);
  });
});

test("cancel: a processing job stops within a segment, its stream ends with cancelled; a queued one is cancelled at once", async () => {
  const slow = slowTranscriber(await toneTranscriber(), 150);
  const { url } = await start([], { transcriber: slow });
  const { job_id } = (await (await submit(url, longToneWav(30))).json()) as { job_id: string };
  const queued = (await (await submit(url, WAV)).json()) as { job_id: string };
  const events = fetch(`${url}/v1/jobs/${job_id}/events`).then((r) => r.text());
  await waitStatus(url, job_id, ["processing"]);
  while (slow.calls < 2) await Bun.sleep(10);
  // while processing, `partial` is the text so far
  let partial: unknown;
  for (let i = 0; i < 200 && partial === undefined; i++) {
    partial = ((await (await fetch(`${url}/v1/jobs/${job_id}`)).json()) as { partial?: string }).partial;
    if (partial === undefined) await Bun.sleep(20);
  }
  expect(partial).toStartWith("привет мир");
  expect((await fetch(`${url}/v1/jobs/${queued.job_id}`, { method: "DELETE" })).status).toBe(204);
  expect(((await (await fetch(`${url}/v1/jobs/${queued.job_id}`)).json()) as { status: string }).status).toBe("cancelled");
  const del = await fetch(`${url}/v1/jobs/${job_id}`, { method: "DELETE" });
  expect(del.status).toBe(204);
  const at = slow.calls;
  expect(((await (await fetch(`${url}/v1/jobs/${job_id}`)).json()) as { status: string }).status).toBe("cancelled");
  expect(parseSse(await events).events.at(-1)).toEqual({ type: "cancelled" } as never);
  await Bun.sleep(600);
  expect(slow.calls).toBeLessThanOrEqual(at + 1);
  expect((await fetch(`${url}/v1/jobs/${job_id}`, { method: "DELETE" })).status).toBe(409);
});

test("queue full: jobs_max and jobs_max_bytes → 429 queue_full with Retry-After and retry_after_ms", async () => {
  const { url } = await start(["--jobs-max", "1", "--pool-checkout-timeout-secs", "7"], { transcriber: null });
  expect((await submit(url)).status).toBe(202);
  const r = await submit(url);
  expect(r.status).toBe(429);
  expect(r.headers.get("retry-after")).toBe("7");
  expect(await r.json()).toMatchObject({ code: "queue_full", retry_after_ms: 7000 });
  const small = await start(["--jobs-max-bytes", "1000"], { transcriber: null });
  const big = await submit(small.url);
  expect(big.status).toBe(429);
  expect(((await big.json()) as { code: string }).code).toBe("queue_full");
  expect(readdirSync(join(small.dir, "audio"))).toEqual([]);
});

test("TTL: a finished job answers 410 job_expired once jobs_ttl_secs have passed, and its files are gone", async () => {
  let skew = 0;
  const { url, dir } = await start(["--jobs-ttl-secs", "60"], { jobs: { now: () => Date.now() / 1000 + skew } });
  const { job_id } = (await (await submit(url, longToneWav(1))).json()) as { job_id: string };
  await waitStatus(url, job_id, ["done"]);
  expect((await fetch(`${url}/v1/jobs/${job_id}/result`)).status).toBe(200);
  skew = 61;
  for (const path of [`/v1/jobs/${job_id}`, `/v1/jobs/${job_id}/result`]) {
    const r = await fetch(`${url}${path}`);
    expect(r.status).toBe(410);
    expect(((await r.json()) as { code: string }).code).toBe("job_expired");
  }
  // the next submission sweeps: the result file is deleted
  await submit(url, longToneWav(1));
  expect(existsSync(join(dir, "results", `${job_id}.json`))).toBe(false);
});

test("disk full while receiving → 507 disk_full, nothing stored, the store still works", async () => {
  let full = true;
  const fs: JobsFs = {
    async create(path) {
      const real = await (await import("../../src/jobs/files.ts")).NODE_FS.create(path);
      let written = 0;
      return {
        async write(chunk) {
          written += chunk.length;
          if (full && written > 4096) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
          return real.write(chunk);
        },
        sync: () => real.sync(),
        close: () => real.close(),
      };
    },
  };
  const { url, dir } = await start([], { transcriber: null, jobs: { fs } });
  const r = await submit(url);
  expect(r.status).toBe(507);
  expect(((await r.json()) as { code: string }).code).toBe("disk_full");
  for (const d of ["audio", "tmp", "results"]) expect(readdirSync(join(dir, d))).toEqual([]);
  expect(((await (await fetch(`${url}/v1/jobs`)).json()) as { jobs: unknown[] }).jobs).toEqual([]);
  full = false;
  expect((await submit(url)).status).toBe(202);
});

test("two servers on one jobs dir: the second refuses to start (jobs_dir_locked)", async () => {
  const first = await start([], { transcriber: null });
  const err = await start([], { transcriber: null, dir: first.dir }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: "jobs_dir_locked" });
  expect(String((err as Error).message)).toContain(first.dir);
});

test("without --enable-jobs every /v1/jobs route is 404 jobs_disabled", async () => {
  const config = parseServeConfig(["--port", "0"], {}, { isTTY: false, cpus: 1 });
  const server = await startServer(config, { transcriber: null, log: createLogger({ level: "silent", format: "json", write: () => {} }) });
  servers.push(server);
  for (const [method, path] of [["POST", "/v1/jobs"], ["GET", "/v1/jobs"], ["GET", "/v1/jobs/x"], ["GET", "/v1/jobs/x/result"], ["DELETE", "/v1/jobs/x"], ["GET", "/v1/jobs/x/events"]] as const) {
    const r = await fetch(`${server.url}${path}`, { method, ...(method === "POST" ? { body: WAV } : {}) });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { code: string }).code).toBe("jobs_disabled");
  }
});

describe("gigastt jobs list|show|result|cancel against a running server", () => {
  const MAIN = join(import.meta.dir, "../../src/main.ts");
  // async: the server answering it runs in this process
  const cli = async (...args: string[]) => {
    const proc = Bun.spawn(["bun", MAIN, "jobs", ...args], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
    const [exitCode, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { exitCode, stdout: { toString: () => stdout }, stderr: { toString: () => stderr } };
  };

  test("list, show and result of a finished job; cancel of a processing one; a finished one cannot be cancelled (exit 1)", async () => {
    const slow = slowTranscriber(await toneTranscriber(), 100);
    const { url } = await start([], { transcriber: slow });
    const small = longToneWav(1);
    const { job_id: doneId } = (await (await submit(url, small)).json()) as { job_id: string };
    await waitStatus(url, doneId, ["done"]);
    const { job_id: longId } = (await (await submit(url, longToneWav(40))).json()) as { job_id: string };
    await waitStatus(url, longId, ["processing"]);

    const list = await cli("list", "--url", url);
    expect(list.exitCode).toBe(0);
    expect(list.stdout.toString()).toMatch(new RegExp(`${doneId}\\s+done\\s+100%`));
    expect(list.stdout.toString()).toMatch(new RegExp(`${longId}\\s+processing`));
    const onlyDone = JSON.parse((await cli("list", "--url", url, "--status", "done", "--json")).stdout.toString()) as Array<{ job_id: string; status: string }>;
    expect(onlyDone.map((j) => j.job_id)).toEqual([doneId]);

    const show = await cli("show", doneId, "--url", url);
    expect(show.exitCode).toBe(0);
    expect(JSON.parse(show.stdout.toString())).toMatchObject({ job_id: doneId, status: "done", percent: 100 });

    const text = await cli("result", doneId, "--url", url, "--format", "text");
    expect(text.exitCode).toBe(0);
    expect(text.stdout.toString()).toBe(await (await fetch(`${url}/v1/transcribe?format=text`, { method: "POST", body: small })).text().then((t) => (t.endsWith("\n") ? t : `${t}\n`)));

    const cancel = await cli("cancel", longId, "--url", url);
    expect(cancel.exitCode).toBe(0);
    expect(cancel.stdout.toString()).toContain(`cancelled ${longId}`);
    expect(((await (await fetch(`${url}/v1/jobs/${longId}`)).json()) as { status: string }).status).toBe("cancelled");

    const again = await cli("cancel", doneId, "--url", url);
    expect(again.exitCode).toBe(1);
    expect(again.stderr.toString()).toContain("job_not_cancellable");
    const missing = await cli("show", "0123456789abcdef0123456789abcdef", "--url", url);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.toString()).toContain("job_not_found");
  });
});

test("jobs stay inside their Worker share (--batch-pool-size) and a live request is served while they run", async () => {
  const tone = await toneTranscriber();
  let jobsNow = 0;
  let jobsPeak = 0;
  const tracking: TranscriberLike = {
    info: tone.info,
    transcribeStream: (c, o) => tone.transcribeStream(c, o),
    async decodeSegment(samples, offset, opts) {
      const isJob = opts?.session?.startsWith("job:") ?? false;
      if (isJob) jobsPeak = Math.max(jobsPeak, ++jobsNow);
      try {
        if (isJob) await Bun.sleep(30);
        return await tone.decodeSegment(samples, offset, opts);
      } finally {
        if (isJob) jobsNow--;
      }
    },
  };
  const { url } = await start(["--workers", "3", "--batch-pool-size", "1"], { transcriber: tracking });
  const ids = await Promise.all([1, 2].map(async () => ((await (await submit(url, longToneWav(60))).json()) as { job_id: string }).job_id));
  await waitStatus(url, ids[0]!, ["processing"]);
  const t0 = performance.now();
  const live = await fetch(`${url}/v1/transcribe`, { method: "POST", body: longToneWav(2) });
  expect(live.status).toBe(200);
  expect(performance.now() - t0).toBeLessThan(2000);
  // the jobs (one at a time: the share is 1) were still at work when the live request finished
  const states = await Promise.all(ids.map(async (id) => ((await (await fetch(`${url}/v1/jobs/${id}`)).json()) as { status: string }).status));
  expect(states).toContain("processing");
  expect(states.filter((s) => s === "processing").length).toBe(1);
  for (const id of ids) await waitStatus(url, id, ["done"]);
  expect(jobsPeak).toBe(1);
});

test("Idempotency-Key: concurrent submissions with one key make one job", async () => {
  const { url } = await start([], { transcriber: null });
  const key = "same-key";
  const res = await Promise.all([1, 2, 3].map(() => submit(url, WAV, { headers: { "idempotency-key": key } })));
  expect(res.map((r) => r.status)).toEqual([202, 202, 202]);
  const ids = new Set(await Promise.all(res.map(async (r) => ((await r.json()) as { job_id: string }).job_id)));
  expect(ids.size).toBe(1);
  expect(((await (await fetch(`${url}/v1/jobs`)).json()) as { jobs: unknown[] }).jobs.length).toBe(1);
});

test("a job that was running at each of the last 3 crashes is failed, not run a fourth time", async () => {
  const first = await start([], { transcriber: null });
  const { job_id } = (await (await submit(first.url)).json()) as { job_id: string };
  await first.server.stop();
  const { Database } = await import("bun:sqlite");
  const db = new Database(join(first.dir, "jobs.db"));
  db.query("UPDATE jobs SET status = 'processing', attempts = 3 WHERE id = ?").run(job_id);
  db.close();
  const again = await start([], { dir: first.dir });
  const j = await waitStatus(again.url, job_id, ["failed", "done"]);
  expect(j.status).toBe("failed");
  expect(String(j.error)).toContain("3 runs");
  expect(existsSync(join(first.dir, "audio", job_id))).toBe(false);
});

test("uploads still arriving count against jobs_max and jobs_max_bytes (concurrent uploads cannot overrun the budget)", async () => {
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    const half = Math.floor(WAV.length / 2);
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(WAV.subarray(0, half));
        await opened;
        c.enqueue(WAV.subarray(half));
        c.close();
      },
    });
    return { body, open };
  };
  const post = (url: string, body: ReadableStream<Uint8Array>) => fetch(`${url}/v1/jobs`, { method: "POST", body, duplex: "half" } as RequestInit);
  const bytes = await start(["--jobs-max-bytes", String(Math.floor(WAV.length * 1.5))], { transcriber: null });
  const [a, b] = [gate(), gate()];
  const pa = post(bytes.url, a.body);
  const pb = post(bytes.url, b.body);
  await Bun.sleep(200);
  a.open();
  b.open();
  const statuses = (await Promise.all([pa, pb])).map((r) => r.status).sort();
  expect(statuses).toEqual([202, 429]);
  expect(readdirSync(join(bytes.dir, "audio")).length).toBe(1);
  expect(readdirSync(join(bytes.dir, "tmp"))).toEqual([]);

  const count = await start(["--jobs-max", "1"], { transcriber: null });
  const [c, d] = [gate(), gate()];
  const pc = post(count.url, c.body);
  await Bun.sleep(100);
  const pd = post(count.url, d.body);
  const second = await pd;
  expect(second.status).toBe(429);
  c.open();
  d.open();
  expect((await pc).status).toBe(202);
});

describe("any input /v1/transcribe accepts, with its options", () => {
  const FORMATS = join(import.meta.dir, "../fixtures/formats");
  let url = "";
  beforeAll(async () => {
    ({ url } = await start());
  });

  async function viaJob(body: Uint8Array, query = ""): Promise<Response> {
    const res = await submit(url, body, {}, query);
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    await waitStatus(url, job_id, ["done", "failed"]);
    return fetch(`${url}/v1/jobs/${job_id}/result`);
  }

  test.each(["mp3-128k-mono.mp3", "opus-32k.ogg", "aac-96k.m4a", "flac-16.flac"])("%s: the job's result equals /v1/transcribe's", async (name) => {
    const body = new Uint8Array(readFileSync(join(FORMATS, name)));
    const direct = await (await fetch(`${url}/v1/transcribe`, { method: "POST", body })).text();
    expect(await (await viaJob(body)).text()).toBe(direct);
  });

  test("?channels=split: each channel on its own, as on /v1/transcribe", async () => {
    const body = new Uint8Array(readFileSync(join(FORMATS, "stereo-split.flac")));
    const direct = await (await fetch(`${url}/v1/transcribe?channels=split`, { method: "POST", body })).text();
    const job = await (await viaJob(body, "?channels=split")).text();
    expect(job).toBe(direct);
    expect(JSON.parse(job).words.some((w: { channel?: number }) => w.channel === 1)).toBe(true);
    expect((await submit(url, body, {}, "?channels=both")).status).toBe(400);
  });

  test("a damaged file: the valid part and the same `warnings` as /v1/transcribe", async () => {
    const body = new Uint8Array(readFileSync(join(FORMATS, "opus-32k.ogg")));
    body.fill(0x55, 6000, 6400);
    const direct = await (await fetch(`${url}/v1/transcribe`, { method: "POST", body })).text();
    const job = await (await viaJob(body)).text();
    expect(job).toBe(direct);
    expect(JSON.parse(job).warnings.length).toBeGreaterThan(0);
  });
});
