import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { DIR_LOCK_FILE, acquireDirLock, isStale, judgedByPid } from "./dirlock.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gigastt-dirlock-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** pid of a process that has exited */
function deadPid(): number {
  const p = Bun.spawnSync(["true"]);
  return p.pid;
}

describe("per-dir download lock", () => {
  test("is exclusive: a second holder waits (told once) until the first releases", async () => {
    const a = await acquireDirLock(dir);
    const owner = JSON.parse(readFileSync(join(dir, DIR_LOCK_FILE), "utf8"));
    expect(owner.pid).toBe(process.pid);
    expect(owner.host).toBe(hostname());
    let waits = 0;
    let got = false;
    const pb = acquireDirLock(dir, { pollMs: 5, onWait: () => waits++ }).then((l) => {
      got = true;
      return l;
    });
    await Bun.sleep(60);
    expect(got).toBe(false);
    a.release();
    const b = await pb;
    expect(got).toBe(true);
    expect(waits).toBe(1);
    b.release();
    expect(existsSync(join(dir, DIR_LOCK_FILE))).toBe(false);
  });

  test("a lock left by a dead process is taken over at once", async () => {
    writeFileSync(join(dir, DIR_LOCK_FILE), JSON.stringify({ pid: deadPid(), startedAt: 1, host: hostname() }));
    let waited = false;
    const l = await acquireDirLock(dir, { pollMs: 5, waitTimeoutMs: 1000, onWait: () => (waited = true) });
    expect(waited).toBe(false);
    expect(JSON.parse(readFileSync(l.path, "utf8")).pid).toBe(process.pid);
    l.release();
  });

  test("staleness: live pid holds, dead pid or reused pid (other start time) does not; other hosts are left to the heartbeat", () => {
    expect(isStale({ pid: process.pid, startedAt: 0, host: hostname() })).toBe(false);
    expect(isStale({ pid: deadPid(), startedAt: 0, host: hostname() })).toBe(true);
    expect(isStale({ pid: process.pid, startedAt: 0, procStart: -5, host: hostname() })).toBe(process.platform === "linux");
    expect(isStale({ pid: deadPid(), startedAt: 0, host: `${hostname()}-elsewhere` })).toBe(false);
  });

  test("a live holder is waited for, up to waitTimeoutMs", async () => {
    writeFileSync(join(dir, DIR_LOCK_FILE), JSON.stringify({ pid: process.pid, startedAt: 1, host: hostname() }));
    await expect(acquireDirLock(dir, { pollMs: 5, waitTimeoutMs: 50 })).rejects.toThrow("timed out waiting");
  });

  test("a takeover guard left empty by a taker that died is cleared after the grace period (no spinning meanwhile)", async () => {
    writeFileSync(join(dir, DIR_LOCK_FILE), JSON.stringify({ pid: deadPid(), startedAt: 1, host: hostname() }));
    const guard = join(dir, `${DIR_LOCK_FILE}.takeover`);
    writeFileSync(guard, "");
    const old = new Date(Date.now() - 60_000);
    utimesSync(guard, old, old);
    const l = await acquireDirLock(dir, { pollMs: 5, waitTimeoutMs: 2000 });
    expect(JSON.parse(readFileSync(l.path, "utf8")).pid).toBe(process.pid);
    expect(existsSync(guard)).toBe(false);
    l.release();
  });

  test("while another waiter holds the takeover guard, a waiter polls (the event loop keeps running)", async () => {
    writeFileSync(join(dir, DIR_LOCK_FILE), JSON.stringify({ pid: deadPid(), startedAt: 1, host: hostname() }));
    const guard = join(dir, `${DIR_LOCK_FILE}.takeover`);
    writeFileSync(guard, JSON.stringify({ pid: process.pid, startedAt: 1, host: hostname() })); // a live taker
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      await expect(acquireDirLock(dir, { pollMs: 5, waitTimeoutMs: 100 })).rejects.toThrow("timed out waiting");
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(3);
  });

  test("an empty lock file (writer died before writing) is taken over after the grace period", async () => {
    writeFileSync(join(dir, DIR_LOCK_FILE), "");
    const l = await acquireDirLock(dir, { pollMs: 5, unreadableGraceMs: 30, waitTimeoutMs: 2000 });
    expect(JSON.parse(readFileSync(l.path, "utf8")).pid).toBe(process.pid);
    l.release();
  });
});

