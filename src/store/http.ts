/**
 * One HTTP GET for the store: manual redirects (collecting Hugging Face's `X-Linked-Etag` /
 * `X-Linked-Size` from whichever hop sends them), a connect timeout (until response headers),
 * the bearer token only for the endpoint's own origin, the proxy chosen per URL, and failures
 * sorted into "no route" (fail now), "retryable" and "fatal".
 */
import type { Env } from "./env.ts";
import { proxyFor } from "./env.ts";

/** DNS failure or connection refused: the host cannot be reached at all. */
export class NoRouteError extends Error {
  override readonly name = "NoRouteError";
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${new URL(url).host}: ${reason}`);
  }
}

/** A failure worth retrying (network error, timeout, 5xx, 408, 429, truncated body). */
export class RetryableError extends Error {
  override readonly name = "RetryableError";
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A definite HTTP refusal (4xx other than 408/429). */
export class HttpStatusError extends Error {
  override readonly name = "HttpStatusError";
  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
  ) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ""} from ${url}`);
  }
}

export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

export interface LinkedInfo {
  /** LFS SHA-256 (`X-Linked-Etag`, quotes and W/ stripped), when it is 64 hex digits */
  sha256?: string;
  /** `X-Linked-Size` */
  size?: number;
}

export interface GetOptions {
  readonly env: Env;
  readonly headers: Record<string, string>;
  /** `Authorization: Bearer …` value, sent only to `authOrigin` */
  readonly token?: string;
  readonly authOrigin?: string;
  readonly connectTimeoutMs: number;
  readonly maxRedirects: number;
  /** aborting it aborts the request and the body */
  readonly controller: AbortController;
}

export interface GetResult {
  readonly res: Response;
  readonly url: string;
  readonly linked: LinkedInfo;
}

const NO_ROUTE_CODES = new Set(["ECONNREFUSED", "ConnectionRefused", "ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_NODATA", "DNSError", "EHOSTUNREACH", "ENETUNREACH"]);

export function parseLinkedEtag(v: string | null): string | undefined {
  if (!v) return undefined;
  const s = v.trim().replace(/^W\//i, "").replace(/^"|"$/g, "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(s) ? s : undefined;
}

/** `Retry-After`: delta seconds or an HTTP date → ms (undefined when absent/unparseable). */
export function parseRetryAfter(v: string | null, now: number = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const d = Date.parse(t);
  return Number.isFinite(d) ? Math.max(0, d - now) : undefined;
}

function errCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === "string" ? c : undefined;
}

function noRouteReason(code: string): string {
  if (code === "ConnectionRefused" || code === "ECONNREFUSED") return "connection refused";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return `no route to the host (${code})`;
  return `${code} (DNS lookup failed)`;
}

/** Classifies a thrown fetch/body error. */
export function classifyNetworkError(e: unknown, url: string): Error {
  if (e instanceof NoRouteError || e instanceof RetryableError || e instanceof HttpStatusError) return e;
  if (e instanceof TimeoutError) return new RetryableError(e.message);
  const code = errCode(e);
  if (code && NO_ROUTE_CODES.has(code)) return new NoRouteError(url, noRouteReason(code));
  const msg = e instanceof Error ? e.message : String(e);
  return new RetryableError(`${code ? `${code}: ` : ""}${msg}`);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function httpGet(url: string, opts: GetOptions): Promise<GetResult> {
  const linked: LinkedInfo = {};
  let current = url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { "accept-encoding": "identity", ...opts.headers };
    if (opts.token && opts.authOrigin && new URL(current).origin === opts.authOrigin) headers.authorization = `Bearer ${opts.token}`;
    const proxy = proxyFor(current, opts.env);
    const timer = setTimeout(
      () => opts.controller.abort(new TimeoutError(`no response from ${new URL(current).host} within ${opts.connectTimeoutMs / 1000} s`)),
      opts.connectTimeoutMs,
    );
    let res: Response;
    try {
      res = await fetch(current, { headers, redirect: "manual", signal: opts.controller.signal, ...(proxy ? { proxy } : {}) });
    } catch (e) {
      const reason = opts.controller.signal.aborted ? opts.controller.signal.reason : e;
      throw classifyNetworkError(reason, current);
    } finally {
      clearTimeout(timer);
    }
    const etag = parseLinkedEtag(res.headers.get("x-linked-etag"));
    if (etag) linked.sha256 = etag;
    const lsize = res.headers.get("x-linked-size");
    if (lsize && /^\d+$/.test(lsize.trim())) linked.size = Number(lsize.trim());
    if (REDIRECTS.has(res.status)) {
      const loc = res.headers.get("location");
      await res.body?.cancel().catch(() => {});
      if (!loc) throw new RetryableError(`HTTP ${res.status} without Location from ${current}`);
      if (hop >= opts.maxRedirects) throw new HttpStatusError(url, res.status, `too many redirects (more than ${opts.maxRedirects})`);
      current = new URL(loc, current).toString();
      continue;
    }
    return { res, url: current, linked };
  }
}
