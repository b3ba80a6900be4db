import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerPool } from "../src/engine/pool.ts";
import { GigasttError } from "../src/errors.ts";
import type { ScriptedInit, ScriptedJob } from "./helpers/engine-scripted-worker.ts";

const URL_ = new URL("./helpers/engine-scripted-worker.ts", import.meta.url).href;
type Pool = WorkerPool<ScriptedInit, ScriptedJob, string, { tag: string }>;

const pools: Pool[] = [];
async function start(size: number, init: ScriptedInit = { tag: "t" }, more: { jobTimeoutMs?: number; minSize?: number; onShort?: (n: number, e: string) => void } = {}): Promise<Pool> {
  const p = await WorkerPool.start<ScriptedInit, ScriptedJob, string, { tag: string }>({ url: URL_, size, init, ...more });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return e instanceof GigasttError ? e.code : e instanceof DOMException ? e.name : String(e);
  }
}

describe("WorkerPool", () => {
  test("a job past jobTimeoutMs fails with inference_timeout; its stuck Worker is replaced and the next job runs", async () => {
    const pool = await start(1, { tag: "t" }, { jobTimeoutMs: 300 });
    const queued = pool.run({ op: "echo", value: "after" });
    const e = await pool.run({ op: "hang" }).catch((x) => x);
    expect(e).toBeInstanceOf(GigasttError);
    expect(e.code).toBe("inference_timeout");
    expect(e.message).toContain("--inference-timeout-secs");
    // the job queued behind the stuck one runs on the replacement
    expect(await queued).toBe("after");
    expect(pool.timeouts).toBe(1);
    expect(pool.crashes).toBe(0);
    expect(pool.alive).toBe(1);
  });

  test("jobs within the timeout are not affected by it", async () => {
    const pool = await start(1, { tag: "t" }, { jobTimeoutMs: 5000 });
    expect(await pool.run({ op: "echo", value: "ok", delayMs: 50 })).toBe("ok");
    expect(pool.timeouts).toBe(0);
  });

  test("minSize: with some Workers failing to load, the pool starts on the others and says so; below minSize it fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gigastt-pool-"));
    const short: [number, string][] = [];
    const pool = await start(3, { tag: "m", failFirstInit: join(dir, "first") }, { minSize: 1, onShort: (n, e) => short.push([n, e]) });
    expect(pool.size).toBe(2);
    expect(short).toEqual([[2, "scripted init failure of the first Worker"]]);
    expect(await pool.run({ op: "echo", value: "degraded" })).toBe("degraded");
    expect(await codeOf(start(2, { tag: "m", failFirstInit: join(dir, "again") }, { minSize: 2 }))).toBe("model_invalid");
  });

  test("runs jobs and reports the workers' init info", async () => {
    const pool = await start(2, { tag: "hello" });
    expect(pool.info).toEqual({ tag: "hello" });
    expect(await Promise.all([pool.run({ op: "echo", value: "a" }), pool.run({ op: "echo", value: "b" })])).toEqual(["a", "b"]);
  });

  test("workers load at once: start resolves after the slowest init, not the sum", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "gigastt-pool-")), "init.log");
    const pool = await start(3, { tag: "par", initDelayMs: 400, initLog: log });
    expect(pool.size).toBe(3);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual(["start", "start", "start", "end", "end", "end"]);
  });

  test("a failing init rejects start with the worker's typed error", async () => {
    expect(await codeOf(start(1, { tag: "x", failInit: true }))).toBe("model_invalid");
  });

  test("typed errors cross the boundary; other errors become a generic internal error", async () => {
    const pool = await start(1);
    expect(await codeOf(pool.run({ op: "fail", code: "invalid_audio" }))).toBe("invalid_audio");
    const e = await pool.run({ op: "throw-plain" }).catch((x) => x);
    expect(e.code).toBe("internal");
    expect(e.message).not.toContain("secret");
    expect(await pool.run({ op: "echo", value: "still alive" })).toBe("still alive");
  });

  test("transferred buffers reach the worker", async () => {
    const pool = await start(1);
    const samples = Float32Array.of(1, 2, 3.5);
    expect(await pool.run({ op: "sum", samples }, { transfer: [samples.buffer] })).toBe("6.5");
    expect(samples.length).toBe(0); // moved, not copied
  });

  test("queued jobs are served round-robin across sessions", async () => {
    const pool = await start(1);
    const order: string[] = [];
    const blocker = pool.run({ op: "echo", value: "block", delayMs: 100 }, { session: "x" });
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) jobs.push(pool.run({ op: "echo", value: `long${i}` }, { session: "upload" }).then((v) => order.push(v)));
    for (let i = 0; i < 2; i++) jobs.push(pool.run({ op: "echo", value: `live${i}` }, { session: "live" }).then((v) => order.push(v)));
    expect(pool.queued).toBe(6);
    await blocker;
    await Promise.all(jobs);
    expect(order).toEqual(["long0", "live0", "long1", "live1", "long2", "long3"]);
  });

  test("priority jobs go ahead of every queued normal job, round-robin among themselves", async () => {
    const pool = await start(1);
    const order: string[] = [];
    const blocker = pool.run({ op: "echo", value: "block", delayMs: 100 }, { session: "x" });
    const jobs: Promise<unknown>[] = [];
    const push = (value: string, session: string, priority = false) =>
      jobs.push(pool.run({ op: "echo", value }, { session, priority }).then((v) => order.push(v)));
    push("final-a1", "a");
    push("final-b1", "b");
    push("partial-a", "a", true);
    push("final-a2", "a");
    push("partial-b", "b", true);
    push("partial-c", "c", true);
    expect(pool.queued).toBe(6);
    await blocker;
    await Promise.all(jobs);
    expect(order).toEqual(["partial-a", "partial-b", "partial-c", "final-a1", "final-b1", "final-a2"]);
  });

  test("an aborted queued priority job is removed; the lanes stay consistent", async () => {
    const pool = await start(1);
    const first = pool.run({ op: "echo", value: "first", delayMs: 80 });
    const ac = new AbortController();
    const p = pool.run({ op: "echo", value: "p" }, { signal: ac.signal, priority: true, session: "s" });
    const n = pool.run({ op: "echo", value: "n" }, { session: "s" });
    ac.abort();
    expect(await codeOf(p)).toBe("AbortError");
    expect(pool.queued).toBe(1);
    expect(await first).toBe("first");
    expect(await n).toBe("n");
    expect(pool.queued).toBe(0);
  });

  test("an aborted queued job is removed and rejected", async () => {
    const pool = await start(1);
    const first = pool.run({ op: "echo", value: "first", delayMs: 80 });
    const ac = new AbortController();
    const second = pool.run({ op: "echo", value: "second" }, { signal: ac.signal });
    const third = pool.run({ op: "echo", value: "third" });
    ac.abort();
    expect(await codeOf(second)).toBe("AbortError");
    expect(pool.queued).toBe(1);
    expect(await first).toBe("first");
    expect(await third).toBe("third");
  });

  test("an aborted running job rejects at once and its worker stays usable", async () => {
    const pool = await start(1);
    const ac = new AbortController();
    const running = pool.run({ op: "echo", value: "slow", delayMs: 300 }, { signal: ac.signal });
    await Bun.sleep(30);
    expect(pool.busy).toBe(1);
    const t0 = performance.now();
    ac.abort(new GigasttError("timeout"));
    expect(await codeOf(running)).toBe("timeout");
    expect(performance.now() - t0).toBeLessThan(250);
    expect(await pool.run({ op: "echo", value: "next" })).toBe("next");
  });

  test("an already-aborted signal rejects without running", async () => {
    const pool = await start(1);
    expect(await codeOf(pool.run({ op: "echo", value: "x" }, { signal: AbortSignal.abort() }))).toBe("AbortError");
  });

  test("a crashing worker rejects its job with internal and is replaced", async () => {
    const pool = await start(1);
    const queued = pool.run({ op: "echo", value: "after crash" });
    const crashed = pool.run({ op: "crash" }, { session: "crash" });
    expect(await codeOf(crashed)).toBe("internal");
    expect(await queued).toBe("after crash");
    expect(pool.crashes).toBe(1);
    expect(await pool.run({ op: "echo", value: "again" })).toBe("again");
  });

  test("a crash whose replacement cannot load: alive 0, later jobs fail at once (never queued forever)", async () => {
    const marker = join(mkdtempSync(join(tmpdir(), "gigastt-pool-")), "fail");
    const pool = await start(1, { tag: "t", failInitIfExists: marker });
    expect(pool.alive).toBe(1);
    writeFileSync(marker, "");
    expect(await codeOf(pool.run({ op: "crash" }))).toBe("internal");
    for (let i = 0; i < 100 && pool.alive > 0; i++) await Bun.sleep(20);
    expect(pool.alive).toBe(0);
    const t0 = performance.now();
    expect(await codeOf(pool.run({ op: "echo", value: "x" }))).toBe("internal");
    expect(performance.now() - t0).toBeLessThan(100);
  });

  test("an uncaught error in a worker rejects its job with internal and the pool recovers", async () => {
    const pool = await start(1);
    const e = await pool.run({ op: "uncaught" }).catch((x) => x);
    expect(e).toBeInstanceOf(GigasttError);
    expect(e.code).toBe("internal");
    expect(e.message).toContain("uncaught failure in worker");
    expect(e.message).not.toContain("\n");
    expect(await pool.run({ op: "echo", value: "recovered" })).toBe("recovered");
  });

  test("close lets running jobs finish and rejects queued and later jobs with pool_closed", async () => {
    const pool = await start(1);
    const running = pool.run({ op: "echo", value: "running", delayMs: 60 });
    await Bun.sleep(10);
    const queued = pool.run({ op: "echo", value: "queued" });
    const closing = pool.close();
    expect(await codeOf(queued)).toBe("pool_closed");
    expect(await running).toBe("running");
    await Promise.all([closing, pool.close()]);
    expect(await codeOf(pool.run({ op: "echo", value: "late" }))).toBe("pool_closed");
  });
});
