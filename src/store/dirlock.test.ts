import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { DIR_LOCK_FILE, acquireDirLock, isStale } from "./dirlock.ts";

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

  test("staleness: live pid holds, dead pid or reused pid (other start time) does not; other hosts are trusted", () => {
    expect(isStale({ pid: process.pid, startedAt: 0, host: hostname() })).toBe(false);
    expect(isStale({ pid: deadPid(), startedAt: 0, host: hostname() })).toBe(true);
    expect(isStale({ pid: process.pid, startedAt: 0, procStart: -5, host: hostname() })).toBe(process.platform === "linux");
    expect(isStale({ pid: deadPid(), startedAt: 0, host: `${hostname()}-elsewhere` })).toBe(false);
  });

  test("a live holder is waited for, up to waitTimeoutMs", async () => {
    writeFileSync(join(dir, DIR_LOCK_FILE), JSON.stringify({ pid: process.pid, startedAt: 1, host: hostname() }));
    await expect(acquireDirLock(dir, { pollMs: 5, waitTimeoutMs: 50 })).rejects.toThrow("timed out waiting");
  });

  test("an empty lock file (writer died before writing) is taken over after the grace period", async () => {
    writeFileSync(join(dir, DIR_LOCK_FILE), "");
    const l = await acquireDirLock(dir, { pollMs: 5, unreadableGraceMs: 30, waitTimeoutMs: 2000 });
    expect(JSON.parse(readFileSync(l.path, "utf8")).pid).toBe(process.pid);
    l.release();
  });
});
