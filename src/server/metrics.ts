/**
 * Prometheus metrics through prom-client, one registry per server instance
 * (never the global one). Pool gauges are read live at scrape time (not
 * sampled on some requests). With metrics on, the registry also carries
 * prom-client's default process metrics under their usual names
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `process_open_fds`, `nodejs_eventloop_lag_seconds`, `nodejs_gc_duration_seconds`,
 * `nodejs_active_handles`, …). Nothing here carries content.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
export const RTF_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5] as const;

/** Every gigastt metric family (the names are a contract with dashboards: never rename one). */
export const METRIC_NAMES = Object.freeze([
  "gigastt_http_requests_total",
  "gigastt_http_request_duration_seconds",
  "gigastt_errors_total",
  "gigastt_audio_seconds_total",
  "gigastt_inference_duration_seconds",
  "gigastt_inference_real_time_factor",
  "gigastt_pool_checkout_duration_seconds",
  "gigastt_pool_timeouts_total",
  "gigastt_rate_limit_rejections_total",
  "gigastt_ws_active_connections",
  "gigastt_pool_in_use",
  "gigastt_pool_available",
  "gigastt_pool_waiters",
  "gigastt_pool_size",
  "gigastt_jobs",
  "gigastt_jobs_workers_in_use",
  "gigastt_jobs_workers_size",
] as const);

/** What routes record; every method is cheap and safe when metrics are off. */
export interface Metrics {
  readonly enabled: boolean;
  /** one finished HTTP request (route = template such as `/v1/transcribe`, never the raw URL) */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** a WS session started (+1) or ended (−1) */
  wsSessions(delta: 1 | -1): void;
  /** one inference job: wall seconds and the audio seconds it covered (RTF = seconds / audio) */
  inference(seconds: number, audioSeconds: number): void;
  /** an error sent to a client (HTTP body, WS or SSE `error` message) */
  error(code: string): void;
  /** an admission checkout finished (waited seconds, outcome) */
  checkout(seconds: number, outcome: "ok" | "timeout" | "aborted" | "closed"): void;
  rateLimited(): void;
  /** Prometheus text exposition */
  render(): Promise<string>;
  /** its Content-Type */
  readonly contentType: string;
}

export interface PoolGauges {
  readonly size: number;
  readonly inUse: number;
  readonly waiting: number;
}

/** the jobs API's state at scrape time (null: jobs off) */
export interface JobsGauges {
  readonly counts: Readonly<Record<string, number>>;
  readonly workersInUse: number;
  readonly workersSize: number;
}

export function createMetrics(opts: { enabled: boolean; pool?: () => PoolGauges; jobs?: () => JobsGauges | null; processMetrics?: boolean }): Metrics {
  const registers = [new Registry()];
  const register = registers[0]!;
  const pool = () => opts.pool?.() ?? { size: 0, inUse: 0, waiting: 0 };

  const requests = new Counter({ name: "gigastt_http_requests_total", help: "HTTP requests by method, route template and status", labelNames: ["method", "path", "status"], registers });
  const errors = new Counter({ name: "gigastt_errors_total", help: "Errors sent to clients, by code", labelNames: ["code"], registers });
  const audioSeconds = new Counter({ name: "gigastt_audio_seconds_total", help: "Seconds of audio transcribed", registers });
  const poolTimeouts = new Counter({ name: "gigastt_pool_timeouts_total", help: "Admission checkouts that timed out", registers });
  const rateLimitRejections = new Counter({ name: "gigastt_rate_limit_rejections_total", help: "Requests rejected by the rate limiter", registers });
  let wsActive = 0;
  const live = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  live("gigastt_ws_active_connections", "Open WebSocket sessions", () => wsActive);
  live("gigastt_pool_in_use", "Admission slots in use", () => pool().inUse);
  live("gigastt_pool_available", "Admission slots free", () => Math.max(0, pool().size - pool().inUse));
  live("gigastt_pool_waiters", "Sessions waiting for an admission slot", () => pool().waiting);
  live("gigastt_pool_size", "Admission slots in total", () => pool().size);
  const jobsNow = () => opts.jobs?.() ?? null;
  new Gauge({
    name: "gigastt_jobs",
    help: "Jobs kept (/v1/jobs), by status",
    labelNames: ["status"],
    registers,
    collect() {
      const j = jobsNow();
      for (const status of ["queued", "processing", "done", "failed", "cancelled"]) this.set({ status }, j?.counts[status] ?? 0);
    },
  });
  live("gigastt_jobs_workers_in_use", "Segment decodes of jobs in the Worker pool now", () => jobsNow()?.workersInUse ?? 0);
  live("gigastt_jobs_workers_size", "The jobs' share of the Workers (--batch-pool-size; 0 with jobs off)", () => jobsNow()?.workersSize ?? 0);
  const requestDuration = new Histogram({ name: "gigastt_http_request_duration_seconds", help: "Time until the response head, by method and route", labelNames: ["method", "path"], buckets: [...DURATION_BUCKETS], registers });
  const inferenceSeconds = new Histogram({ name: "gigastt_inference_duration_seconds", help: "Wall time of inference jobs (REST, SSE and WS)", buckets: [...DURATION_BUCKETS], registers });
  const rtf = new Histogram({ name: "gigastt_inference_real_time_factor", help: "Inference seconds per second of audio", buckets: [...RTF_BUCKETS], registers });
  const checkoutSeconds = new Histogram({ name: "gigastt_pool_checkout_duration_seconds", help: "Time waited for an admission slot", buckets: [...DURATION_BUCKETS], registers });
  // CPU, memory, file descriptors, event-loop lag, GC, handles: only when someone scrapes them
  if (opts.enabled && (opts.processMetrics ?? true)) collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 10 });

  return {
    enabled: opts.enabled,
    contentType: register.contentType,
    httpRequest(method, route, status, seconds) {
      if (!opts.enabled) return;
      requests.inc({ method, path: route, status: String(status) });
      if (Number.isFinite(seconds)) requestDuration.observe({ method, path: route }, seconds);
    },
    wsSessions(delta) {
      wsActive = Math.max(0, wsActive + delta);
    },
    inference(seconds, audio) {
      if (!opts.enabled || !Number.isFinite(seconds)) return;
      inferenceSeconds.observe(seconds);
      if (audio > 0 && Number.isFinite(audio)) {
        audioSeconds.inc(audio);
        rtf.observe(seconds / audio);
      }
    },
    error(code) {
      if (opts.enabled) errors.inc({ code });
    },
    checkout(seconds, outcome) {
      if (!opts.enabled) return;
      if (Number.isFinite(seconds)) checkoutSeconds.observe(seconds);
      if (outcome === "timeout") poolTimeouts.inc();
    },
    rateLimited() {
      if (opts.enabled) rateLimitRejections.inc();
    },
    render: () => register.metrics(),
  };
}
