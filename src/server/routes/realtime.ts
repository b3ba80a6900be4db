/**
 * `GET /v1/realtime?intent=transcription`: OpenAI's Realtime transcription
 * WebSocket. Refused at the upgrade like `/v1/ws` (503 `shutting_down` /
 * `not_ready`; keys, Origin and Host by the platform) and for another
 * `intent` (400 `bad_message`); the session is a {@link RealtimeSession}
 * (an adapter over the same WsSession core as `/v1/ws`), fed raw frames
 * through the same transport ({@link attachRawSession}).
 */
import { Elysia } from "elysia";
import { GigasttError } from "../../errors.ts";
import type { ServerDeps } from "../deps.ts";
import { checkIntent, RealtimeSession } from "../streaming/realtime.ts";
import { attachRawSession, boundedSend, detachRawSession, type WsRouteOptions } from "./ws.ts";

export const REALTIME_PATH = "/v1/realtime";

interface UpgradeData {
  request: Request;
}

export function realtimeRoutes(deps: ServerDeps, opts: WsRouteOptions = {}) {
  return new Elysia({ name: "gigastt-realtime" }).ws(REALTIME_PATH, {
    upgrade(ctx) {
      if (deps.lifecycle.draining) throw new GigasttError("shutting_down");
      if (!deps.transcriber) throw new GigasttError("not_ready");
      checkIntent(new URL(ctx.request.url).searchParams.get("intent"));
    },
    open(ws) {
      const request = (ws.data as unknown as UpgradeData).request;
      const transcriber = deps.transcriber;
      const rc = deps.context(request);
      if (!transcriber) {
        ws.close(1011, "not ready");
        return;
      }
      const session = new RealtimeSession(
        { send: boundedSend(ws.raw, deps, rc.log), close: (code, reason) => ws.raw.close(code, reason), ping: () => ws.raw.ping() },
        {
          deps,
          transcriber,
          config: deps.config,
          log: rc.log,
          id: `${rc.id}:${crypto.randomUUID()}`,
          ...(opts.pingIntervalMs !== undefined ? { pingIntervalMs: opts.pingIntervalMs } : {}),
        },
      );
      // raw frames, as on /v1/ws: never parsed by Elysia before the size and nesting checks
      attachRawSession(ws.raw, session);
      session.start();
    },
    close(ws, code, reason) {
      (detachRawSession(ws.raw) as RealtimeSession | undefined)?.onClose(code, reason ?? "");
    },
  });
}
