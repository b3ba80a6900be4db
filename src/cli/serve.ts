/**
 * `gigastt serve`: validate everything → listen (so /health answers and
 * /ready is 503 while the model loads) → ensure the model → its int8 encoders
 * → the mapped layout the Workers share → load the Transcriber → ready. SIGTERM/SIGINT drain and exit 0 (a second signal
 * closes at once); SIGHUP reloads the limits from `--config`, keeping
 * CLI/env overrides.
 */
import { accessSync, constants, mkdirSync } from "node:fs";
import { defineCommand } from "citty";
import type { ConsolaInstance } from "consola";
import { Transcriber } from "../engine/transcriber.ts";
import type { HotwordList } from "../decode/hotwords.ts";
import { EXIT, GigasttError } from "../errors.ts";
import { configureLogger } from "../log.ts";
import { type ModelFiles, resolveModelDir } from "../model/files.ts";
import { keyFingerprint } from "../server/auth.ts";
import { parseServeConfig, type ServerConfig } from "../server/config.ts";
import { cittyArgs } from "../server/flag-schema.ts";
import type { TranscriberLike } from "../server/deps.ts";
import { type RunningServer, startServer } from "../server/server.ts";
import { WORKLET_PATH } from "../server/ui/page.ts";
import { ensureModel } from "../store/index.ts";
import { type MappedModel, useMappedLayout } from "../store/mapped-model.ts";
import type { StoreLog } from "../store/ensure.ts";
import { prepareMainInt8Encoder, preparePartialEncoder } from "./partial-encoder.ts";
import { startWyoming, type WyomingListener } from "../wyoming/listener.ts";
import type { Precision } from "../types.ts";
import { E2E_RNNT_HEAD } from "../model/head.ts";

type Env = Record<string, string | undefined>;

/** What serve's flags ask of the engine (src/engine/transcriber.ts's options). */
export interface EngineOptions {
  readonly partialEncoder?: string;
  readonly compactPauses?: boolean;
  readonly threadsPerWorker?: number;
  readonly inferenceTimeoutMs?: number;
  readonly minWorkers?: number;
  readonly fileWorkers?: number;
  readonly fileConcurrency?: number;
  readonly onWorkersShort?: (loaded: number, error: string) => void;
  readonly lazyPartialWorkers?: boolean;
  readonly hotwords?: HotwordList;
  /** --vad: the Silero VAD in Workers of its own, with this speech threshold */
  readonly vad?: { readonly threshold: number };
}

export function engineOptions(config: ServerConfig, log: { warn(msg: string, fields?: Record<string, unknown>): void }): EngineOptions {
  return {
    compactPauses: config.compactPauses,
    ...(config.hotwords ? { hotwords: config.hotwords } : {}),
    ...(config.vad ? { vad: { threshold: config.vadThreshold } } : {}),
    threadsPerWorker: config.encoderIntraThreads,
    inferenceTimeoutMs: config.inferenceTimeoutSecs * 1000,
    minWorkers: config.poolMinSize,
    fileWorkers: config.batchPoolSize,
    ...(config.fileWindowConcurrency !== null ? { fileConcurrency: config.fileWindowConcurrency } : {}),
    onWorkersShort: (loaded, error) =>
      log.warn("some inference Workers failed to load: starting on fewer (--pool-min-size)", { loaded, requested: config.workers, min: config.poolMinSize, error }),
  };
}

/** What `serve` loads: the server's view of the Transcriber, and (optionally) when its partial Workers are up. */
type LoadedTranscriber = TranscriberLike & { close(): Promise<void>; partialWorkersReady?(): Promise<void> };

export interface ServeDeps {
  readonly env?: Env;
  readonly isTTY?: boolean;
  /** where signal handlers are installed (default: process) */
  readonly signals?: Pick<NodeJS.Process, "on" | "off">;
  /** the model files to load (default: the model store's ensureModel) */
  /** `log`: where the store's warnings, notices and progress go (serve's logger) */
  readonly obtainModel?: (opts: { modelDir: string; precision: Precision; offline: boolean; env: Env; signal?: AbortSignal; log: StoreLog }) => Promise<ModelFiles>;
  readonly loadTranscriber?: (files: ModelFiles, workers: number, opts?: EngineOptions) => Promise<LoadedTranscriber>;
  /** the encoder file for streaming partials (default: preparePartialEncoder, which may create the int8 one) */
  readonly partialEncoder?: (files: ModelFiles, config: ServerConfig, log: ConsolaInstance) => Promise<string | undefined>;
  /** the checked encoder of `--precision int8` (default: prepareMainInt8Encoder) */
  readonly mainInt8Encoder?: (files: ModelFiles, config: ServerConfig, log: ConsolaInstance) => Promise<ModelFiles>;
  /** the files the Workers load, in the mapped layout (default: useMappedLayout, which may derive it once) */
  readonly mappedLayout?: (files: ModelFiles, partialEncoder: string | undefined, log: ConsolaInstance) => Promise<Pick<MappedModel, "files" | "partialEncoder">>;
}

