import { expect, test } from "bun:test";
import { createMetrics, escapeLabelValue } from "./metrics.ts";

test("Prometheus text: HELP/TYPE for every family, counters then gauges then histograms, sorted labels, live pool gauges", () => {
  let inUse = 1;
  const m = createMetrics({ enabled: true, pool: () => ({ size: 4, inUse, waiting: 2 }) });
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
  const text = m.render();
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => [x[1], x[2]]);
  const types = families.map((f) => f[1]);
  expect(types).toEqual([...types].sort((a, b) => ["counter", "gauge", "histogram"].indexOf(a!) - ["counter", "gauge", "histogram"].indexOf(b!)));
  for (const [name] of families) expect(text).toContain(`# HELP ${name} `);
  expect(text).toContain('gigastt_http_requests_total{method="GET",path="/v1/models",status="200"} 2\n');
  expect(text).toContain('gigastt_http_requests_total{method="POST",path="/v1/transcribe",status="503"} 1\n');
  expect(text).toContain('gigastt_http_request_duration_seconds_bucket{method="GET",path="/v1/models",le="0.005"} 1\n');
  expect(text).toContain('gigastt_http_request_duration_seconds_bucket{method="GET",path="/v1/models",le="0.25"} 2\n');
  expect(text).toContain('gigastt_http_request_duration_seconds_bucket{method="GET",path="/v1/models",le="+Inf"} 2\n');
  expect(text).toContain('gigastt_http_request_duration_seconds_count{method="GET",path="/v1/models"} 2\n');
  expect(text).toContain("gigastt_ws_active_connections 1\n");
  expect(text).toContain("gigastt_pool_in_use 1\n");
  expect(text).toContain("gigastt_pool_available 3\n");
  expect(text).toContain("gigastt_pool_waiters 2\n");
  expect(text).toContain("gigastt_audio_seconds_total 2\n");
  expect(text).toContain("gigastt_inference_duration_seconds_sum 0.5\n");
  expect(text).toContain('gigastt_inference_real_time_factor_bucket{le="0.25"} 1\n');
  expect(text).toContain('gigastt_inference_real_time_factor_bucket{le="0.1"} 0\n');
  expect(text).toContain('gigastt_errors_total{code="timeout"} 2\n');
  expect(text).toContain("gigastt_pool_timeouts_total 1\n");
  expect(text).toContain("gigastt_rate_limit_rejections_total 1\n");
  inUse = 4;
  expect(m.render()).toContain("gigastt_pool_available 0\n");
  // every sample line is `name{labels} value`
  for (const line of text.trimEnd().split("\n").filter((l) => !l.startsWith("#"))) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [-+0-9.eInfNa]+$/);
});

test("label values are escaped", () => {
  expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  const m = createMetrics({ enabled: true });
  m.error('we"ird');
  expect(m.render()).toContain('gigastt_errors_total{code="we\\"ird"} 1');
});

test("disabled metrics record nothing (the WS gauge still tracks sessions)", () => {
  const m = createMetrics({ enabled: false });
  m.httpRequest("GET", "/x", 200, 1);
  m.error("internal");
  expect(m.render()).not.toContain("gigastt_http_requests_total{");
  expect(m.render()).not.toContain("gigastt_errors_total{");
});
