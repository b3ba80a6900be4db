/**
 * The deployment recipes under deploy/ say what the code does: every flag
 * they pass parses (`parseServeConfig`, the same function `serve` runs), the
 * grace periods cover the drain, probes hit the right paths and port, the
 * proxies' body cap and timeouts match the server's defaults, and the
 * dashboard's, alerts' and autoscaler's queries name only metrics that
 * `/metrics` exports. promtool (Debian `prometheus`) checks the rules.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseServeConfig, type ServerConfig } from "../../src/server/config.ts";
import { startServer, type RunningServer } from "../../src/server/server.ts";
import { createLogger } from "../../src/log.ts";

const ROOT = join(import.meta.dir, "../..");
const DEPLOY = join(ROOT, "deploy");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");
const yamlDocs = (p: string) => (Bun.YAML.parse(read(p)) as unknown) as unknown;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** the image's ENTRYPOINT arguments after `gigastt serve` (Dockerfile) */
function entrypointServeArgs(): string[] {
  const line = read("Dockerfile")
    .split("\n")
    .find((l) => l.startsWith("ENTRYPOINT "));
  const argv = JSON.parse(line!.slice("ENTRYPOINT ".length)) as string[];
  expect(argv.slice(0, 2)).toEqual(["/usr/local/bin/gigastt", "serve"]);
  return argv.slice(2);
}

/** BENCHMARKS.md memory table: steady and peak MB for `fp32 × N + 1 int8 partial (default)` */
function benchMemory(workers: number): { steady: number; peak: number } {
  const row = read("BENCHMARKS.md")
    .split("\n")
    .find((l) => l.startsWith(`| fp32 × ${workers} + 1 int8 partial (default) |`));
  if (!row) throw new Error(`BENCHMARKS.md has no memory row for ${workers} workers`);
  const mb = [...row.matchAll(/(\d+) MB/g)].map((m) => Number(m[1]));
  return { steady: mb[1]!, peak: mb[2]! };
}

/** "2300Mi" / "2600m" (compose) / "2Gi" → MiB */
function mebibytes(q: string): number {
  const m = /^(\d+)(Mi|Gi|m|g)$/.exec(q);
  if (!m) throw new Error(`unexpected memory quantity ${q}`);
  return Number(m[1]) * (m[2] === "Gi" || m[2] === "g" ? 1024 : 1);
}

function secs(d: string): number {
  const m = /^(\d+)(s|m)$/.exec(d);
  if (!m) throw new Error(`unexpected duration ${d}`);
  return Number(m[1]) * (m[2] === "m" ? 60 : 1);
}

function parse(argv: string[], env: Record<string, string>): ServerConfig {
  return parseServeConfig(argv, env, { isTTY: false, cpus: 64 });
}

describe("docker-compose", () => {
  const doc = yamlDocs("deploy/compose/docker-compose.yml") as Any;
  const replicas = ["gigastt-1", "gigastt-2"].map((n) => doc.services[n]);

  test("two replicas whose flags parse, with a grace period ≥ drain + 5 s and the ready healthcheck", () => {
    for (const svc of replicas) {
      const env = Object.fromEntries(Object.entries(svc.environment as Record<string, string>).map(([k, v]) => [k, String(v)]));
      const argv = [...entrypointServeArgs(), ...(svc.command as string[]).map((a) => a.replace("${GIGASTT_SITE:-stt.example.com}", "stt.example.com"))];
      const config = parse(argv, env);
      expect(config.workers).toBe(2); // never the host's CPU count
      expect(config.metrics).toBe(true);
      expect(config.allowHost).toEqual(["stt.example.com"]);
      expect(secs(svc.stop_grace_period)).toBeGreaterThanOrEqual(config.shutdownDrainSecs + 5);
      expect(svc.healthcheck.test).toEqual(["CMD", "/usr/local/bin/gigastt", "healthcheck", "--ready"]);
      // the healthcheck probes GIGASTT_PORT: it must be the port serve listens on
      expect(Number(env.GIGASTT_PORT)).toBe(config.port);
      expect(secs(svc.healthcheck.start_period)).toBeGreaterThanOrEqual(600); // a first model download
      expect(svc.volumes).toEqual(["gigastt-models:/home/nonroot/.gigastt/models"]);
      expect(read("Dockerfile")).toContain('VOLUME ["/home/nonroot/.gigastt/models"]');
      const mem = benchMemory(config.workers);
      expect(mebibytes(svc.mem_limit)).toBeGreaterThan(mem.peak);
      expect(svc.cpus).toBe(config.workers);
    }
  });

  test("only Caddy's address is trusted, and Caddy's upstreams are the two replicas on their port", () => {
    const caddy = doc.services.caddy;
    const caddyIp = caddy.networks.gigastt.ipv4_address;
    for (const svc of replicas) {
      const config = parse([...entrypointServeArgs(), ...svc.command.map((a: string) => a.replace(/\$\{[^}]+\}/, "stt.example.com"))], {});
      expect(config.trustProxy).toEqual([`${caddyIp}/32`]);
    }
    expect(caddy.environment.GIGASTT_UPSTREAMS).toBe("gigastt-1:9876 gigastt-2:9876");
    expect(caddy.volumes).toContain("../caddy/Caddyfile:/etc/caddy/Caddyfile:ro");
    expect(doc.networks.gigastt.ipam.config[0].subnet).toBe("172.28.0.0/24");
  });
});