/** The one place `serve` obtains model files; its warnings, notices and progress are log events (JSON lines in JSON mode). */
async function obtainModelDefault(opts: { modelDir: string; precision: Precision; offline: boolean; env: Env; signal?: AbortSignal; log: StoreLog }): Promise<ModelFiles> {
  return ensureModel({ modelDir: opts.modelDir, precision: opts.precision, offline: opts.offline, env: opts.env, signal: opts.signal, log: opts.log });
}

export async function runServe(argv: readonly string[], deps: ServeDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const signals = deps.signals ?? process;
  // 1. everything is validated before the network or the model is touched
  const config = parseServeConfig(argv, env, { isTTY: deps.isTTY ?? process.stderr.isTTY });
  const log = configureLogger({ level: config.logLevel, format: config.logFormat });
  for (const w of config.warnings) log.warn(w);
  if (config.workersChoice) {
    const c = config.workersChoice;
    log.info("inference workers", { workers: c.workers, limited_by: c.limitedBy, cores: c.cores, available_mb: Math.round(c.availableBytes / 1e6), per_worker_mb: Math.round(c.perWorkerBytes / 1e6), reason: c.reason });
  }
  const modelDir = resolveModelDir(config.modelDir, env);
  const cacheDir = usableCacheDir(config.optimizedCacheDir, log);

  // 2. listen first: /health answers, /ready is 503 until the model is loaded
  const server = await listen(config, log);
  logStartup(server, config, log);
  let wyoming: WyomingListener | null = null;
  if (config.wyomingPort !== null) {
    try {
      wyoming = startWyoming(server.deps, { host: config.host, port: config.wyomingPort });
    } catch (e) {
      await server.stop();
      throw e;
    }
    log.info("wyoming listening", { url: wyoming.url });
  }

  let signalled = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  // a signal also stops a first-run download (or the wait for another process's download)
  const stopModel = new AbortController();
  const onStop = (sig: NodeJS.Signals) => {
    signalled++;
    stopModel.abort();
    if (signalled === 1) {
      log.info("signal received: draining", { signal: sig });
      void server.drain().then(() => resolveDone());
    } else {
      log.warn("second signal: closing now", { signal: sig });
      void server.stop().then(() => resolveDone());
    }
  };
  const onHup = () => reload(server, argv, env, deps.isTTY ?? process.stderr.isTTY, log);
  signals.on("SIGTERM", onStop);
  signals.on("SIGINT", onStop);
  if (process.platform !== "win32") signals.on("SIGHUP", onHup);
  const recipe: ModelRecipe = { config, modelDir, env, log, deps, signal: stopModel.signal, stopped: () => signalled > 0, ...(cacheDir ? { cacheDir } : {}) };
  try {
    // 3. model, then the Workers
    try {
      const started = performance.now();
      const transcriber = await loadServedModel(recipe);
      if (transcriber && signalled === 0) {
        // the server owns it from here (a reload retires it; closeModels() closes it)
        server.setTranscriber(transcriber, { owned: true, head: E2E_RNNT_HEAD });
        // POST /v1/admin/reload builds through the same recipe (a model replaced on disk is picked up)
        server.setModelLoader(async () => {
          const t = await loadServedModel({ ...recipe, signal: server.deps.lifecycle.signal, stopped: () => false });
          if (!t) throw new Error("model load was stopped");
          return { transcriber: t, head: E2E_RNNT_HEAD };
        });
        const info = transcriber.info;
        logPartialWorkers(info, log);
        log.info("model loaded: ready", {
          precision: info.precision,
          // the partial Worker loads after the main ones: ready does not wait for it
          partial_encoder: info.partialEncoder || info.partialWorkersLoading ? "int8" : info.precision,
          ...(info.partialWorkersLoading ? { partial_workers: "loading" } : {}),
          workers: info.workers,
          vad_workers: info.vadWorkers ?? 0,
          vocab_size: info.vocabSize,
          ...(config.hotwords ? { hotwords: config.hotwords.phrases.length, hotwords_boost: config.hotwords.boost } : {}),
          load_ms: Math.round(performance.now() - started),
        });
        if (info.partialWorkersLoading && transcriber.partialWorkersReady) {
          void transcriber.partialWorkersReady().then(
            () => {
              if (signalled === 0) logPartialWorkers(transcriber.info, log, Math.round(performance.now() - started));
            },
            () => {},
          );
        }
      } else await transcriber?.close();
    } catch (e) {
      if (signalled === 0) {
        await server.stop();
        throw e;
      }
    }
    await done;
    return EXIT.ok;
  } finally {
    signals.off("SIGTERM", onStop);
    signals.off("SIGINT", onStop);
    if (process.platform !== "win32") signals.off("SIGHUP", onHup);
    await wyoming?.close();
    await server.closeModels().catch((e: unknown) => log.warn("closing the model failed", { error: String(e) }));
  }
}

