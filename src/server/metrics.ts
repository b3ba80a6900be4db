/**
 * Prometheus metrics, one registry per server instance (never global).
 *
 * Text exposition format 0.0.4: HELP/TYPE for every family, families sorted
 * by name, label names sorted, values escaped. Pool gauges are read live at
 * scrape time (not sampled on some requests). Nothing here carries content.
 */

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
export const RTF_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5] as const;

type Labels = Readonly<Record<string, string>>;

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
  /** Prometheus text */
  render(): string;
}

export interface PoolGauges {
  readonly size: number;
  readonly inUse: number;
  readonly waiting: number;
}

class Counter {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    const cur = this.values.get(key);
    if (cur) cur.value += by;
    else this.values.set(key, { labels, value: by });
  }
}

class Histogram {
  readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly buckets: readonly number[]) {}
  observe(v: number, labels: Labels = {}): void {
    if (!Number.isFinite(v)) return;
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  lines(): string[];
}

export function createMetrics(opts: { enabled: boolean; pool?: () => PoolGauges }): Metrics {
  const requests = new Counter();
  const requestDuration = new Histogram(DURATION_BUCKETS);
  const errors = new Counter();
  const audioSeconds = new Counter();
  const inferenceSeconds = new Histogram(DURATION_BUCKETS);
  const rtf = new Histogram(RTF_BUCKETS);
  const checkoutSeconds = new Histogram(DURATION_BUCKETS);
  const poolTimeouts = new Counter();
  const rateLimitRejections = new Counter();
  let wsActive = 0;
  const pool = () => opts.pool?.() ?? { size: 0, inUse: 0, waiting: 0 };

  const families: Family[] = [
    counterFamily("gigastt_http_requests_total", "HTTP requests by method, route template and status", requests),
    histogramFamily("gigastt_http_request_duration_seconds", "Time until the response head, by method and route", requestDuration),
    counterFamily("gigastt_errors_total", "Errors sent to clients, by code", errors),
    counterFamily("gigastt_audio_seconds_total", "Seconds of audio transcribed", audioSeconds),
    histogramFamily("gigastt_inference_duration_seconds", "Wall time of inference jobs (REST, SSE and WS)", inferenceSeconds),
    histogramFamily("gigastt_inference_real_time_factor", "Inference seconds per second of audio", rtf),
    histogramFamily("gigastt_pool_checkout_duration_seconds", "Time waited for an admission slot", checkoutSeconds),
    counterFamily("gigastt_pool_timeouts_total", "Admission checkouts that timed out", poolTimeouts),
    counterFamily("gigastt_rate_limit_rejections_total", "Requests rejected by the rate limiter", rateLimitRejections),
    gaugeFamily("gigastt_ws_active_connections", "Open WebSocket sessions", () => wsActive),
    gaugeFamily("gigastt_pool_in_use", "Admission slots in use", () => pool().inUse),
    gaugeFamily("gigastt_pool_available", "Admission slots free", () => Math.max(0, pool().size - pool().inUse)),
    gaugeFamily("gigastt_pool_waiters", "Sessions waiting for an admission slot", () => pool().waiting),
    gaugeFamily("gigastt_pool_size", "Admission slots in total", () => pool().size),
  ];
  const order = { counter: 0, gauge: 1, histogram: 2 } as const;
  families.sort((a, b) => order[a.type] - order[b.type] || a.name.localeCompare(b.name));

  return {
    enabled: opts.enabled,
    httpRequest(method, route, status, seconds) {
      if (!opts.enabled) return;
      requests.inc({ method, path: route, status: String(status) });
      requestDuration.observe(seconds, { method, path: route });
    },
    wsSessions(delta) {
      wsActive = Math.max(0, wsActive + delta);
    },
    inference(seconds, audio) {
      if (!opts.enabled) return;
      inferenceSeconds.observe(seconds);
      if (audio > 0) {
        audioSeconds.inc({}, audio);
        rtf.observe(seconds / audio);
      }
    },
    error(code) {
      if (opts.enabled) errors.inc({ code });
    },
    checkout(seconds, outcome) {
      if (!opts.enabled) return;
      checkoutSeconds.observe(seconds);
      if (outcome === "timeout") poolTimeouts.inc();
    },
    rateLimited() {
      if (opts.enabled) rateLimitRejections.inc();
    },
    render() {
      const out: string[] = [];
      for (const f of families) {
        out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.lines());
      }
      return `${out.join("\n")}\n`;
    },
  };
}

function counterFamily(name: string, help: string, c: Counter): Family {
  return {
    name,
    help,
    type: "counter",
    lines: () => [...c.values.values()].map((v) => `${name}${fmtLabels(v.labels)} ${fmtNum(v.value)}`),
  };
}

function gaugeFamily(name: string, help: string, read: () => number): Family {
  return { name, help, type: "gauge", lines: () => [`${name} ${fmtNum(read())}`] };
}

function histogramFamily(name: string, help: string, h: Histogram): Family {
  return {
    name,
    help,
    type: "histogram",
    lines: () => {
      const out: string[] = [];
      for (const s of h.series.values()) {
        h.buckets.forEach((b, i) => out.push(`${name}_bucket${fmtLabels({ ...s.labels, le: fmtNum(b) })} ${s.counts[i]}`));
        out.push(`${name}_bucket${fmtLabels({ ...s.labels, le: "+Inf" })} ${s.count}`);
        out.push(`${name}_sum${fmtLabels(s.labels)} ${fmtNum(s.sum)}`);
        out.push(`${name}_count${fmtLabels(s.labels)} ${s.count}`);
      }
      return out;
    },
  };
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join("\u0000");
}

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function fmtLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort((a, b) => (a === "le" ? 1 : b === "le" ? -1 : a.localeCompare(b)));
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(",")}}`;
}

function fmtNum(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}