describe("kubernetes", () => {
  const deployment = yamlDocs("deploy/k8s/deployment.yaml") as Any;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const env = Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  const config = parse([...entrypointServeArgs(), ...container.args], env);
  const port = container.ports.find((p: Any) => p.name === "http").containerPort;

  test("the container's flags parse and it listens where the probes, Service and policy point", () => {
    expect(port).toBe(config.port);
    expect(config.workers).toBe(2);
    expect(config.metrics).toBe(true);
    expect(config.offline).toBe(true); // the init container fetched the model
    expect(container.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(container.startupProbe.httpGet.path).toBe("/ready");
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);
    const service = yamlDocs("deploy/k8s/service.yaml") as Any;
    expect(service.spec.ports[0].targetPort).toBe("http");
    expect(service.spec.sessionAffinity ?? "None").toBe("None");
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    const policy = yamlDocs("deploy/k8s/networkpolicy.yaml") as Any;
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: "TCP", port: config.port }]);
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    const annotations = deployment.spec.template.metadata.annotations;
    expect(Number(annotations["prometheus.io/port"])).toBe(config.port);
  });

  test("terminationGracePeriodSeconds ≥ preStop + drain + 5; the model volume is where --model-dir points", () => {
    const preStop = container.lifecycle.preStop.sleep.seconds;
    expect(preStop).toBeGreaterThanOrEqual(5);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + config.shutdownDrainSecs + 5);
    const mount = container.volumeMounts.find((m: Any) => m.name === "models");
    expect(config.modelDir).toBe(mount.mountPath);
    const init = pod.initContainers[0];
    expect(init.command.slice(0, 2)).toEqual(["/usr/local/bin/gigastt", "download"]);
    expect(init.command[init.command.indexOf("--model-dir") + 1]).toBe(mount.mountPath);
    expect(pod.volumes.find((v: Any) => v.name === "models").persistentVolumeClaim.claimName).toBe((yamlDocs("deploy/k8s/pvc.yaml") as Any).metadata.name);
  });

  test("non-root, read-only root filesystem, resources sized from BENCHMARKS.md", () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBe(65532); // the image's nonroot user
    for (const c of [container, pod.initContainers[0]]) {
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    }
    // onnxruntime is extracted to GIGASTT_RUNTIME_DIR, which must be a writable volume
    expect(container.volumeMounts.some((m: Any) => env.GIGASTT_RUNTIME_DIR!.startsWith(`${m.mountPath}/`) && m.name !== "models")).toBe(true);
    const mem = benchMemory(config.workers);
    expect(mebibytes(container.resources.requests.memory)).toBeGreaterThan(mem.steady);
    expect(mebibytes(container.resources.limits.memory)).toBeGreaterThan(mem.peak);
    expect(Number(container.resources.requests.cpu)).toBe(config.workers);
  });

  test("the ingress's body cap and timeouts match the server's", () => {
    const ingress = yamlDocs("deploy/k8s/ingress.yaml") as Any;
    const a = ingress.metadata.annotations;
    expect(mebibytes(a["nginx.ingress.kubernetes.io/proxy-body-size"].replace(/m$/, "Mi")) * 1024 * 1024).toBe(config.bodyLimitBytes);
    expect(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(config.maxSessionSecs);
    expect(a["nginx.ingress.kubernetes.io/proxy-request-buffering"]).toBe("off");
    expect(ingress.spec.rules[0].host).toBe(config.allowHost[0]);
  });
});