describe("locks that a pid cannot judge, and zombies", () => {
  test("a zombie holder (exited, not yet reaped) counts as dead", async () => {
    // the shell's background child is re-parented to `sleep`, which never reaps it
    const p = Bun.spawn(["sh", "-c", "sleep 0 & echo $!; exec sleep 5"], { stdout: "pipe" });
    try {
      const reader = p.stdout.getReader();
      const pid = Number(new TextDecoder().decode((await reader.read()).value).trim());
      reader.releaseLock();
      if (process.platform !== "linux") return;
      const t0 = Date.now();
      while (!/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"))) {
        if (Date.now() - t0 > 5000) throw new Error("no zombie");
        await Bun.sleep(5);
      }
      expect(isStale({ pid, startedAt: 0, host: hostname() })).toBe(true);
      writeFileSync(join(dir, DIR_LOCK_FILE), JSON.stringify({ pid, startedAt: 1, host: hostname() }));
      const l = await acquireDirLock(dir, { pollMs: 5, waitTimeoutMs: 1000 });
      l.release();
    } finally {
      p.kill();
    }
  });

  test("another host's lock (a re-created container on a shared volume) is taken over once its heartbeat stops", async () => {
    const path = join(dir, DIR_LOCK_FILE);
    writeFileSync(path, JSON.stringify({ pid: 1, startedAt: 1, host: `${hostname()}-old-container` }));
    let waits = 0;
    const t0 = Date.now();
    const l = await acquireDirLock(dir, { pollMs: 5, staleAfterMs: 150, waitTimeoutMs: 5000, onWait: () => waits++ });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(waits).toBe(1);
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    l.release();
  });

  test("another host's lock whose heartbeat goes on is waited for", async () => {
    const path = join(dir, DIR_LOCK_FILE);
    writeFileSync(path, JSON.stringify({ pid: 1, startedAt: 1, host: `${hostname()}-elsewhere` }));
    let n = 0;
    const beat = setInterval(() => {
      const t = new Date(Date.now() + ++n * 1000); // a distinct mtime each beat
      utimesSync(path, t, t);
    }, 20);
    try {
      await expect(acquireDirLock(dir, { pollMs: 5, staleAfterMs: 400, waitTimeoutMs: 1000 })).rejects.toThrow("timed out waiting");
    } finally {
      clearInterval(beat);
    }
  });

  test("same host, another pid namespace (another container): judged by the heartbeat, not the pid", async () => {
    if (process.platform !== "linux") return;
    const owner = { pid: process.pid, startedAt: 1, host: hostname(), pidns: "pid:[1]" };
    expect(judgedByPid(owner)).toBe(false);
    expect(isStale(owner)).toBe(false); // its pid number says nothing here
    writeFileSync(join(dir, DIR_LOCK_FILE), JSON.stringify(owner));
    const l = await acquireDirLock(dir, { pollMs: 5, staleAfterMs: 100, waitTimeoutMs: 5000 });
    const mine = JSON.parse(readFileSync(l.path, "utf8"));
    expect(mine.pidns).toMatch(/^pid:\[\d+\]$/);
    expect(judgedByPid(mine)).toBe(true);
    l.release();
  });

  test("the holder touches its lock (heartbeat) until released", async () => {
    const l = await acquireDirLock(dir, { heartbeatMs: 10 });
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(l.path, old, old);
    await Bun.sleep(60);
    expect(Date.now() - statSync(l.path).mtimeMs).toBeLessThan(1000);
    l.release();
    expect(existsSync(l.path)).toBe(false);
  });
});
