/**
 * Downloads one model file safely: streams into `<name>.partial` while hashing (SHA-256,
 * incremental, never the whole file in memory), resumes an existing partial with HTTP Range,
 * retries transient failures with exponential backoff + jitter (honouring Retry-After) within
 * a total waiting budget, verifies size and hash, fsyncs, then atomically renames into place.
 * Nothing unverified is ever installed under the final name.
 *
 * Partials: kept on retryable failures, on interruption and on ENOSPC (so a later run resumes);
 * removed on a checksum or size mismatch (a resumed partial that fails is retried once from zero).
 */
import { createReadStream, renameSync, statSync, truncateSync, unlinkSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { GigasttError } from "../errors.ts";
import type { Env } from "./env.ts";
import { HttpStatusError, type LinkedInfo, NoRouteError, RetryableError, TimeoutError, classifyNetworkError, httpGet, parseRetryAfter } from "./http.ts";
import { fsyncDir } from "./lockfile.ts";
import type { ProgressSink } from "./progress.ts";
import { formatBytes } from "./progress.ts";

export interface NetOptions {
  /** until response headers arrive (per hop) */
  readonly connectTimeoutMs: number;
  /** longest silence while the body streams */
  readonly idleTimeoutMs: number;
  /** total time spent waiting between retries (one budget for all files of a run) */
  readonly retryBudgetMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly maxRedirects: number;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_NET: NetOptions = Object.freeze({
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  retryBudgetMs: 60_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 16_000,
  maxRedirects: 10,
  random: Math.random,
  sleep: (ms: number) => Bun.sleep(ms),
});

export interface DownloadRequest {
  readonly url: string;
  readonly dir: string;
  readonly name: string;
  /** from the catalog; missing values are taken from X-Linked-Size / X-Linked-Etag */
  readonly size?: number;
  readonly sha256?: string;
  readonly env: Env;
  readonly token?: string;
  readonly authOrigin?: string;
  readonly net: NetOptions;
  readonly progress: ProgressSink;
  /** free bytes on the dir's filesystem */
  readonly freeBytes: (dir: string) => number;
  /** one-line notices (retries, restarts) */
  readonly notice: (s: string) => void;
  /** waiting time already spent on retries, shared by the files of one run (the budget is per run) */
  readonly waited?: { ms: number };
  /** aborts the transfer and any retry wait (the partial is kept for the next run) */
  readonly signal?: AbortSignal;
}

export interface DownloadResult {
  readonly size: number;
  readonly sha256: string;
  /** bytes received over the network in this call (resumed bytes not counted) */
  readonly fetched: number;
}

export function partialPath(dir: string, name: string): string {
  return join(dir, `${name}.partial`);
}

function sizeOf(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return -1;
  }
}

function removeQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {}
}

async function hashInto(hasher: Bun.CryptoHasher, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
}

/** Full SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  await hashInto(h, path);
  return h.digest("hex");
}

function parseContentRange(v: string | null): { start: number; end: number; total?: number } | undefined {
  const m = v ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), ...(m[3] !== "*" ? { total: Number(m[3]) } : {}) };
}

/** The download was stopped from outside (e.g. `serve` got SIGTERM): the partial stays for a later run. */
export function interruptedError(name: string): GigasttError {
  return new GigasttError("shutting_down", `${name}: the model download was interrupted; run again to resume it`);
}

/** Waits `ms` with `sleep`, or until `signal` aborts (then throws). */
async function sleepUnlessAborted(ms: number, sleep: (ms: number) => Promise<void>, signal: AbortSignal | undefined, name: string): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) throw interruptedError(name);
  let onAbort!: () => void;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([sleep(ms), aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  if (signal.aborted) throw interruptedError(name);
}

class Restart extends Error {
  constructor(readonly why: string) {
    super(why);
  }
}

function mismatch(req: DownloadRequest, what: string, partial: string): GigasttError {
  removeQuiet(partial);
  return new GigasttError("checksum_mismatch", `${req.name}: ${what} (${req.url}); the download was discarded, nothing was installed`, {
    details: { file: req.name, url: req.url },
  });
}

function diskFull(req: DownloadRequest, need: number, free: number, partial: string, kept: number): GigasttError {
  const keep = kept > 0 ? `; kept ${partial} (${formatBytes(kept)}) to resume` : "";
  return new GigasttError(
    "disk_full",
    `not enough disk space in ${req.dir} for ${req.name}: need ${formatBytes(need)} (${need} bytes), ${formatBytes(free)} (${free} bytes) free${keep}`,
    { details: { dir: req.dir, file: req.name, needBytes: need, freeBytes: free } },
  );
}

/** One attempt: request from the partial's current length, stream, verify, install. */
async function attempt(req: DownloadRequest, fetchedSoFar: { n: number }): Promise<DownloadResult> {
  const partial = partialPath(req.dir, req.name);
  let offset = Math.max(0, sizeOf(partial));
  if (req.size !== undefined && offset > req.size) {
    req.notice(`${req.name}: partial download is longer than the file; starting over`);
    removeQuiet(partial);
    offset = 0;
  }
  const controller = new AbortController();
  const onAbort = () => controller.abort(req.signal?.reason);
  req.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await attemptWith(req, controller, offset, fetchedSoFar);
  } finally {
    req.signal?.removeEventListener("abort", onAbort);
  }
}

