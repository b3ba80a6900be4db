import { expect, test } from "bun:test";
import { createMetrics, METRIC_NAMES } from "./metrics.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text → samples (label order does not matter to Prometheus, so not here either) */
function parse(text: string): { samples: Sample[]; types: Map<string, string>; helps: Set<string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^# HELP (\S+) .+$/.exec(line);
    if (m) {
      helps.add(m[1]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    samples.push({ name: m![1]!, labels, value: m![3] === "+Inf" ? Infinity : Number(m![3]) });
  }
  return { samples, types, helps };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = samples.find((s) => s.name === name && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit?.value;
}

test("every metric name of the hand-written exposition is still exported, with its type", async () => {
  const { types } = parse(await createMetrics({ enabled: true, processMetrics: false }).render());
  expect(Object.fromEntries(METRIC_NAMES.map((n) => [n, types.get(n)]))).toEqual({
    gigastt_http_requests_total: "counter",
    gigastt_http_request_duration_seconds: "histogram",
    gigastt_errors_total: "counter",
    gigastt_audio_seconds_total: "counter",
    gigastt_inference_duration_seconds: "histogram",
    gigastt_inference_real_time_factor: "histogram",
    gigastt_pool_checkout_duration_seconds: "histogram",
    gigastt_pool_timeouts_total: "counter",
    gigastt_rate_limit_rejections_total: "counter",
    gigastt_ws_active_connections: "gauge",
    gigastt_pool_in_use: "gauge",
    gigastt_pool_available: "gauge",
    gigastt_pool_waiters: "gauge",
    gigastt_pool_size: "gauge",
    gigastt_jobs: "gauge",
    gigastt_jobs_workers_in_use: "gauge",
    gigastt_jobs_workers_size: "gauge",
  });
});

test("jobs gauges: jobs by status and the jobs' share of the Workers, read at scrape time", async () => {
  let queued = 2;
  const m = createMetrics({ enabled: true, processMetrics: false, jobs: () => ({ counts: { queued, done: 5 }, workersInUse: 1, workersSize: 2 }) });
  let text = await m.render();
  expect(text).toContain('gigastt_jobs{status="queued"} 2');
  expect(text).toContain('gigastt_jobs{status="done"} 5');
  expect(text).toContain('gigastt_jobs{status="failed"} 0');
  expect(text).toContain("gigastt_jobs_workers_in_use 1");
  expect(text).toContain("gigastt_jobs_workers_size 2");
  queued = 0;
  text = await m.render();
  expect(text).toContain('gigastt_jobs{status="queued"} 0');
});

test("values: requests by method/path/status, durations in buckets, live pool gauges, RTF, errors by code", async () => {
  let inUse = 1;
  const m = createMetrics({ enabled: true, processMetrics: false, pool: () => ({ size: 4, inUse, waiting: 2 }) });
  m.httpRequest("GET", "/v1/models", 200, 0.003);
  m.httpRequest("GET", "/v1/models", 200, 0.2);
  m.httpRequest("POST", "/v1/transcribe", 503, 1);
  m.wsSessions(1);
  m.wsSessions(1);
  m.wsSessions(-1);
  m.inference(0.5, 2);
  m.error("timeout");
  m.error("timeout");
  m.checkout(0.1, "timeout");
  m.rateLimited();
  const text = await m.render();
  const { samples, types, helps } = parse(text);
  for (const name of types.keys()) expect(helps.has(name)).toBe(true);
  expect(value(samples, "gigastt_http_requests_total", { method: "GET", path: "/v1/models", status: "200" })).toBe(2);
  expect(value(samples, "gigastt_http_requests_total", { method: "POST", path: "/v1/transcribe", status: "503" })).toBe(1);
  const bucket = (le: string) => value(samples, "gigastt_http_request_duration_seconds_bucket", { method: "GET", path: "/v1/models", le });
  expect([bucket("0.005"), bucket("0.25"), bucket("+Inf")]).toEqual([1, 2, 2]);
  expect(value(samples, "gigastt_http_request_duration_seconds_count", { method: "GET", path: "/v1/models" })).toBe(2);
  expect(value(samples, "gigastt_ws_active_connections")).toBe(1);
  expect(value(samples, "gigastt_pool_in_use")).toBe(1);
  expect(value(samples, "gigastt_pool_available")).toBe(3);
  expect(value(samples, "gigastt_pool_waiters")).toBe(2);
  expect(value(samples, "gigastt_pool_size")).toBe(4);
  expect(value(samples, "gigastt_audio_seconds_total")).toBe(2);
  expect(value(samples, "gigastt_inference_duration_seconds_sum")).toBe(0.5);
  expect(value(samples, "gigastt_inference_real_time_factor_bucket", { le: "0.25" })).toBe(1);
  expect(value(samples, "gigastt_inference_real_time_factor_bucket", { le: "0.1" })).toBe(0);
  expect(value(samples, "gigastt_errors_total", { code: "timeout" })).toBe(2);
  expect(value(samples, "gigastt_pool_timeouts_total")).toBe(1);
  expect(value(samples, "gigastt_rate_limit_rejections_total")).toBe(1);
  inUse = 4;
  expect(value(parse(await m.render()).samples, "gigastt_pool_available")).toBe(0);
});

test("the process metrics operators expect, under their usual names", async () => {
  const m = createMetrics({ enabled: true });
  await Bun.sleep(30);
  const { types, samples } = parse(await m.render());
  for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_eventloop_lag_seconds", "nodejs_eventloop_lag_p99_seconds", "nodejs_gc_duration_seconds", "nodejs_active_handles_total", "nodejs_heap_size_used_bytes"])
    expect(types.has(name)).toBe(true);
  expect(value(samples, "process_resident_memory_bytes")!).toBeGreaterThan(1e6);
  if (process.platform === "linux") expect(value(samples, "process_open_fds")!).toBeGreaterThan(0);
});

test("label values are escaped", async () => {
  const m = createMetrics({ enabled: true, processMetrics: false });
  m.error('we"ird\\x\ny');
  const text = await m.render();
  expect(text).toContain('gigastt_errors_total{code="we\\"ird\\\\x\\ny"} 1');
  expect(value(parse(text).samples, "gigastt_errors_total", { code: 'we"ird\\x\ny' })).toBe(1);
});

test("disabled metrics record nothing (the WS gauge still tracks sessions)", async () => {
  const m = createMetrics({ enabled: false });
  m.httpRequest("GET", "/x", 200, 1);
  m.error("internal");
  const text = await m.render();
  expect(text).not.toContain("gigastt_http_requests_total{");
  expect(text).not.toContain("gigastt_errors_total{");
  expect(text).not.toContain("process_cpu_seconds_total");
});
