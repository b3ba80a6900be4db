/**
 * Exclusive lock per model dir: `<dir>/.gigastt-download.lock`, created with O_EXCL and
 * holding `{pid, startedAt, procStart, host, pidns}`. A second process waits (polling) until the
 * holder is done; a lock whose holder is dead (or a zombie, or whose pid now belongs to another
 * process) is taken over. The holder also touches the lock every few seconds (a heartbeat):
 * a lock written on another host or in another pid namespace (another container sharing the
 * model volume, e.g. one that was killed and re-created) cannot be judged by its pid, so it is
 * taken over once its heartbeat has stopped for `staleAfterMs` (timed on the waiter's clock).
 * Takeover itself is serialised with a short-lived `.takeover` file so two waiters can never
 * both steal the same stale lock.
 */
import { closeSync, openSync, readFileSync, readlinkSync, statSync, unlinkSync, utimesSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { GigasttError } from "../errors.ts";

export const DIR_LOCK_FILE = ".gigastt-download.lock";
const UNREADABLE_GRACE_MS = 5000;
const HEARTBEAT_MS = 5000;
const STALE_AFTER_MS = 60_000;

export interface LockOwner {
  readonly pid: number;
  readonly startedAt: number;
  /** /proc/<pid>/stat start time (clock ticks since boot), Linux only: detects pid reuse */
  readonly procStart?: number;
  readonly host: string;
  /** the holder's pid namespace (`/proc/self/ns/pid` link), Linux only */
  readonly pidns?: string;
}

export interface DirLockOptions {
  /** polling interval while waiting (ms) */
  readonly pollMs?: number;
  /** give up waiting after this long (ms); default: wait as long as the holder lives */
  readonly waitTimeoutMs?: number;
  /** called once when another live process holds the lock */
  readonly onWait?: (owner: LockOwner | null) => void;
  readonly now?: () => number;
  /** how long an empty/garbled lock file is tolerated before it is taken over (ms) */
  readonly unreadableGraceMs?: number;
  /** stop waiting (throws `onAbort()`) */
  readonly signal?: AbortSignal;
  readonly onAbort?: () => Error;
  /** how often the holder touches the lock (ms) */
  readonly heartbeatMs?: number;
  /** a lock that cannot be judged by its pid is stale once untouched this long (ms) */
  readonly staleAfterMs?: number;
}

export interface DirLock {
  readonly path: string;
  release(): void;
}

/** /proc/<pid>/stat fields after the parenthesised command name (which may contain spaces). */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function procStartOf(pid: number): number | undefined {
  const v = Number(procStat(pid)?.[19]); // field 22: starttime
  return Number.isFinite(v) ? v : undefined;
}

/** Exited but not yet reaped by its parent (state Z or X): it will never release a lock. */
function isZombie(pid: number): boolean {
  const state = procStat(pid)?.[0]; // field 3: state
  return state === "Z" || state === "X";
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return undefined;
  }
}

/** Can this process tell from the pid whether the holder lives (same host, same pid namespace)? */
export function judgedByPid(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  const ours = pidNamespace();
  return owner.pidns === undefined || ours === undefined || owner.pidns === ours;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Is the process that wrote this lock gone (so the lock may be taken over)? */
export function isStale(owner: LockOwner | null): boolean {
  if (owner === null) return false; // unreadable/half-written: the writer is mid-create; re-check next poll
  if (!judgedByPid(owner)) return false; // another host or pid namespace: only its heartbeat can tell
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return true;
  if (!pidAlive(owner.pid) || isZombie(owner.pid)) return true;
  if (owner.procStart !== undefined) {
    const now = procStartOf(owner.pid);
    if (now !== undefined && now !== owner.procStart) return true; // pid reused by another process
  }
  return false;
}

function readOwner(path: string): LockOwner | null | "gone" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : null;
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === "number" && typeof o.host === "string" ? o : null;
  } catch {
    return null;
  }
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw lockError(path, e);
  }
  try {
    writeSync(fd, content);
  } catch (e) {
    // never leave an empty lock behind (it would make the next run wait for nobody)
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {}
    throw lockError(path, e);
  }
  closeSync(fd);
  return true;
}

function lockError(path: string, e: unknown): GigasttError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT")
    return new GigasttError("disk_full", `cannot write the download lock ${path}: no space left on the device`, { details: { errno: code } });
  return new GigasttError("model_invalid", `cannot create lock ${path}: ${code ?? (e as Error).message}`, { details: { errno: code } });
}

