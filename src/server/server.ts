/**
 * One running server: deps + app + listener + drain + reload. Startable
 * in-process (tests) and by `gigastt serve` (which adds signals and the model).
 *
 * Drain (SIGTERM/SIGINT, or `drain()`): `/ready` → 503, new requests and WS
 * upgrades → 503 `shutting_down`, admission waiters → `pool_closed`,
 * `onDrain` subscribers flush their finals, then the server waits — within
 * `shutdownDrainSecs` in total — for tracked work and in-flight HTTP
 * requests; past the window the remaining sockets are closed.
 */
import type { Server } from "bun";
import type { ConsolaInstance } from "consola";
import { createLogger } from "../log.ts";
import { createAdmission } from "./admission.ts";
import { createKeyring } from "./auth.ts";
import { createApp, DEFAULT_ROUTES, type RouteFactory, routeTable, wsPaths } from "./app.ts";
import { limitsDiff, type ReloadableLimits, type ServerConfig } from "./config.ts";
import type { Admission, ServerDeps, TranscriberLike } from "./deps.ts";
import { createLifecycle, type LifecycleControl } from "./lifecycle.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { createPlatform } from "./platform.ts";
import { createRateLimiter, type RateLimiter } from "./rate-limit.ts";
import { WS_OUTBOUND_LIMIT, WS_TRANSPORT } from "./routes/ws.ts";
import { transportFrameLimit } from "./streaming/ws-session.ts";
import { type JobsOptions, JobsService } from "../jobs/service.ts";
import { E2E_RNNT_HEAD, type ModelHead } from "../model/head.ts";
import { createModelHolder } from "./model-holder.ts";
import { createReloader, type ModelLoader } from "./reload.ts";

/** Bun's own body cap is only a backstop: the gate and the routes enforce `bodyLimitBytes` (reloadable). */
const BUN_BODY_CAP = 2 ** 40;

export interface StartOptions {
  transcriber?: TranscriberLike | null;
  log?: ConsolaInstance;
  routes?: readonly RouteFactory[];
  /** how `POST /v1/admin/reload` loads a fresh model (absent: 503 `reload_unsupported`; also settable later) */
  loadModel?: ModelLoader;
  /** seams of the jobs store (tests: a full disk, a moving clock) */
  jobs?: Partial<Pick<JobsOptions, "fs" | "now" | "sweepEveryMs">>;
}

export interface DrainResult {
  /** true when every tracked task and request finished within the window */
  readonly clean: boolean;
  readonly seconds: number;
}

export interface RunningServer {
  /** `http://host:port` (IPv6 bracketed) */
  readonly url: string;
  readonly port: number;
  readonly deps: ServerDeps;
  readonly lifecycle: LifecycleControl;
  /** method → paths of the mounted routes (WebSocket routes under GET) */
  readonly routes: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * The model finished loading: /ready turns 200. `owned`: the server closes it
   * (after a reload retired it, or at closeModels()); else the caller does.
   */
  setTranscriber(t: TranscriberLike | null, opts?: { owned?: boolean; head?: ModelHead }): void;
  /** how `POST /v1/admin/reload` loads a fresh model (null: reload unsupported) */
  setModelLoader(loader: ModelLoader | null): void;
  /** close the served model(s) the server owns (the current one and any still finishing after a reload) */
  closeModels(): Promise<void>;
  /** apply reloaded limits (SIGHUP); returns the changed fields */
  reload(next: ServerConfig): Record<string, { from: number; to: number }>;
  /** graceful drain, bounded by shutdownDrainSecs; idempotent */
  drain(): Promise<DrainResult>;
  /** close everything now (tests) */
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const log = opts.log ?? createLogger({ level: config.logLevel, format: config.logFormat });
  let current = config;
  let limiter: RateLimiter | null = makeLimiter(current);
  const lifecycle = createLifecycle({ onSubscriberError: (e) => log.error("drain subscriber failed", { error: String(e) }) });
  // the served model, swappable by POST /v1/admin/reload (sessions finish on the model they started on)
  const holder = createModelHolder({ running: () => lifecycle.snapshot(), onCloseError: (e) => log.warn("closing the previous model failed", { error: String(e) }) });
  holder.set(opts.transcriber ?? null, E2E_RNNT_HEAD);
  let loader: ModelLoader | null = opts.loadModel ?? null;
  const reloader = createReloader({ holder, loader: () => loader, lifecycle, log });
  let metrics: Metrics | null = null;
  const admission: Admission = createAdmission({
    size: config.poolSize,
    timeoutSecs: () => current.poolCheckoutTimeoutSecs,
    onCheckout: (s, outcome) => metrics?.checkout(s, outcome),
  });
  metrics = createMetrics({
    enabled: config.metrics,
    pool: () => admission,
    jobs: () => (jobs ? { counts: jobs.counts(), workersInUse: jobs.share.inUse, workersSize: jobs.share.size } : null),
  });

  // the jobs dir is opened (and locked) before anything listens: a locked or corrupted store stops the start
  const jobs = config.enableJobs
    ? JobsService.open({
        dir: config.jobsDir,
        batchPoolSize: config.batchPoolSize,
        limits: () => current,
        decoder: () => holder.current,
        log,
        track: (p) => lifecycle.track(p),
        onInference: (s, a) => metrics?.inference(s, a),
        ...opts.jobs,
      })
    : null;
  if (jobs) lifecycle.onDrain(() => void jobs.stop());

