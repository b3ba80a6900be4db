/**
 * `--metrics-listen ADDR:PORT`: Prometheus `/metrics` on a listener of its own (as the Rust
 * gigastt serves it on 127.0.0.1:9090), no longer on the main port; without it `/metrics` stays
 * on the main port. Real sockets, the tone model.
 */
import { afterAll, expect, test } from "bun:test";
import { GigasttError } from "../../src/errors.ts";
import { parseServeConfig } from "../../src/server/config.ts";
import { closeToneTranscriber, startToneServer, type TestServer, toneAt, wavBytes } from "./streaming-helpers.ts";

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await closeToneTranscriber();
});

test("/metrics on its own listener; the main port answers 404 metrics_disabled naming it; the listener serves nothing else", async () => {
  const s = await startToneServer(["--metrics", "--metrics-listen", "127.0.0.1:0"]);
  servers.push(s);
  const url = s.server.metricsUrl!;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(url).not.toBe(s.url);
  // a request on the main port is counted, and shows on the metrics listener
  expect((await fetch(`${s.url}/v1/transcribe`, { method: "POST", body: wavBytes(toneAt("привет", 16000), 16000) })).status).toBe(200);
  const m = await fetch(`${url}/metrics`);
  expect(m.status).toBe(200);
  expect(m.headers.get("content-type")).toContain("text/plain");
  const text = await m.text();
  expect(text).toContain("gigastt_http_requests_total");
  expect(text).toContain('path="/v1/transcribe"');
  const main = await fetch(`${s.url}/metrics`);
  expect(main.status).toBe(404);
  const body = (await main.json()) as { code: string; error: string };
  expect(body.code).toBe("metrics_disabled");
  expect(body.error).toContain("--metrics-listen");
  expect((await fetch(`${url}/v1/models`)).status).toBe(404);
  expect((await fetch(`${url}/metrics`, { method: "POST" })).status).toBe(405);
});

test("the listener stops with the server", async () => {
  const s = await startToneServer(["--metrics", "--metrics-listen", "127.0.0.1:0"]);
  const url = s.server.metricsUrl!;
  expect((await fetch(`${url}/metrics`)).status).toBe(200);
  await s.stop();
  expect(await fetch(`${url}/metrics`).then(() => "answered", () => "refused")).toBe("refused");
});

test("without --metrics-listen, /metrics stays on the main port", async () => {
  const s = await startToneServer(["--metrics"]);
  servers.push(s);
  expect(s.server.metricsUrl).toBeNull();
  expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
});

test("parsing: ADDR:PORT forms, --bind-all for a non-loopback address, a warning without --metrics, env var", () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => parseServeConfig(argv, env, { isTTY: false, cpus: 1 });
  expect(parse(["--metrics", "--metrics-listen", "127.0.0.1:9090"]).metricsListen).toEqual({ host: "127.0.0.1", port: 9090 });
  expect(parse(["--metrics", "--metrics-listen", "[::1]:9090"]).metricsListen).toEqual({ host: "::1", port: 9090 });
  expect(parse(["--metrics"], { GIGASTT_METRICS_LISTEN: "127.0.0.1:9191" }).metricsListen).toEqual({ host: "127.0.0.1", port: 9191 });
  const off = parse(["--metrics-listen", "127.0.0.1:9090"]);
  expect(off.metricsListen).toBeNull();
  expect(off.warnings.join("\n")).toContain("--metrics-listen has no effect without --metrics");
  const refuse = (() => {
    try {
      parse(["--metrics", "--metrics-listen", "0.0.0.0:9090"]);
    } catch (e) {
      return e as GigasttError;
    }
  })();
  expect(refuse?.code).toBe("bind_refused");
  expect(parse(["--metrics", "--metrics-listen", "0.0.0.0:9090", "--bind-all"]).metricsListen).toEqual({ host: "0.0.0.0", port: 9090 });
  for (const bad of ["9090", "127.0.0.1", "127.0.0.1:70000", "host.example:9090"]) expect(() => parse(["--metrics", "--metrics-listen", bad]), bad).toThrow("--metrics-listen");
  expect(() => parse(["--metrics", "--port", "9090", "--metrics-listen", "127.0.0.1:9090"])).toThrow("a port of its own");
});
