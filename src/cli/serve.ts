/**
 * `gigastt serve`: validate everything → listen (so /health answers and
 * /ready is 503 while the model loads) → ensure the model → its int8 encoders
 * → the mapped layout the Workers share → load the Transcriber → ready. SIGTERM/SIGINT drain and exit 0 (a second signal
 * closes at once); SIGHUP reloads the limits from `--config`, keeping
 * CLI/env overrides.
 */
import { defineCommand } from "citty";
import type { ConsolaInstance } from "consola";
import { Transcriber } from "../engine/transcriber.ts";
import type { HotwordList } from "../decode/hotwords.ts";
import { EXIT, GigasttError } from "../errors.ts";
import { configureLogger } from "../log.ts";
import { type ModelFiles, resolveModelDir } from "../model/files.ts";
import { keyFingerprint } from "../server/auth.ts";
import { parseServeConfig, type ServerConfig } from "../server/config.ts";
import type { TranscriberLike } from "../server/deps.ts";
import { type RunningServer, startServer } from "../server/server.ts";
import { ensureModel } from "../store/index.ts";
import { type MappedModel, useMappedLayout } from "../store/mapped-model.ts";
import type { StoreLog } from "../store/ensure.ts";
import { prepareMainInt8Encoder, preparePartialEncoder } from "./partial-encoder.ts";
import { startWyoming, type WyomingListener } from "../wyoming/listener.ts";
import type { Precision } from "../types.ts";
import { E2E_RNNT_HEAD } from "../model/head.ts";

