/**
 * `gigastt healthcheck [--ready] [--port N] [--url URL] [--timeout-ms N]`:
 * probes a running server's `/health` (liveness) or, with `--ready`, its
 * `/ready` (200 only once the model is loaded, 503 while it downloads/loads
 * or drains) and exits 0 when it answers 2xx, 1 otherwise. The distroless
 * image has no shell or curl, so its HEALTHCHECK runs this.
 *
 * Where: `--url` as given; else `http://HOST:PORT/health|ready` with PORT
 * from `--port`, else `GIGASTT_PORT` (the server's own port variable), else
 * 9876, and HOST from `GIGASTT_HOST` when it is a concrete address (a
 * wildcard bind 0.0.0.0 / :: is probed on 127.0.0.1), else 127.0.0.1. So a
 * container started with `GIGASTT_PORT=…` needs no other setting.
 * Loads nothing but fetch (no model, no onnxruntime).
 */
import { defineCommand } from "citty";
import { EXIT, GigasttError } from "../errors.ts";
import { isWildcardIp, parseIp } from "../server/net.ts";

export const DEFAULT_PORT = 9876;
export const DEFAULT_HEALTH_URL = `http://127.0.0.1:${DEFAULT_PORT}/health`;
export const DEFAULT_TIMEOUT_MS = 3000;

type Env = Record<string, string | undefined>;

export interface ProbeResult {
  readonly healthy: boolean;
  /** HTTP status, when the server answered */
  readonly status?: number;
  /** why the probe failed, when it did */
  readonly reason?: string;
}

export interface HealthArgs {
  readonly url?: string;
  readonly timeoutMs?: string;
  /** probe /ready instead of /health */
  readonly ready?: boolean;
  readonly port?: string;
}

function parsePort(text: string, from: string): number {
  const v = text.trim();
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new GigasttError("usage", `invalid value '${text}' for '${from}': expected a port 1..65535`);
  return Number(v);
}

/** `GIGASTT_HOST` as a probe target: a concrete address as is (IPv6 bracketed), a wildcard or nothing → loopback. */
export function probeHost(host: string | undefined): string {
  const v = host?.trim() ?? "";
  if (v === "" || v.toLowerCase() === "localhost") return "127.0.0.1";
  const ip = parseIp(v);
  if (!ip) throw new GigasttError("usage", `invalid value '${host}' for 'GIGASTT_HOST': expected an IP address or localhost`);
  if (isWildcardIp(ip)) return "127.0.0.1";
  const raw = v.replace(/^\[|\]$/g, "");
  return raw.includes(":") ? `[${raw}]` : raw;
}

/** Validates the target (http/https only) and the timeout; throws `usage` when bad. */
export function parseHealthArgs(args: HealthArgs = {}, env: Env = {}): { url: URL; timeoutMs: number } {
  let u: URL;
  if (args.url !== undefined) {
    if (args.port !== undefined) throw new GigasttError("usage", "--url and --port exclude each other (put the port in the URL)");
    try {
      u = new URL(args.url);
    } catch {
      throw new GigasttError("usage", `invalid --url '${args.url}'`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new GigasttError("usage", `--url must be http or https, got '${u.protocol}'`);
    // --ready with a bare server URL probes its /ready
    if (args.ready && (u.pathname === "/" || u.pathname === "")) u = new URL("/ready", u);
  } else {
    const envPort = env.GIGASTT_PORT?.trim();
    const port = args.port !== undefined ? parsePort(args.port, "--port") : envPort ? parsePort(envPort, "GIGASTT_PORT") : DEFAULT_PORT;
    u = new URL(`http://${probeHost(env.GIGASTT_HOST)}:${port}/${args.ready ? "ready" : "health"}`);
  }
  const t = args.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : Number(args.timeoutMs);
  if (!Number.isInteger(t) || t < 1 || t > 600_000) throw new GigasttError("usage", `--timeout-ms must be an integer in 1..600000, got '${args.timeoutMs}'`);
  return { url: u, timeoutMs: t };
}

/** One GET with a deadline; never throws. */
export async function probeHealth(url: URL, timeoutMs: number, fetchImpl: typeof fetch = fetch): Promise<ProbeResult> {
  try {
    const res = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual", headers: { accept: "application/json" } });
    // /ready's 503 says why (initializing, pool_exhausted, shutting_down)
    let reason = `HTTP ${res.status}`;
    let code: string | undefined;
    if (res.status < 200 || res.status >= 300) {
      const body = await res.text().catch(() => "");
      try {
        const r = (JSON.parse(body) as { reason?: unknown }).reason;
        if (typeof r === "string" && /^[a-z_]{1,40}$/.test(r)) {
          reason += ` (${r})`;
          code = r;
        }
      } catch {}
    } else await res.body?.cancel().catch(() => {});
    // every slot busy is "send new work elsewhere" for a balancer, not a sick container (a HEALTHCHECK
    // failing under load would get a busy server restarted): loaded, not draining → healthy
    if (res.status === 503 && code === "pool_exhausted") return { healthy: true, status: res.status };
    return res.status >= 200 && res.status < 300 ? { healthy: true, status: res.status } : { healthy: false, status: res.status, reason };
  } catch (e) {
    const err = e as Error;
    const reason = err.name === "TimeoutError" || err.name === "AbortError" ? `no answer within ${timeoutMs} ms` : err.message || String(e);
    return { healthy: false, reason };
  }
}

export function makeHealthcheckCommand(deps: { env?: Env; stdout?: (s: string) => void; stderr?: (s: string) => void } = {}) {
  return defineCommand({
    meta: { name: "healthcheck", description: "Probe a running server's /health (or /ready with --ready): exit 0 when healthy, 1 when not (for container HEALTHCHECK)" },
    args: {
      ready: { type: "boolean", description: "Probe /ready: healthy only once the model is loaded (not while it downloads or loads, nor while draining; every slot busy still counts as healthy)" },
      port: { type: "string", description: `server port (default $GIGASTT_PORT, else ${DEFAULT_PORT}); the host is $GIGASTT_HOST unless it is a wildcard, else 127.0.0.1`, valueHint: "PORT" },
      url: { type: "string", description: `full URL to probe instead (default ${DEFAULT_HEALTH_URL})`, valueHint: "URL" },
      "timeout-ms": { type: "string", description: `give up after this many milliseconds (default ${DEFAULT_TIMEOUT_MS})`, valueHint: "MS" },
    },
    async run({ args }) {
      const { url, timeoutMs } = parseHealthArgs(
        { url: args.url, timeoutMs: args["timeout-ms"], ready: Boolean(args.ready), port: args.port },
        deps.env ?? process.env,
      );
      const r = await probeHealth(url, timeoutMs);
      if (r.healthy) {
        (deps.stdout ?? ((s) => void process.stdout.write(s)))(`healthy: ${url.href} answered ${r.status}\n`);
        return EXIT.ok;
      }
      (deps.stderr ?? ((s) => void process.stderr.write(s)))(`unhealthy: ${url.href}: ${r.reason}\n`);
      return EXIT.runtime;
    },
  });
}

export default makeHealthcheckCommand();
