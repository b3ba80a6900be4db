/**
 * The layers every request passes before a route runs, as Elysia hooks on
 * the root app (outermost first): request id + security headers → drain
 * (503 `shutting_down`) → Host allowlist (421) → Origin allowlist (403) →
 * rate limit (429) → CORS preflight (204) → declared body size (413).
 * `/health` and `/ready` skip Host, Origin and rate limit. The same hooks
 * render every error and record request metrics and the access log line.
 */
import type { ConsolaInstance } from "consola";
import type { Server } from "bun";
import type { Elysia } from "elysia";
import { GigasttError } from "../errors.ts";
import type { RequestContext, ServerDeps } from "./deps.ts";
import { errorResponse, fromFrameworkError } from "./errors.ts";
import { openAiErrorResponse } from "./openai/render.ts";
import { type Keyring, selectProtocol, WWW_AUTHENTICATE } from "./auth.ts";
import type { RateLimiter } from "./rate-limit.ts";
import { withFields } from "./request-log.ts";
import { createRefusalThrottle } from "./refusal-log.ts";
import { pathOf } from "./url.ts";
import { OPENAI_TRANSCRIPTIONS_PATH } from "./routes/openai.ts";
import { createClientIpResolver, createHostPolicy, createOriginPolicy, HSTS, isSameOrigin, type OriginDecision, requestIdFor, SECURITY_HEADERS, wantsHsts } from "./security.ts";

/** Paths that skip Host/Origin/rate-limit checks (probes). */
export const EXEMPT_PATHS: ReadonlySet<string> = new Set(["/health", "/ready"]);
/** Paths open without an API key besides the probes: the page (it asks for the key) and its audio worklet. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(["/", "/ui/worklet.js"]);

interface RequestState extends RequestContext {
  readonly path: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  /** the request's Content-Length header */
  readonly declaredBytes: string | null;
  /** status of a response the platform produced itself (rejections, errors) */
  status?: number;
  /** metrics already recorded */
  recorded?: boolean;
  /** access log line already written */
  logged?: boolean;
  /** the error code of a response the platform rendered */
  code?: string;
  /** the response body is streaming (SSE): the access line waits for its end */
  streaming?: boolean;
}

export interface PlatformOptions {
  deps: ServerDeps;
  /** the current rate limiter (null = off); may change on SIGHUP */
  limiter: () => RateLimiter | null;
  /** the listening port (after bind) */
  port: () => number;
  /** method → paths, from the mounted routes (for 405 vs 404 and metrics labels) */
  routes: () => ReadonlyMap<string, ReadonlySet<string>>;
  /** paths of the WebSocket routes (a plain GET of one → 426) */
  wsPaths?: () => ReadonlySet<string>;
  /** clock of the refusal-log throttle (ms) */
  now?: () => number;
  /** API keys (disabled when empty) */
  keyring: Keyring;
}

export interface Platform {
  /** install the hooks on the root app, before any route is mounted */
  install<A extends Elysia<any, any, any, any, any, any, any>>(app: A): A;
  context(request: Request): RequestContext;
}

