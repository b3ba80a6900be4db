/**
 * `--metrics-listen ADDR:PORT`: Prometheus `GET /metrics` on a listener of its own, as the Rust
 * gigastt serves it (default there 127.0.0.1:9090), so a scraper reaches it without the main
 * port's API keys, origin checks and rate limiter, and the main port no longer serves it.
 */
import type { Server } from "bun";
import { GigasttError } from "../errors.ts";

export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsListener {
  /** `http://host:port` (IPv6 bracketed) */
  readonly url: string;
  stop(): Promise<void>;
}

function jsonError(status: number, code: string, message: string, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: message, code }), { status, headers: { "content-type": "application/json", "x-content-type-options": "nosniff", ...extra } });
}

export function startMetricsListener(metrics: MetricsSource, at: { readonly host: string; readonly port: number }): MetricsListener {
  let server: Server<unknown>;
  try {
    server = Bun.serve({
      hostname: at.host,
      port: at.port,
      development: false,
      async fetch(req) {
        const path = new URL(req.url).pathname;
        if (path !== "/metrics") return jsonError(404, "not_found", "Not found");
        if (req.method !== "GET" && req.method !== "HEAD") return jsonError(405, "method_not_allowed", "Method not allowed", { allow: "GET, HEAD" });
        const body = await metrics.render();
        return new Response(req.method === "HEAD" ? null : body, { headers: { "content-type": metrics.contentType, "x-content-type-options": "nosniff" } });
      },
    });
  } catch (e) {
    const where = `${at.host.includes(":") ? `[${at.host}]` : at.host}:${at.port}`;
    const code = (e as NodeJS.ErrnoException)?.code;
    const why = code === "EADDRINUSE" ? "the address is already in use" : code === "EACCES" ? "permission denied" : code === "EADDRNOTAVAIL" ? "the address is not available on this machine" : String((e as Error)?.message ?? e);
    throw new GigasttError("bind_refused", `cannot listen on ${where} for --metrics-listen: ${why}`, { cause: e });
  }
  const host = at.host.includes(":") ? `[${at.host}]` : at.host;
  return {
    url: `http://${host}:${server.port}`,
    stop: async () => void (await server.stop(true)),
  };
}
