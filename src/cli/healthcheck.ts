/**
 * `gigastt healthcheck [--url URL] [--timeout-ms N]`: probes a running
 * server's `/health` and exits 0 when it answers 2xx, 1 otherwise. The
 * distroless image has no shell or curl, so its HEALTHCHECK runs this.
 * Loads nothing but fetch (no model, no onnxruntime).
 */
import { defineCommand } from "citty";
import { EXIT, GigasttError } from "../errors.ts";

export const DEFAULT_HEALTH_URL = "http://127.0.0.1:9876/health";
export const DEFAULT_TIMEOUT_MS = 3000;

export interface ProbeResult {
  readonly healthy: boolean;
  /** HTTP status, when the server answered */
  readonly status?: number;
  /** why the probe failed, when it did */
  readonly reason?: string;
}

/** Validates the URL (http/https only) and the timeout; throws `usage` when bad. */
export function parseHealthArgs(url: string | undefined, timeoutMs: string | undefined): { url: URL; timeoutMs: number } {
  let u: URL;
  try {
    u = new URL(url ?? DEFAULT_HEALTH_URL);
  } catch {
    throw new GigasttError("usage", `invalid --url '${url}'`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new GigasttError("usage", `--url must be http or https, got '${u.protocol}'`);
  const t = timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : Number(timeoutMs);
  if (!Number.isInteger(t) || t < 1 || t > 600_000) throw new GigasttError("usage", `--timeout-ms must be an integer in 1..600000, got '${timeoutMs}'`);
  return { url: u, timeoutMs: t };
}

/** One GET with a deadline; never throws. */
export async function probeHealth(url: URL, timeoutMs: number, fetchImpl: typeof fetch = fetch): Promise<ProbeResult> {
  try {
    const res = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual", headers: { accept: "application/json" } });
    await res.body?.cancel().catch(() => {});
    return res.status >= 200 && res.status < 300 ? { healthy: true, status: res.status } : { healthy: false, status: res.status, reason: `HTTP ${res.status}` };
  } catch (e) {
    const err = e as Error;
    const reason = err.name === "TimeoutError" || err.name === "AbortError" ? `no answer within ${timeoutMs} ms` : err.message || String(e);
    return { healthy: false, reason };
  }
}

export default defineCommand({
  meta: { name: "healthcheck", description: "Probe a running server's /health: exit 0 when healthy, 1 when not (for container HEALTHCHECK)" },
  args: {
    url: { type: "string", description: `health URL (default ${DEFAULT_HEALTH_URL})`, valueHint: "URL" },
    "timeout-ms": { type: "string", description: `give up after this many milliseconds (default ${DEFAULT_TIMEOUT_MS})`, valueHint: "MS" },
  },
  async run({ args }) {
    const { url, timeoutMs } = parseHealthArgs(args.url, args["timeout-ms"]);
    const r = await probeHealth(url, timeoutMs);
    if (r.healthy) {
      process.stdout.write(`healthy: ${url.href} answered ${r.status}\n`);
      return EXIT.ok;
    }
    process.stderr.write(`unhealthy: ${url.href}: ${r.reason}\n`);
    return EXIT.runtime;
  },
});