export function createPlatform(opts: PlatformOptions): Platform {
  const { deps } = opts;
  const cfg = deps.config;
  const originPolicy = createOriginPolicy({ allowOrigin: cfg.allowOrigin, allowAny: cfg.corsAllowAny });
  const hostPolicy = createHostPolicy({ bindHost: cfg.host, wildcard: cfg.hostIsWildcard, allowHost: cfg.allowHost, port: opts.port });
  const clientIp = createClientIpResolver(cfg.trustProxy);
  const states = new WeakMap<Request, RequestState>();
  const refusals = createRefusalThrottle(opts.now ? { now: opts.now } : {});

  function newState(request: Request, peer: string | null): RequestState {
    const { ip, viaTrustedProxy } = clientIp(peer, request.headers);
    const id = requestIdFor(request.headers.get("x-request-id"));
    const headers: Record<string, string> = { ...SECURITY_HEADERS, "x-request-id": id };
    if (wantsHsts(viaTrustedProxy, request.headers)) headers["strict-transport-security"] = HSTS;
    let log: ConsolaInstance | undefined;
    const path = pathOf(request.url);
    return {
      id,
      ip,
      path,
      method: request.method,
      headers,
      startedAt: performance.now(),
      access: { bytesIn: null, audioSeconds: null, inferenceSeconds: 0 },
      declaredBytes: request.headers.get("content-length"),
      get log() {
        return (log ??= withFields(deps.log, { request_id: id }));
      },
    };
  }

  function routeLabel(method: string, path: string): string {
    if (opts.routes().get(method)?.has(path)) return path;
    for (const set of opts.routes().values()) if (set.has(path)) return path;
    return "unmatched";
  }

  function isKnownPath(path: string): boolean {
    for (const set of opts.routes().values()) if (set.has(path)) return true;
    return false;
  }

  function allowedMethods(path: string): string[] {
    const out: string[] = [];
    for (const [m, set] of opts.routes()) if (set.has(path)) out.push(m === "WS" ? "GET" : m);
    if (out.length && !EXEMPT_PATHS.has(path)) out.push("OPTIONS");
    return [...new Set(out)].sort();
  }

  function finish(state: RequestState, method: string, status: number, route: string | undefined): void {
    if (state.recorded) return;
    state.recorded = true;
    const seconds = (performance.now() - state.startedAt) / 1000;
    deps.metrics.httpRequest(method, route ?? routeLabel(method, state.path), status, seconds);
  }

  /**
   * The access log line: one per request at info (probes at debug), 4xx/5xx
   * included; transcriptions add the audio seconds and the real-time factor.
   * Written once the response body is complete (an SSE stream: at its end).
   */
  function accessLog(state: RequestState, status: number, bytesOut: number | null, extra: Record<string, unknown> = {}): void {
    if (state.logged) return;
    state.logged = true;
    const declared = state.declaredBytes !== null && /^\d+$/.test(state.declaredBytes) ? Number(state.declaredBytes) : null;
    const a = state.access;
    const fields: Record<string, unknown> = {
      method: state.method,
      route: routeLabel(state.method, state.path),
      status,
      duration_ms: Math.round((performance.now() - state.startedAt) * 10) / 10,
      bytes_in: a.bytesIn ?? declared ?? 0,
      bytes_out: bytesOut,
      client: state.ip,
      ...(state.code ? { code: state.code } : {}),
      ...extra,
    };
    if (a.audioSeconds !== null) {
      fields.audio_seconds = Math.round(a.audioSeconds * 1000) / 1000;
      fields.rtf = a.audioSeconds > 0 ? Math.round((a.inferenceSeconds / a.audioSeconds) * 10_000) / 10_000 : null;
    }
    state.log[EXEMPT_PATHS.has(state.path) ? "debug" : "info"]("request", fields);
  }

  const measured = new WeakSet<Response>();

  /**
   * `res` with its body counted for the access line: an SSE stream through a
   * counting pass-through (the line is written when it ends or the client
   * leaves); anything else is read once (bodies here are small: JSON, text,
   * subtitles) and handed on as bytes.
   */
  function measure(state: RequestState, res: Response): Response | Promise<Response> {
    if (measured.has(res) || state.logged) return res;
    if (res.body === null) {
      accessLog(state, res.status, 0);
      return res;
    }
    if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      state.streaming = true;
      const reader = res.body.getReader();
      let n = 0;
      const out = new Response(
        new ReadableStream<Uint8Array>(
          {
            async pull(c) {
              try {
                const { done, value } = await reader.read();
                if (done) {
                  accessLog(state, res.status, n);
                  c.close();
                  return;
                }
                n += value.byteLength;
                c.enqueue(value);
              } catch (e) {
                accessLog(state, res.status, n, { stream_error: true });
                c.error(e);
              }
            },
            // the client left mid-stream: the line says so, with what was sent
            cancel(why) {
              accessLog(state, res.status, n, { client_gone: true });
              return reader.cancel(why);
            },
          },
          { highWaterMark: 0 },
        ),
        { status: res.status, statusText: res.statusText, headers: res.headers },
      );
      measured.add(out);
      return out;
    }
    return res.arrayBuffer().then((buf) => {
      accessLog(state, res.status, buf.byteLength);
      const out = new Response(buf, { status: res.status, statusText: res.statusText, headers: res.headers });
      measured.add(out);
      return out;
    });
  }

  /** a response produced in onRequest: Elysia runs no later hook for it */
  function early(state: RequestState, request: Request, res: Response): Response | Promise<Response> {
    finish(state, request.method, res.status, undefined);
    return measure(state, res);
  }

  /** render a platform error; the caller returns it */
  function reject(state: RequestState, err: GigasttError, request: Request, extra?: Record<string, string>, logFields?: Record<string, unknown>): Response {
    state.status = err.http;
    state.code = err.code;
    deps.metrics.error(err.code);
    // OpenAI SDK clients read errors in OpenAI's shape, also when the platform refuses the request
    const res = state.path === OPENAI_TRANSCRIPTIONS_PATH ? openAiErrorResponse(err, { ...state.headers, ...extra }) : errorResponse(err, { ...state.headers, ...extra });
    const level = err.http >= 500 && err.code !== "shutting_down" && err.code !== "timeout" && err.code !== "pool_closed" && err.code !== "not_ready" ? "error" : err.http === 403 || err.http === 421 ? "warn" : "debug"; // 429s are counted, not logged loudly (floods)
    if (level === "warn") {
      // refused requests (forged Origin/Host) are a flood risk: one line per client and code per minute, with a count
      const count = refusals.take(`${state.ip ?? "?"} ${err.code}`);
      if (count === null) {
        state.logged = true; // its access line too: the metrics still count it
        return res;
      }
      state.log.warn("request rejected", { code: err.code, status: err.http, method: request.method, path: state.path, ip: state.ip, ...logFields, ...(count > 1 ? { count } : {}) });
      return res;
    }
    state.log[level]("request rejected", { code: err.code, status: err.http, method: request.method, path: state.path, ip: state.ip, ...logFields });
    return res;
  }

  function corsHeaders(d: OriginDecision): Record<string, string> {
    if (!d.allowed || d.cors === null) return {};
    return {
      "access-control-allow-origin": d.cors,
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": "*",
      "access-control-expose-headers": "X-Request-Id, Retry-After",
      "access-control-max-age": "600",
      ...(d.cors === "*" ? {} : { vary: "Origin" }),
    };
  }

  function gateRequest(request: Request, server: Server<unknown> | null | undefined, setHeaders: Record<string, string>): Response | undefined {
    const state = newState(request, server?.requestIP(request)?.address ?? null);
    states.set(request, state);
    const exempt = EXEMPT_PATHS.has(state.path);
    // long uploads and long inference must not hit Bun's idle timeout
    if (request.method === "POST") server?.timeout(request, 0);
    if (deps.lifecycle.draining && !exempt) return reject(state, new GigasttError("shutting_down"), request);
    if (request.method === "GET" && opts.wsPaths?.().has(state.path)) {
      // a plain GET of a WebSocket endpoint: say how to talk to it (not 404)
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
        return reject(state, new GigasttError("upgrade_required"), request, { upgrade: "websocket", connection: "Upgrade" });
      // RFC 6455 §4.1: an upgrade is HTTP/1.1 with a Host (an HTTP/1.0 request may have none)
      if (!request.headers.get("host")) return reject(state, new GigasttError("bad_message", "A WebSocket upgrade needs HTTP/1.1 and a Host header"), request);
    }
    if (!exempt) {
      const host = request.headers.get("host");
      if (!hostPolicy(host)) return reject(state, new GigasttError("host_not_allowed"), request, undefined, { host });
      const origin = request.headers.get("origin");
      // the built-in page calls its own origin: allowed wherever it was loaded from (no CORS headers needed)
      const decision: OriginDecision = isSameOrigin(origin, host) ? { allowed: true, cors: null } : originPolicy(origin);
      if (!decision.allowed) return reject(state, new GigasttError("origin_denied"), request, undefined, { origin });
      Object.assign(state.headers, corsHeaders(decision));
      const limiter = opts.limiter();
      if (limiter) {
        const d = limiter.take(state.ip);
        if (!d.allowed) {
          deps.metrics.rateLimited();
          return reject(state, new GigasttError("rate_limited", undefined, { details: { retry_after_ms: d.retryAfterMs } }), request);
        }
      }
      if (request.method === "OPTIONS") {
        if (!isKnownPath(state.path)) return reject(state, new GigasttError("not_found"), request);
        state.status = 204;
        return new Response(null, { status: 204, headers: { ...state.headers, allow: allowedMethods(state.path).join(", ") } });
      }
      const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
      if (!OPEN_PATHS.has(state.path)) {
        const auth = opts.keyring.check(request.headers, upgrade);
        if (!auth.ok) return reject(state, new GigasttError("unauthorized"), request, { "www-authenticate": WWW_AUTHENTICATE });
        if (auth.key) state.log.debug("api key accepted", { key: auth.key });
      }
      if (upgrade) {
        const protocol = selectProtocol(request.headers);
        if (protocol) state.headers["sec-websocket-protocol"] = protocol;
      }
      const declared = request.headers.get("content-length");
      if (declared !== null && Number(declared) > deps.config.bodyLimitBytes)
        return reject(state, new GigasttError("payload_too_large", `Request body exceeds ${deps.config.bodyLimitBytes} bytes`), request, { connection: "close" });
    }
    Object.assign(setHeaders, state.headers);
    return undefined;
  }

  return {
    context(request) {
      return states.get(request) ?? newState(request, null);
    },
    install(app) {
      return app
        .onRequest(function gate({ request, server, set }) {
          const res = gateRequest(request, server, set.headers as Record<string, string>);
          if (res) return early(states.get(request)!, request, res);
        })
        .onError({ as: "global" }, function renderError({ request, code, error }) {
          const state = states.get(request) ?? newState(request, null);
          let err = fromFrameworkError(code, error);
          if (err.code === "not_found") {
            const allow = allowedMethods(state.path);
            if (allow.length > 0 && !allow.includes(request.method)) return reject(state, new GigasttError("method_not_allowed"), request, { allow: allow.join(", ") });
          }
          if (err.code === "internal" && error !== err) {
            state.log.error("unhandled error", { path: state.path, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
            err = new GigasttError("internal");
          }
          return measure(state, reject(state, err, request));
        })
        .mapResponse({ as: "global" }, function countBody({ request, responseValue }) {
          const state = states.get(request);
          if (state && responseValue instanceof Response) return measure(state, responseValue);
        })
        .onAfterResponse({ as: "global" }, function record({ request, set, response, route }) {
          const state = states.get(request);
          if (!state) return;
          const upgraded = request.headers.get("upgrade")?.toLowerCase() === "websocket" && state.status === undefined && route !== undefined;
          const status = state.status ?? (upgraded ? 101 : response instanceof Response ? response.status : typeof set.status === "number" ? set.status : 200);
          finish(state, request.method, status, route || undefined);
          // a WebSocket upgrade (its session logs its own end) or a response no hook could count
          if (!state.streaming) accessLog(state, status, upgraded ? 0 : null);
        }) as unknown as typeof app;
    },
  };
}
