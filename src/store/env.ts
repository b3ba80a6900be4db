/**
 * Store settings read from the environment (injected, never process.env directly):
 * precision, offline switch, Hugging Face endpoint and token, proxy selection.
 */
import { GigasttError } from "../errors.ts";
import { parseBool, parsePrecision } from "../values.ts";
import type { Precision } from "../types.ts";
import { DEFAULT_ENDPOINT } from "./catalog.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** Boolean env values: 1/0, true/false, yes/no, on/off (case-insensitive); unset or empty → fallback. */
export function parseBoolEnv(name: string, value: string | undefined, fallback = false): boolean {
  if (value === undefined || value.trim() === "") return fallback;
  return parseBool(value, name);
}

export { parsePrecision };

/** `--precision` flag > GIGASTT_PRECISION > fp32 */
export function resolvePrecision(flag: string | undefined, env: Env): Precision {
  if (flag !== undefined && flag !== "") return parsePrecision(flag, "--precision");
  const e = env.GIGASTT_PRECISION;
  if (e !== undefined && e.trim() !== "") return parsePrecision(e, "GIGASTT_PRECISION");
  return "fp32";
}

/** `--offline` flag (when true) or GIGASTT_OFFLINE */
export function resolveOffline(flag: boolean | undefined, env: Env): boolean {
  return flag === true || parseBoolEnv("GIGASTT_OFFLINE", env.GIGASTT_OFFLINE);
}

export function resolveSkipQuantize(flag: boolean | undefined, env: Env): boolean {
  return flag === true || parseBoolEnv("GIGASTT_SKIP_QUANTIZE", env.GIGASTT_SKIP_QUANTIZE);
}

export function hfEndpoint(env: Env): string {
  const e = env.HF_ENDPOINT?.trim();
  if (!e) return DEFAULT_ENDPOINT;
  let u: URL;
  try {
    u = new URL(e);
  } catch {
    throw new GigasttError("invalid_config", `invalid HF_ENDPOINT '${e}': expected an http(s) URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new GigasttError("invalid_config", `invalid HF_ENDPOINT '${e}': expected an http(s) URL`);
  return e.replace(/\/+$/, "");
}

export function hfToken(env: Env): string | undefined {
  const t = env.HF_TOKEN?.trim();
  return t ? t : undefined;
}

function pick(env: Env, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()];
  return v?.trim() ? v.trim() : undefined;
}

/**
 * Does NO_PROXY exempt this URL? Entries are comma/space separated: `*`, a host name
 * (matches itself and its subdomains, a leading `.` or `*.` is allowed), an IP, or `host:port`.
 */
export function noProxyMatches(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (let entry of noProxy.split(/[,\s]+/)) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    let entryPort: string | undefined;
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(entry);
    if (m && !(entry.split(":").length > 2 && !entry.startsWith("["))) {
      entry = m[1]!;
      entryPort = m[2];
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, "");
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** The proxy for a URL: HTTPS_PROXY for https (HTTP_PROXY for http), unless NO_PROXY exempts it. */
export function proxyFor(url: string, env: Env): string | undefined {
  const u = new URL(url);
  const proxy = u.protocol === "https:" ? pick(env, "HTTPS_PROXY") : pick(env, "HTTP_PROXY");
  if (!proxy) return undefined;
  if (noProxyMatches(u, pick(env, "NO_PROXY"))) return undefined;
  return proxy;
}