  let server: Server<unknown> | null = null;
  let routes = new Map<string, Set<string>>();
  const deps: ServerDeps = {
    jobs,
    get config() {
      return current;
    },
    get transcriber() {
      return holder.current;
    },
    get head() {
      return holder.head;
    },
    reloader,
    admission,
    lifecycle,
    metrics,
    log,
    context: (request) => platform.context(request),
  };
  let sockets = new Set<string>();
  const keyring = createKeyring(config.apiKeys ?? []);
  const platform = createPlatform({ deps, keyring, limiter: () => limiter, port: () => server?.port ?? config.port, routes: () => routes, wsPaths: () => sockets });
  const app = createApp(deps, platform, opts.routes ?? DEFAULT_ROUTES);
  routes = routeTable(app);
  sockets = wsPaths(app);

  try {
    app.listen({
      hostname: config.host,
      port: config.port,
      maxRequestBodySize: BUN_BODY_CAP,
      idleTimeout: 120,
      reusePort: false,
      development: false,
      // raw WebSocket frames to the session, before Elysia parses them (see routes/ws.ts)
      websocket: { ...WS_TRANSPORT, maxPayloadLength: transportFrameLimit(config.wsFrameMaxBytes), backpressureLimit: WS_OUTBOUND_LIMIT },
    });
  } catch (e) {
    limiter?.close();
    admission.close();
    await jobs?.close();
    throw e;
  }
  server = app.server as Server<unknown> | null;
  if (!server) throw new Error("server failed to start");
  const port = server.port ?? config.port;
  const hostForUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;
  // jobs left from the last run resume once a model is there (now, or at setTranscriber)
  jobs?.kick();

  let drainPromise: Promise<DrainResult> | null = null;
  let stopped = false;

  async function closeListener(force: boolean): Promise<void> {
    if (stopped && !force) return;
    stopped = true;
    await server?.stop(force);
  }

  function drain(): Promise<DrainResult> {
    drainPromise ??= (async () => {
      const started = performance.now();
      const windowMs = current.shutdownDrainSecs * 1000;
      const left = () => Math.max(0, windowMs - (performance.now() - started));
      log.info("draining", { window_secs: current.shutdownDrainSecs, tracked: lifecycle.pending, pool_in_use: admission.inUse, pool_waiting: admission.waiting });
      lifecycle.startDrain();
      admission.close();
      let clean = await lifecycle.settled(left());
      // in-flight plain HTTP requests (bounded by what is left of the window); Bun's
      // graceful stop also waits for idle keep-alive and half-sent requests, which
      // must not hold the exit: once no request is in flight the rest is closed
      const stopping = closeListener(false);
      const quiet = new AbortController();
      if (clean) clean = await within(Promise.race([stopping, noRequestsInFlight(() => server, quiet.signal)]), left());
      quiet.abort();
      if (!clean) log.warn("drain window expired: closing remaining connections", { tracked: lifecycle.pending, requests: server?.pendingRequests ?? 0 });
      await closeListener(true);
      limiter?.close();
      await jobs?.close();
      const seconds = (performance.now() - started) / 1000;
      log.info("drained", { clean, seconds: Math.round(seconds * 1000) / 1000 });
      return { clean, seconds };
    })();
    return drainPromise;
  }

  return {
    url,
    port,
    deps,
    lifecycle,
    routes,
    setTranscriber(t, o = {}) {
      holder.set(t, o.head ?? E2E_RNNT_HEAD, o.owned ?? false);
      jobs?.kick();
    },
    setModelLoader(l) {
      loader = l;
    },
    closeModels: () => holder.close(),
    reload(next) {
      const diff = limitsDiff(current, next);
      const limits: { -readonly [K in keyof ReloadableLimits]?: number } = {};
      for (const key of Object.keys(diff) as (keyof ReloadableLimits)[]) limits[key] = next[key];
      if (limits.wsFrameMaxBytes !== undefined && limits.wsFrameMaxBytes > config.wsFrameMaxBytes) {
        log.warn("ws_frame_max_bytes above the startup value takes effect after a restart", { startup: config.wsFrameMaxBytes, requested: limits.wsFrameMaxBytes });
        limits.wsFrameMaxBytes = config.wsFrameMaxBytes;
        if (current.wsFrameMaxBytes === config.wsFrameMaxBytes) delete diff.wsFrameMaxBytes;
      }
      current = Object.freeze({ ...current, ...limits });
      // --api-key-file is re-read on SIGHUP (key rotation); flag and env keys stay
      if (config.apiKeyFile && next.apiKeys.length > 0) {
        const before = keyring.size;
        keyring.replace(next.apiKeys);
        current = Object.freeze({ ...current, apiKeys: next.apiKeys });
        log.info("api keys reloaded", { file: config.apiKeyFile, keys: keyring.size, before });
      }
      if ("rateLimitPerMinute" in diff || "rateLimitBurst" in diff) {
        limiter?.close();
        limiter = makeLimiter(current);
      }
      return diff;
    },
    drain,
    async stop() {
      lifecycle.startDrain();
      admission.close();
      limiter?.close();
      await closeListener(true);
      await jobs?.close();
    },
  };
}

/**
 * Resolves once the server has no HTTP request in flight (WebSocket sessions
 * are tracked work, so closing sockets do not count), or when `stop` aborts.
 */
async function noRequestsInFlight(server: () => Server<unknown> | null, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    const s = server();
    if (!s || s.pendingRequests === 0) return;
    await Bun.sleep(20);
  }
}

/** true when `p` settles within `ms` (the timer never outlives the race) */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function makeLimiter(c: ServerConfig): RateLimiter | null {
  return c.rateLimitPerMinute > 0 ? createRateLimiter({ perMinute: c.rateLimitPerMinute, burst: c.rateLimitBurst }) : null;
}