async function attemptWith(req: DownloadRequest, controller: AbortController, offset0: number, fetchedSoFar: { n: number }): Promise<DownloadResult> {
  const partial = partialPath(req.dir, req.name);
  let offset = offset0;
  const { res, linked } = await httpGet(req.url, {
    env: req.env,
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    token: req.token,
    authOrigin: req.authOrigin,
    connectTimeoutMs: req.net.connectTimeoutMs,
    maxRedirects: req.net.maxRedirects,
    controller,
  });
  try {
    const status = res.status;
    if (status === 408 || status === 429 || status >= 500) {
      throw new RetryableError(`HTTP ${status}${res.statusText ? ` ${res.statusText}` : ""}`, parseRetryAfter(res.headers.get("retry-after")));
    }
    if (status === 416 && offset > 0) {
      removeQuiet(partial);
      throw new Restart("the server refused to resume (HTTP 416)");
    }
    if (status !== 200 && status !== 206) throw new HttpStatusError(req.url, status, res.statusText);

    let serverTotal: number | undefined;
    if (status === 206) {
      const cr = parseContentRange(res.headers.get("content-range"));
      if (!cr || offset === 0 || cr.start !== offset) {
        removeQuiet(partial);
        throw new Restart("the server answered a different range");
      }
      serverTotal = cr.total;
    } else {
      if (offset > 0) {
        req.notice(`${req.name}: the server does not support resuming; downloading from the start`);
        truncateSync(partial, 0);
        offset = 0;
      }
      const cl = res.headers.get("content-length");
      if (cl && /^\d+$/.test(cl)) serverTotal = Number(cl);
    }
    return await stream(req, res, controller, linked, offset, serverTotal, fetchedSoFar);
  } finally {
    controller.abort();
  }
}

async function stream(
  req: DownloadRequest,
  res: Response,
  controller: AbortController,
  linked: LinkedInfo,
  offset: number,
  serverTotal: number | undefined,
  fetchedSoFar: { n: number },
): Promise<DownloadResult> {
  const partial = partialPath(req.dir, req.name);
  // what the bytes must be: the catalog first, then the server's LFS metadata
  if (req.size !== undefined && linked.size !== undefined && linked.size !== req.size)
    throw mismatch(req, `size mismatch: the server reports ${linked.size} bytes, the catalog expects ${req.size}`, partial);
  if (req.sha256 && linked.sha256 && linked.sha256 !== req.sha256)
    throw mismatch(req, `SHA-256 mismatch: the server reports ${linked.sha256}, the catalog expects ${req.sha256}`, partial);
  const size = req.size ?? linked.size;
  if (size !== undefined && serverTotal !== undefined && serverTotal !== size)
    throw mismatch(req, `size mismatch: the server sends ${serverTotal} bytes, expected ${size}`, partial);
  const sha = req.sha256 ?? linked.sha256;
  if (!sha) {
    throw new GigasttError(
      "model_invalid",
      `${req.name}: cannot verify the download: no SHA-256 in the catalog and the server sent none (X-Linked-Etag) for ${req.url}; use --manifest with sha256`,
      { details: { file: req.name, url: req.url } },
    );
  }
  const total = size ?? serverTotal;
  if (total !== undefined) {
    const need = total - offset;
    const free = req.freeBytes(req.dir);
    if (need > free) throw diskFull(req, need, free, partial, offset);
  }

  const hasher = new Bun.CryptoHasher("sha256");
  if (offset > 0) await hashInto(hasher, partial);
  const fh = await open(partial, offset > 0 ? "a" : "w", 0o644);
  let received = offset;
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await fh.close().catch(() => {});
    }
  };
  req.progress.start(req.name, total, offset);
  let idle: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new TimeoutError(`no data for ${req.net.idleTimeoutMs / 1000} s`)), req.net.idleTimeoutMs);
  };
  try {
    if (!res.body) throw new RetryableError("empty response body");
    const reader = res.body.getReader();
    arm();
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw classifyNetworkError(controller.signal.aborted ? controller.signal.reason : e, req.url);
      }
      if (chunk.done) break;
      const bytes = chunk.value;
      if (total !== undefined && received + bytes.length > total)
        throw mismatch(req, `size mismatch: the server sent more than the expected ${total} bytes`, partial);
      try {
        for (let off = 0; off < bytes.length; ) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOSPC" || code === "EDQUOT") {
          await close();
          const kept = Math.max(0, sizeOf(partial));
          const need = (total ?? kept + bytes.length) - kept;
          throw diskFull(req, need, req.freeBytes(req.dir), partial, kept);
        }
        throw e;
      }
      hasher.update(bytes);
      received += bytes.length;
      fetchedSoFar.n += bytes.length;
      req.progress.update(received);
      arm();
    }
    clearTimeout(idle);
    if (total !== undefined && received < total) throw new RetryableError(`connection closed after ${received} of ${total} bytes`);
    await fh.sync();
    // the hash covers the bytes this process wrote; the file must hold exactly those (nothing else wrote to it)
    const onDisk = (await fh.stat()).size;
    await close();
    if (onDisk !== received) {
      removeQuiet(partial);
      throw new Restart(`the partial file changed on disk during the download (${onDisk} bytes, ${received} written)`);
    }
    const digest = hasher.digest("hex");
    if (digest !== sha) {
      if (offset > 0) {
        removeQuiet(partial);
        throw new Restart(`the resumed download failed its SHA-256 check`);
      }
      throw mismatch(req, `SHA-256 mismatch: expected ${sha}, got ${digest}`, partial);
    }
    renameSync(partial, join(req.dir, req.name));
    fsyncDir(req.dir);
    req.progress.done();
    return { size: received, sha256: digest, fetched: fetchedSoFar.n };
  } catch (e) {
    req.progress.interrupt();
    throw e;
  } finally {
    clearTimeout(idle);
    await close();
  }
}