describe("nginx and Caddy recipes", () => {
  const defaults = parse([], {});
  test("nginx: overwrites X-Forwarded-For, streams uploads, body cap and read timeout follow the server", () => {
    const conf = read("deploy/nginx/gigastt.conf");
    const live = conf.replace(/#.*$/gm, "");
    expect(live).toContain("proxy_set_header X-Forwarded-For $remote_addr;");
    expect(live).not.toContain("$proxy_add_x_forwarded_for");
    expect(live).toContain("proxy_request_buffering off;");
    expect(live).toMatch(/map \$http_upgrade \$connection_upgrade/);
    expect(Number(/client_max_body_size (\d+)m;/.exec(live)![1]) * 1024 * 1024).toBe(defaults.bodyLimitBytes);
    expect(Number(/proxy_read_timeout (\d+)s;/.exec(live)![1])).toBeGreaterThanOrEqual(defaults.maxSessionSecs);
    expect([...live.matchAll(/^\s*server (\S+:9876)/gm)]).toHaveLength(2);
  });

  test("Caddy: overwrites X-Forwarded-For, health-checks /ready, body cap follows the server", () => {
    const live = read("deploy/caddy/Caddyfile").replace(/#.*$/gm, "");
    expect(live).toContain("header_up X-Forwarded-For {remote_host}");
    expect(live).toContain("health_uri /ready");
    expect(Number(/max_size (\d+)MiB/.exec(live)![1]) * 1024 * 1024).toBe(defaults.bodyLimitBytes);
    expect(live).toContain("{$GIGASTT_UPSTREAMS:10.0.0.11:9876 10.0.0.12:9876}");
  });
});

// ---- metrics named by the dashboard, the alerts and the autoscaler ----------------

/** Families and the sample names they export, read from a live server's /metrics. */
let exported: Map<string, Set<string>>;
let server: RunningServer;
beforeAll(async () => {
  const config = parseServeConfig(["--port", "0", "--metrics", "--log-level", "silent"], {}, { isTTY: false, cpus: 1 });
  server = await startServer(config, { log: createLogger({ level: "silent", format: "json", write: () => {} }) });
  const text = await (await fetch(`${server.url}/metrics`)).text();
  exported = new Map();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, type] = [m[1]!, m[2]!];
    exported.set(name, new Set(type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name]));
  }
});
afterAll(async () => {
  await server?.stop();
});

/** labels the server exports, plus the ones Prometheus adds at scrape time */
const LABELS = new Set(["method", "path", "status", "code", "le", "instance", "job", "namespace", "pod"]);

function checkQuery(expr: string, where: string): void {
  const metrics = [...expr.matchAll(/\b(gigastt_[a-z_]+)\b/g)].map((m) => m[1]!);
  expect(metrics.length, `${where}: ${expr}`).toBeGreaterThan(0);
  const samples = new Set([...exported.values()].flatMap((s) => [...s]));
  for (const name of metrics) expect(samples.has(name), `${where} names ${name}, which /metrics does not export`).toBe(true);
  // no metric of another exporter (a bare identifier followed by { or [ that is not ours)
  for (const m of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)) expect(m[1]!.startsWith("gigastt_"), `${where}: ${m[1]} in ${expr}`).toBe(true);
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g))
    for (const label of m[1]!.split(",").map((s) => s.trim()).filter((s) => s && !s.startsWith("<<"))) expect(LABELS.has(label), `${where}: label ${label}`).toBe(true);
  for (const m of expr.matchAll(/[{,]\s*([a-z_]+)\s*(?:=~|!=|!~|=)/g)) expect(LABELS.has(m[1]!), `${where}: label ${m[1]}`).toBe(true);
}

