/**
 * Request gatekeeping, each rule resolved once into a matcher:
 * Origin allowlist (CSRF/drive-by), Host allowlist (DNS rebinding),
 * client IP behind trusted proxies, security headers, request ids.
 */
import { type Cidr, cidrContains, formatIp, type IpAddr, isLoopbackIp, parseCidr, parseIp } from "./net.ts";

// ---- Origin ------------------------------------------------------------------

export type OriginDecision =
  /** no Origin: allowed, no CORS headers */
  | { readonly allowed: true; readonly cors: null }
  /** allowed; `cors` is the Access-Control-Allow-Origin value */
  | { readonly allowed: true; readonly cors: string }
  | { readonly allowed: false; readonly cors: null };

const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?\/?$/i;

/**
 * Loopback origins (any port) always; listed origins on exact
 * (case-insensitive) match; `*` only with allowAny. `Origin: null` — sent by
 * sandboxed iframes, `data:`/`file:` pages and after cross-origin redirects,
 * so any web site can produce it — is a foreign origin: allowed only when
 * listed (`--allow-origin null`).
 */
export function createOriginPolicy(opts: { allowOrigin: readonly string[]; allowAny: boolean }): (origin: string | null) => OriginDecision {
  const listed = new Set(opts.allowOrigin.map((o) => o.toLowerCase()));
  return function originPolicy(origin) {
    if (origin === null || origin === "") return { allowed: true, cors: null };
    if (opts.allowAny) return { allowed: true, cors: "*" };
    if (LOOPBACK_ORIGIN.test(origin) || listed.has(origin.toLowerCase())) return { allowed: true, cors: origin };
    return { allowed: false, cors: null };
  };
}

/**
 * A same-origin request from a page this server served: the Origin's
 * `host[:port]` is the request's Host (which the Host policy has already
 * accepted), so the built-in page works on any address it is reached at.
 */
export function isSameOrigin(origin: string | null, host: string | null): boolean {
  if (!origin || !host) return false;
  const m = /^https?:\/\/([^/]+)\/?$/i.exec(origin);
  return m !== null && m[1]!.toLowerCase() === host.trim().toLowerCase();
}

// ---- Host ----------------------------------------------------------------------

/**
 * DNS-rebinding guard on the Host header. Accepted: loopback names and
 * addresses (`localhost`, `127.0.0.1`, `[::1]`) and the bound address, with
 * no port or the server's port; plus `--allow-host` entries (`name` matches
 * any port, `name:port` exactly). A wildcard bind without `--allow-host`
 * accepts any Host. A request without Host is not a browser: accepted.
 */
export function createHostPolicy(opts: {
  bindHost: string;
  wildcard: boolean;
  allowHost: readonly string[];
  /** the listening port (known after bind) */
  port: () => number;
}): (host: string | null) => boolean {
  if (opts.wildcard && opts.allowHost.length === 0) return () => true;
  const names = new Set(["localhost", "127.0.0.1", "[::1]"]);
  const bound = parseIp(opts.bindHost);
  if (bound && !(bound.bytes.every((b) => b === 0))) names.add(hostForm(bound));
  const anyPort = new Set<string>();
  const exact = new Set<string>();
  for (const h of opts.allowHost) {
    if (/:\d+$/.test(h) && !/^\[[^\]]*\]$/.test(h)) exact.add(h);
    else anyPort.add(h);
  }
  return function hostPolicy(host) {
    if (host === null || host === "") return true;
    const h = host.trim().toLowerCase();
    if (exact.has(h)) return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(h)!;
    const name = m[1]!;
    const port = m[2];
    if (anyPort.has(name)) return true;
    return names.has(name) && (port === undefined || Number(port) === opts.port());
  };
}

function hostForm(ip: IpAddr): string {
  return ip.family === 6 ? `[${formatIp(ip)}]` : formatIp(ip);
}

// ---- client IP -------------------------------------------------------------------

export interface ClientIp {
  /** the address the rate limiter keys on */
  readonly ip: string | null;
  /** whether the TCP peer is a trusted proxy */
  readonly viaTrustedProxy: boolean;
}

/**
 * The TCP peer, unless it is a trusted proxy: then `X-Forwarded-For` is
 * walked from the right, skipping trusted hops; the right-most untrusted
 * address wins (falling back to `X-Real-IP`, then the peer).
 */
export function createClientIpResolver(trustProxy: readonly string[]): (peer: string | null, headers: Headers) => ClientIp {
  const cidrs = trustProxy.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== null);
  const trusted = (a: IpAddr) => cidrs.some((c) => cidrContains(c, a));
  return function clientIp(peerText, headers) {
    const peer = peerText ? parseIp(peerText) : null;
    if (!peer) return { ip: peerText || null, viaTrustedProxy: false };
    if (cidrs.length === 0 || !trusted(peer)) return { ip: formatIp(peer), viaTrustedProxy: false };
    const xff = headers.get("x-forwarded-for");
    if (xff) {
      const hops = xff.split(",").map((s) => s.trim());
      let last = peer;
      for (let i = hops.length - 1; i >= 0; i--) {
        const a = parseIp(hops[i]!);
        if (!a) break; // garbage: keep the last address we could vouch for
        last = a;
        if (!trusted(a)) return { ip: formatIp(a), viaTrustedProxy: true };
      }
      return { ip: formatIp(last), viaTrustedProxy: true };
    }
    const real = headers.get("x-real-ip");
    const a = real ? parseIp(real) : null;
    return { ip: formatIp(a ?? peer), viaTrustedProxy: true };
  };
}

export function isLoopbackAddress(text: string | null): boolean {
  const a = text ? parseIp(text) : null;
  return a !== null && isLoopbackIp(a);
}

// ---- response headers -------------------------------------------------------------

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
});

export const HSTS = "max-age=31536000";

/** HSTS only when a trusted proxy says the client used HTTPS. */
export function wantsHsts(viaTrustedProxy: boolean, headers: Headers): boolean {
  if (!viaTrustedProxy) return false;
  const proto = headers.get("x-forwarded-proto");
  if (!proto) return false;
  const last = proto.split(",").at(-1)!.trim().toLowerCase();
  return last === "https";
}

// ---- request id ---------------------------------------------------------------------

const SAFE_REQUEST_ID = /^[A-Za-z0-9._~:@+=\/-]{1,128}$/;

/** The client's X-Request-Id when it is ≤ 128 safe characters, else a fresh UUIDv7. */
export function requestIdFor(incoming: string | null, mint: () => string = () => Bun.randomUUIDv7()): string {
  if (incoming !== null && SAFE_REQUEST_ID.test(incoming)) return incoming;
  return mint();
}
