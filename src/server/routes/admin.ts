/**
 * `POST /v1/admin/reload[?soft=true]`: swap in a freshly loaded model without
 * a restart (see ../reload.ts). Machine-local only: the TCP peer must be
 * loopback (checked here, whatever --bind-all, --cors-allow-any or
 * --trust-proxy say), and a request that a proxy forwarded for a non-loopback
 * client is refused too (a same-host reverse proxy makes every peer loopback).
 * API keys apply as on every other route (the platform checks them).
 */
import type { Server } from "bun";
import { Elysia } from "elysia";
import { GigasttError } from "../../errors.ts";
import { parseBool } from "../../values.ts";
import type { ServerDeps } from "../deps.ts";
import { isLoopbackAddress } from "../security.ts";
import { queryParam } from "../url.ts";

export const ADMIN_RELOAD_PATH = "/v1/admin/reload";

/** the addresses a proxy says it forwarded for (X-Forwarded-For, X-Real-IP, Forwarded: for=) */
export function forwardedFor(headers: Headers): string[] {
  const out: string[] = [];
  for (const part of (headers.get("x-forwarded-for") ?? "").split(",")) if (part.trim()) out.push(part.trim());
  const real = headers.get("x-real-ip")?.trim();
  if (real) out.push(real);
  for (const m of (headers.get("forwarded") ?? "").matchAll(/for=("[^"]*"|[^;,\s]+)/gi)) out.push(forwardedNode(m[1]!));
  return out;
}

/** RFC 7239 node: "[v6]:port", v4:port or a bare address (an obfuscated or `unknown` node stays as is: not loopback) */
function forwardedNode(raw: string): string {
  const v = raw.replace(/^"|"$/g, "").trim();
  if (v.startsWith("[")) return v.slice(1, v.indexOf("]") > 0 ? v.indexOf("]") : undefined);
  return v.split(":").length === 2 ? v.slice(0, v.indexOf(":")) : v;
}

/** loopback peer, and every client a proxy forwarded for is loopback too */
export function reloadAllowed(peer: string | null, headers: Headers): boolean {
  if (!isLoopbackAddress(peer)) return false;
  return forwardedFor(headers).every((a) => isLoopbackAddress(a));
}

export function adminRoutes(deps: ServerDeps) {
  return new Elysia({ name: "gigastt-admin" }).post(
    ADMIN_RELOAD_PATH,
    async ({ request, server }) => {
      const peer = (server as Server<unknown> | null)?.requestIP(request)?.address ?? null;
      if (!reloadAllowed(peer, request.headers)) {
        deps.context(request).log.warn("model reload refused: not from loopback", { peer });
        throw new GigasttError("loopback_only");
      }
      const softText = queryParam(request.url, "soft");
      const soft = softText === null || softText === "" ? false : parseBool(softText, "soft");
      if (!deps.reloader) throw new GigasttError("reload_unsupported");
      const result = await deps.reloader.reload({ soft });
      return new Response(JSON.stringify(result), { headers: { "content-type": "application/json; charset=utf-8" } });
    },
    { parse: "none" },
  );
}