function dashboardExprs(): string[] {
  const dash = JSON.parse(read("deploy/grafana/gigastt.json")) as Any;
  const out: string[] = [];
  for (const p of dash.panels) for (const t of p.targets) out.push(t.expr);
  for (const v of dash.templating.list) if (v.type === "query") out.push(String(v.definition).replace(/^label_values\((\w+),.*\)$/, "$1"));
  return out;
}

function alertExprs(): string[] {
  const doc = yamlDocs("deploy/prometheus/alerts.yml") as Any;
  return doc.groups.flatMap((g: Any) => g.rules.map((r: Any) => String(r.expr)));
}

function run(cmd: string[]): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, { cwd: join(DEPLOY, "prometheus"), stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

describe("dashboard, alerts and autoscaler queries", () => {
  test("every metric the dashboard queries is exported by /metrics", () => {
    expect(exported.get("gigastt_pool_in_use")).toEqual(new Set(["gigastt_pool_in_use"])); // the exposition was read
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThanOrEqual(12);
    exprs.forEach((e, i) => checkQuery(e, `dashboard query ${i}`));
    // together they cover the pool, WebSocket sessions, statuses, errors and the real-time factor
    const all = exprs.join("\n");
    for (const name of ["gigastt_pool_in_use", "gigastt_pool_size", "gigastt_ws_active_connections", "gigastt_http_requests_total", "gigastt_errors_total", "gigastt_inference_real_time_factor_bucket"])
      expect(all).toContain(name);
  });

  test("every metric the alerts query is exported by /metrics", () => {
    const exprs = alertExprs();
    exprs.forEach((e, i) => checkQuery(e, `alert ${i}`));
    const all = exprs.join("\n");
    for (const s of ["gigastt_pool_waiters", 'status="503"', 'status="429"', "gigastt_inference_real_time_factor_bucket", "gigastt_errors_total"]) expect(all).toContain(s);
  });

  test("the prometheus-adapter rule names exported metrics", () => {
    const docs = yamlDocs("deploy/k8s/hpa-pool.yaml") as Any[];
    const rules = (Bun.YAML.parse(docs[0].data["config.yaml"]) as Any).rules;
    for (const r of rules) {
      checkQuery(r.seriesQuery, "adapter seriesQuery");
      checkQuery(r.metricsQuery, "adapter metricsQuery");
    }
    expect(docs[1].spec.metrics[0].pods.metric.name).toBe(rules[0].name.as);
  });

  test("promtool: the alert rules and the scrape config are valid, and the alerts fire on their test series", () => {
    const rules = run(["promtool", "check", "rules", "alerts.yml"]);
    expect(rules.out).toContain("SUCCESS");
    expect(rules.code).toBe(0);
    const config = run(["promtool", "check", "config", "prometheus.yml"]);
    expect(config.code, config.out).toBe(0);
    const unit = run(["promtool", "test", "rules", "alerts.test.yml"]);
    expect(unit.code, unit.out).toBe(0);
  });

  test("promtool: every dashboard query, and the adapter's query with its template filled in, is valid PromQL", () => {
    const dir = mkdtempSync(join(tmpdir(), "gigastt-dash-"));
    const file = join(dir, "dashboard-rules.yml");
    const adapter = (Bun.YAML.parse((yamlDocs("deploy/k8s/hpa-pool.yaml") as Any[])[0].data["config.yaml"]) as Any).rules.map((r: Any) =>
      String(r.metricsQuery).replaceAll("<<.LabelMatchers>>", 'namespace="default",pod=~"gigastt-.*"').replaceAll("<<.GroupBy>>", "pod"),
    );
    const queries = [...dashboardExprs().map((e) => e.replaceAll("$__rate_interval", "5m").replaceAll("$job", ".+")), ...adapter];
    const rules = queries.map((expr, i) => ({ record: `deploy:query_${i}`, expr }));
    writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
    const p = Bun.spawnSync(["promtool", "check", "rules", file], { stdout: "pipe", stderr: "pipe" });
    expect(p.exitCode, p.stdout.toString() + p.stderr.toString()).toBe(0);
  });
});