/** Backoff before retry number `n` (0-based): base·2ⁿ, capped, with ±50 % jitter. */
export function backoffMs(n: number, net: Pick<NetOptions, "backoffBaseMs" | "backoffMaxMs" | "random">): number {
  const raw = Math.min(net.backoffMaxMs, net.backoffBaseMs * 2 ** n);
  return Math.round(raw * (0.5 + net.random()));
}

/**
 * Downloads `req.name` into `req.dir`. Throws GigasttError: checksum_mismatch (size/hash),
 * disk_full, model_missing (HTTP 4xx), network_error (retries exhausted), model_invalid;
 * or NoRouteError (DNS failure / connection refused: the caller reports it as offline).
 */
export async function downloadFile(req: DownloadRequest): Promise<DownloadResult> {
  const spent = req.waited ?? { ms: 0 };
  let retries = 0;
  let restarts = 0;
  const fetched = { n: 0 };
  let lastProgress = 0;
  for (;;) {
    if (req.signal?.aborted) throw interruptedError(req.name);
    try {
      return await attempt(req, fetched);
    } catch (e0) {
      if (req.signal?.aborted) throw interruptedError(req.name);
      const e = e0 instanceof GigasttError || e0 instanceof Restart ? e0 : classifyNetworkError(e0, req.url);
      if (e instanceof Restart) {
        if (++restarts > 2) throw new GigasttError("network_error", `${req.name}: ${e.why}, again after starting over (${req.url})`);
        req.notice(`${req.name}: ${e.why}; starting over`);
        continue;
      }
      if (e instanceof HttpStatusError) {
        const hint = e.status === 401 || e.status === 403 ? " (set HF_TOKEN if the repository needs authentication)" : "";
        throw new GigasttError("model_missing", `${req.name}: download refused: ${e.message}${hint}`, {
          details: { file: req.name, url: req.url, status: e.status },
        });
      }
      if (e instanceof RetryableError) {
        if (fetched.n > lastProgress) {
          retries = 0; // progress was made: start the backoff over (the waiting budget still counts)
          lastProgress = fetched.n;
        }
        const delay = e.retryAfterMs ?? backoffMs(retries, req.net);
        if (spent.ms + delay > req.net.retryBudgetMs) {
          const asked = e.retryAfterMs !== undefined ? ` (the server asked to wait ${(e.retryAfterMs / 1000).toFixed(1)} s)` : "";
          throw new GigasttError(
            "network_error",
            `${req.name}: download failed: ${e.message}${asked}; gave up after ${(spent.ms / 1000).toFixed(1)} s of retries (budget ${req.net.retryBudgetMs / 1000} s) from ${req.url}; run again to resume`,
            { details: { file: req.name, url: req.url } },
          );
        }
        req.notice(`${req.name}: ${e.message}; retrying in ${(delay / 1000).toFixed(1)} s`);
        await sleepUnlessAborted(delay, req.net.sleep, req.signal, req.name);
        spent.ms += delay;
        retries++;
        continue;
      }
      if (e instanceof NoRouteError || e instanceof GigasttError) throw e;
      throw e;
    }
  }
}