function ownerText(now: number): string {
  const procStart = procStartOf(process.pid);
  const pidns = pidNamespace();
  return JSON.stringify({ pid: process.pid, startedAt: now, ...(procStart !== undefined ? { procStart } : {}), host: hostname(), ...(pidns ? { pidns } : {}) });
}

function mtimeOf(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Removes a stale lock, serialised through `<lock>.takeover` so only one waiter steals it.
 * `stillStale` re-checks the lock as it is now (default: the same owner, and its pid is gone).
 */
function takeOver(path: string, seen: LockOwner, now: number, stillStale?: (cur: LockOwner) => boolean): boolean {
  const guard = `${path}.takeover`;
  if (!tryCreate(guard, ownerText(now))) {
    // another waiter is taking over right now, or one died doing it (dead owner, or an empty guard left for long)
    const g = readOwner(guard);
    const m = mtimeOf(guard);
    if (g !== "gone" && (isStale(g) || (g === null && m !== undefined && Date.now() - m > UNREADABLE_GRACE_MS))) {
      try {
        unlinkSync(guard);
      } catch {}
    }
    return false;
  }
  try {
    const cur = readOwner(path);
    const unreadable = cur === null && seen.pid === 0;
    const same = cur !== "gone" && cur !== null && cur.pid === seen.pid && cur.startedAt === seen.startedAt && cur.host === seen.host;
    if (unreadable || (same && (stillStale ?? isStale)(cur))) {
      try {
        unlinkSync(path);
      } catch {}
    }
  } finally {
    try {
      unlinkSync(guard);
    } catch {}
  }
  return true;
}

export async function acquireDirLock(dir: string, opts: DirLockOptions = {}): Promise<DirLock> {
  const path = join(dir, DIR_LOCK_FILE);
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 250;
  const t0 = now();
  const staleAfterMs = opts.staleAfterMs ?? STALE_AFTER_MS;
  let told = false;
  let unreadableSince: number | undefined;
  // the heartbeat of a lock that cannot be judged by its pid: its mtime, and since when (our clock) it has not moved
  let beat: { key: string; mtime: number | undefined; since: number } | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw opts.onAbort?.() ?? new GigasttError("shutting_down", `stopped waiting for the download lock ${path}`);
    if (tryCreate(path, ownerText(now()))) {
      let released = false;
      const heartbeat = setInterval(() => {
        try {
          const t = new Date();
          utimesSync(path, t, t);
        } catch {}
      }, opts.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref?.();
      return {
        path,
        release() {
          if (released) return;
          released = true;
          clearInterval(heartbeat);
          try {
            unlinkSync(path);
          } catch {}
        },
      };
    }
    const owner = readOwner(path);
    if (owner === "gone") continue;
    // a dead holder's lock is removed and the create retried; while another waiter is removing it, wait below
    let takingOver = false;
    if (owner !== null && isStale(owner)) {
      if (takeOver(path, owner, now())) continue;
      takingOver = true;
    } else if (owner !== null && !judgedByPid(owner)) {
      const key = `${owner.host}/${owner.pidns ?? ""}/${owner.pid}/${owner.startedAt}`;
      const mtime = mtimeOf(path);
      if (beat === undefined || beat.key !== key || beat.mtime !== mtime) beat = { key, mtime, since: now() };
      else if (now() - beat.since > staleAfterMs) {
        const seenMtime = mtime;
        if (takeOver(path, owner, now(), () => mtimeOf(path) === seenMtime)) {
          beat = undefined;
          continue;
        }
        takingOver = true;
      }
    } else beat = undefined;
    if (owner === null) {
      // empty/garbled lock: its writer died between create and write, or is writing right now
      unreadableSince ??= now();
      if (now() - unreadableSince > (opts.unreadableGraceMs ?? UNREADABLE_GRACE_MS)) {
        if (takeOver(path, { pid: 0, startedAt: 0, host: hostname() }, now())) {
          unreadableSince = undefined;
          continue;
        }
        takingOver = true;
      }
    } else unreadableSince = undefined;
    if (!told && !takingOver) {
      told = true;
      opts.onWait?.(owner);
    }
    if (opts.waitTimeoutMs !== undefined && now() - t0 > opts.waitTimeoutMs)
      throw new GigasttError("model_invalid", `timed out waiting for the download lock ${path} held by pid ${owner?.pid ?? "?"}`);
    await Bun.sleep(pollMs);
  }
}