interface ModelRecipe {
  readonly config: ServerConfig;
  readonly modelDir: string;
  readonly env: Env;
  readonly log: ConsolaInstance;
  readonly deps: ServeDeps;
  readonly signal: AbortSignal;
  /** a signal arrived: skip the remaining steps */
  readonly stopped: () => boolean;
  /** `--optimized-cache-dir` (usable): where derived files go */
  readonly cacheDir?: string;
}

/**
 * The model → its int8 encoders → the mapped layout the Workers share → the
 * Transcriber; null when stopped by a signal on the way. Boot and
 * `POST /v1/admin/reload` both load through it.
 */
async function loadServedModel(r: ModelRecipe): Promise<LoadedTranscriber | null> {
  const { config, log, deps } = r;
  const obtained = await (deps.obtainModel ?? obtainModelDefault)({ modelDir: r.modelDir, precision: config.precision, offline: config.offline, env: r.env, signal: r.signal, log });
  if (r.stopped()) return null;
  // --precision int8: an int8 encoder that would clip on this CPU is replaced by an exact copy
  const files = await (deps.mainInt8Encoder ?? ((f, c, l) => prepareMainInt8Encoder({ files: f, skipQuantize: c.skipQuantize, log: l })))(obtained, config, log);
  if (r.stopped()) return null;
  const partialEncoder = await (deps.partialEncoder ?? ((f, c, l) => preparePartialEncoder({ files: f, partialPrecision: c.partialPrecision, skipQuantize: c.skipQuantize, log: l, ...(r.cacheDir ? { cacheDir: r.cacheDir } : {}) })))(files, config, log);
  if (r.stopped()) return null;
  // every graph's weights in one file the Workers map and share (derived once beside the originals)
  const layout = await (deps.mappedLayout ?? ((f, p, l) => useMappedLayout({ files: f, ...(p ? { partialEncoder: p } : {}), log: l, ...(r.cacheDir ? { cacheDir: r.cacheDir } : {}) })))(files, partialEncoder, log);
  if (r.stopped()) return null;
  // ready once the main Workers are loaded; the partial Worker loads after them (partials run on the main Workers until then)
  return (deps.loadTranscriber ?? ((f, workers, o) => Transcriber.fromFiles(f, { workers, ...o })))(layout.files, config.workers, {
    ...(layout.partialEncoder ? { partialEncoder: layout.partialEncoder, lazyPartialWorkers: true } : {}),
    ...engineOptions(config, log),
  });
}

/** `--optimized-cache-dir`, created if missing; one that cannot be written is skipped with a warning (as Rust does). */
function usableCacheDir(dir: string | undefined, log: ConsolaInstance): string | undefined {
  if (!dir) return undefined;
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return dir;
  } catch (e) {
    log.warn("--optimized-cache-dir cannot be written: the files derived from the model go beside it", { dir, error: e instanceof Error ? e.message : String(e) });
    return undefined;
  }
}

/** The partial Worker's state once known: loaded (with `load_ms` when it loaded after ready) or why not. */
function logPartialWorkers(info: LoadedTranscriber["info"] & { partialWorkersLoading?: boolean }, log: ConsolaInstance, loadMs?: number): void {
  if (info.partialWorkersLoading) return;
  if (info.partialEncoderError) log.warn("the int8 encoder for partials could not be loaded: partials use the main encoder", { error: info.partialEncoderError });
  else if (loadMs !== undefined && info.partialEncoder) log.info("partial worker loaded", { partial_encoder: "int8", load_ms: loadMs });
}