type Env = Record<string, string | undefined>;

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
  readonly loadTranscriber?: (files: ModelFiles, workers: number, opts?: { partialEncoder?: string; compactPauses?: boolean; lazyPartialWorkers?: boolean; hotwords?: HotwordList; vad?: { threshold: number } }) => Promise<LoadedTranscriber>;
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
  const recipe: ModelRecipe = { config, modelDir, env, log, deps, signal: stopModel.signal, stopped: () => signalled > 0 };
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
  const partialEncoder = await (deps.partialEncoder ?? ((f, c, l) => preparePartialEncoder({ files: f, partialPrecision: c.partialPrecision, skipQuantize: c.skipQuantize, log: l })))(files, config, log);
  if (r.stopped()) return null;
  // every graph's weights in one file the Workers map and share (derived once beside the originals)
  const layout = await (deps.mappedLayout ?? ((f, p, l) => useMappedLayout({ files: f, ...(p ? { partialEncoder: p } : {}), log: l })))(files, partialEncoder, log);
  if (r.stopped()) return null;
  // ready once the main Workers are loaded; the partial Worker loads after them (partials run on the main Workers until then)
  return (deps.loadTranscriber ?? ((f, workers, o) => Transcriber.fromFiles(f, { workers, ...o })))(layout.files, config.workers, {
    ...(layout.partialEncoder ? { partialEncoder: layout.partialEncoder, lazyPartialWorkers: true } : {}),
    compactPauses: config.compactPauses,
    ...(config.hotwords ? { hotwords: config.hotwords } : {}),
    ...(config.vad ? { vad: { threshold: config.vadThreshold } } : {}),
  });
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
export function restRoutes(server: Pick<RunningServer, "url" | "routes">, config: Pick<ServerConfig, "metrics">): string[] {
  const out: string[] = [];
  for (const [method, paths] of server.routes) {
    if (method === "OPTIONS" || method === "WS") continue;
    for (const path of paths) {
      if (path === "/v1/ws" || path === "/v1/realtime") continue; // WebSocket routes: listed as `websocket`
      if (path === "/metrics" && !config.metrics) continue;
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
  if (Object.keys(diff).length === 0) log.info("SIGHUP: config reloaded, no limit changed", { file });
  else log.info("SIGHUP: config reloaded", { file, changed: diff });
}

const serveCommand = defineCommand({
  meta: { name: "serve", description: "Run the HTTP + WebSocket server (REST, SSE, WS streaming) on 127.0.0.1:9876" },
  args: {
    port: { type: "string", alias: "p", description: "Port (default 9876; GIGASTT_PORT)", valueHint: "PORT" },
    host: { type: "string", description: "Bind address: an IP (IPv6 with or without brackets) or localhost (default 127.0.0.1; GIGASTT_HOST)", valueHint: "ADDR" },
    "bind-all": { type: "boolean", description: "Allow a non-loopback bind (also GIGASTT_ALLOW_BIND_ANY=1)" },
    "pool-size": { type: "string", description: "Sessions (WS, SSE, REST) admitted at once (default 4)", valueHint: "N" },
    "pool-checkout-timeout-secs": { type: "string", description: "Wait for a free slot before 503 timeout (default 30; GIGASTT_POOL_CHECKOUT_TIMEOUT_SECS)", valueHint: "SECS" },
    "idle-timeout-secs": { type: "string", description: "WS idle timeout (default 300; GIGASTT_IDLE_TIMEOUT_SECS)", valueHint: "SECS" },
    "max-session-secs": { type: "string", description: "WS wall-clock cap, 0 = off (default 3600; GIGASTT_MAX_SESSION_SECS)", valueHint: "SECS" },
    "shutdown-drain-secs": { type: "string", description: "Drain window on SIGTERM/SIGINT (default 10; GIGASTT_SHUTDOWN_DRAIN_SECS)", valueHint: "SECS" },
    "body-limit-bytes": { type: "string", description: "REST body cap (default 52428800; GIGASTT_BODY_LIMIT_BYTES)", valueHint: "BYTES" },
    "body-idle-timeout-secs": { type: "string", description: "Upload stalls this long without a byte → 408 body_timeout (default 30; GIGASTT_BODY_IDLE_TIMEOUT_SECS)", valueHint: "SECS" },
    "body-min-bytes-per-sec": { type: "string", description: "Least upload rate over each such window, 0 = off (default 1024; GIGASTT_BODY_MIN_BYTES_PER_SEC)", valueHint: "BYTES" },
    "ws-frame-max-bytes": { type: "string", description: "WS frame cap (default 524288; GIGASTT_WS_FRAME_MAX_BYTES)", valueHint: "BYTES" },
    "rate-limit-per-minute": { type: "string", description: "Per-client requests per minute, 0 = off (GIGASTT_RATE_LIMIT_PER_MINUTE)", valueHint: "N" },
    "rate-limit-burst": { type: "string", description: "Token bucket size (default 10; GIGASTT_RATE_LIMIT_BURST)", valueHint: "N" },
    "allow-origin": { type: "string", description: "Extra allowed browser Origin, exact match (repeatable)", valueHint: "ORIGIN" },
    "cors-allow-any": { type: "boolean", description: "Allow any Origin (Access-Control-Allow-Origin: *)" },
    metrics: { type: "boolean", description: "Enable GET /metrics (GIGASTT_METRICS)" },
    "log-format": { type: "enum", options: ["json", "pretty"], description: "Log format (default json when stderr is not a TTY)", valueHint: "FORMAT" },
    "model-dir": { type: "string", description: "Model directory (default $GIGASTT_MODEL_DIR or ~/.gigastt/models)", valueHint: "DIR" },
    config: { type: "string", description: "TOML file with limits; re-read on SIGHUP", valueHint: "FILE" },
    "skip-quantize": { type: "boolean", description: "Never create the int8 encoder for partials (GIGASTT_SKIP_QUANTIZE)" },
    offline: { type: "boolean", description: "Never download the model (GIGASTT_OFFLINE)" },
    "compact-pauses": { type: "boolean", description: "Shorten pauses over 600 ms to 300 ms before the encoder (default on; --no-compact-pauses, GIGASTT_COMPACT_PAUSES=0: off)" },
    vad: { type: "boolean", description: "Load the Silero VAD (embedded): per-request vad=true on files, WS endpoint_mode=vad (GIGASTT_VAD)" },
    "vad-threshold": { type: "string", description: "VAD speech-probability threshold, 0–1 (default 0.5; GIGASTT_VAD_THRESHOLD)", valueHint: "P" },
    "vad-min-silence-ms": { type: "string", description: "Non-speech that ends a VAD-endpointed utterance (default 500; GIGASTT_VAD_MIN_SILENCE_MS)", valueHint: "MS" },
    precision: { type: "enum", options: ["fp32", "int8"], description: "Model precision (default fp32; GIGASTT_PRECISION)", valueHint: "PRECISION" },
    "partial-precision": { type: "enum", options: ["int8", "fp32"], description: "Encoder of streaming partials (default int8; GIGASTT_PARTIAL_PRECISION)", valueHint: "PRECISION" },
    workers: { type: "string", description: "Inference Workers; they share the mapped weights, ≈ 100 MB each beyond them (default: CPU cores, fewer when the available memory holds fewer; GIGASTT_WORKERS)", valueHint: "N" },
    "allow-host": { type: "string", description: "Extra accepted Host header, name or name:port (repeatable)", valueHint: "HOST" },
    "trust-proxy": { type: "boolean", description: "Believe X-Forwarded-For/X-Real-IP from loopback peers; --trust-proxy=CIDR[,CIDR…] names the proxies (GIGASTT_TRUST_PROXY)" },
    "wyoming-port": { type: "string", description: "Also speak the Wyoming protocol (Home Assistant) on this TCP port of --host; off by default (GIGASTT_WYOMING_PORT)", valueHint: "PORT" },
    "enable-jobs": { type: "boolean", description: "Turn on the /v1/jobs API (durable, SQLite in --jobs-dir) (GIGASTT_ENABLE_JOBS)" },
    "jobs-dir": { type: "string", description: "Where jobs are kept (default ~/.gigastt/jobs; GIGASTT_JOBS_DIR)", valueHint: "DIR" },
    "jobs-max": { type: "string", description: "Jobs kept, queued to finished (default 100; GIGASTT_JOBS_MAX)", valueHint: "N" },
    "jobs-max-bytes": { type: "string", description: "Audio bytes waiting in the queue (default 536870912; GIGASTT_JOBS_MAX_BYTES)", valueHint: "BYTES" },
    "jobs-ttl-secs": { type: "string", description: "How long a finished job stays fetchable, 0 = forever (default 3600; GIGASTT_JOBS_TTL_SECS)", valueHint: "SECS" },
    "batch-pool-size": { type: "string", description: "Workers jobs may use at once, at most workers − 1 (default 1; GIGASTT_BATCH_POOL_SIZE)", valueHint: "N" },
    "wyoming-allow-unauthenticated": { type: "boolean", description: "Start a non-loopback Wyoming listener although API keys are set (Wyoming has no authentication)" },
    "api-key": { type: "string", description: "Require Authorization: Bearer KEY on the API (repeatable; also GIGASTT_API_KEYS=K1,K2)", valueHint: "KEY" },
    "api-key-file": { type: "string", description: "API keys, one per line; re-read on SIGHUP (GIGASTT_API_KEY_FILE)", valueHint: "FILE" },
    "hotwords-file": { type: "string", description: "Phrases to bias decoding toward, one per line, optional TAB weight, # comments (GIGASTT_HOTWORDS_FILE)", valueHint: "FILE" },
    "hotwords-default": { type: "boolean", description: "Also bias toward the built-in list of brands and services (GIGASTT_HOTWORDS_DEFAULT)" },
    "hotwords-boost": { type: "string", description: "Boost added to a hotword piece's log-probability, 0..20 (default 5; GIGASTT_HOTWORDS_BOOST)", valueHint: "N" },
    ui: { type: "boolean", description: "Serve the built-in page at / (default on; --no-ui or GIGASTT_NO_UI=1 turns it off)" },
  },
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