async function listen(config: ServerConfig, log: ConsolaInstance): Promise<RunningServer> {
  try {
    return await startServer(config, { log });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    const where = `${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
    if (code === "EADDRINUSE") throw new GigasttError("bind_refused", `cannot listen on ${where}: the address is already in use (choose another --port)`, { cause: e });
    if (code === "EACCES") throw new GigasttError("bind_refused", `cannot listen on ${where}: permission denied`, { cause: e });
    if (code === "EADDRNOTAVAIL") throw new GigasttError("bind_refused", `cannot listen on ${where}: the address is not available on this machine`, { cause: e });
    throw e;
  }
}

/** Every HTTP route the server mounted (from its route table, so none is forgotten), as `METHOD url`. */
export function restRoutes(server: Pick<RunningServer, "url" | "routes">, config: Pick<ServerConfig, "metrics"> & Partial<Pick<ServerConfig, "metricsListen">> & { readonly ui?: boolean }): string[] {
  const out: string[] = [];
  for (const [method, paths] of server.routes) {
    if (method === "OPTIONS" || method === "WS") continue;
    for (const path of paths) {
      if (path === "/v1/ws" || path === "/v1/realtime") continue; // WebSocket routes: listed as `websocket`
      if (path === "/metrics" && (!config.metrics || config.metricsListen)) continue;
      if ((path === "/" || path === WORKLET_PATH) && config.ui === false) continue; // --no-ui: both answer 404
      out.push(`${method} ${server.url}${path}`);
    }
  }
  return out;
}

function logStartup(server: RunningServer, config: ServerConfig, log: ConsolaInstance): void {
  const ws = server.url.replace(/^http/, "ws");
  log.info("gigastt listening", {
    url: server.url,
    websocket: `${ws}/v1/ws`,
    realtime: `${ws}/v1/realtime?intent=transcription`,
    rest: restRoutes(server, config),
    pool_size: config.poolSize,
    workers: config.workers,
    ...(server.metricsUrl ? { metrics: `${server.metricsUrl}/metrics` } : {}),
  });
  log.info("CORS/origin policy", {
    cors: config.corsAllowAny ? "any origin (*)" : "loopback origins" + (config.allowOrigin.length ? ` + ${config.allowOrigin.join(", ")}` : ""),
    trust_proxy: config.trustProxy.length ? config.trustProxy : "off",
    rate_limit: config.rateLimitPerMinute > 0 ? { per_minute: config.rateLimitPerMinute, burst: config.rateLimitBurst } : "off",
    // never the keys themselves: a short hash of each
    api_keys: config.apiKeys.length ? config.apiKeys.map(keyFingerprint) : "off",
    ui: config.ui,
  });
}

function reload(server: RunningServer, argv: readonly string[], env: Env, isTTY: boolean, log: ConsolaInstance): void {
  const file = server.deps.config.configFile ?? server.deps.config.apiKeyFile;
  if (!file) {
    log.info("SIGHUP ignored: no --config or --api-key-file");
    return;
  }
  let next: ServerConfig;
  try {
    next = parseServeConfig(argv, env, { isTTY });
  } catch (e) {
    log.error("SIGHUP: config reload failed, keeping the current limits", { file, error: e instanceof Error ? e.message : String(e) });
    return;
  }
  const diff = server.reload(next);
  const was = server.deps.config;
  const restartOnly = (["inferenceTimeoutSecs", "enableJobs", "jobsRetry"] as const).filter((k) => was[k] !== next[k]);
  if (restartOnly.length) log.warn("SIGHUP: these settings take effect after a restart", { file, settings: restartOnly, now: Object.fromEntries(restartOnly.map((k) => [k, was[k]])) });
  if (Object.keys(diff).length === 0) log.info("SIGHUP: config reloaded, no limit changed", { file });
  else log.info("SIGHUP: config reloaded", { file, changed: diff });
}

const serveCommand = defineCommand({
  meta: { name: "serve", description: "Run the HTTP + WebSocket server (REST, SSE, WS streaming) on 127.0.0.1:9876" },
  // from the one flag schema (src/server/flag-schema.ts), like the parser and README's table
  args: cittyArgs(),
  run: ({ rawArgs }) => runServe(rawArgs),
});

/**
 * In JSON log mode a fatal error (a usage error too) is one JSON line like every
 * other stderr line (level error, msg `error[code]: …`, code, exit_code); the CLI
 * runner asks each command through `errorFormat` (see src/cli/run.ts).
 */
export default Object.assign(serveCommand, { errorFormat: (argv: readonly string[]) => serveLogFormat(argv, Boolean(process.stderr.isTTY)) });

/** The log format `serve` will use, read from argv before the config is validated (for errors found while validating it). */
export function serveLogFormat(argv: readonly string[], isTTY: boolean): "json" | "pretty" {
  let v: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === "--") break;
    if (t === "--log-format") v = argv[i + 1];
    else if (t.startsWith("--log-format=")) v = t.slice("--log-format=".length);
  }
  const f = v?.trim().toLowerCase();
  return f === "json" || f === "pretty" ? f : isTTY ? "pretty" : "json";
}
