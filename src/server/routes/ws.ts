/**
 * `GET /v1/ws`: WebSocket protocol 1.0. The upgrade is refused with an HTTP
 * error while draining (503 `shutting_down`), before the model is loaded (503
 * `not_ready`) or for a bad `?sample_rate=` (400 `invalid_sample_rate`); after
 * the upgrade everything happens in a {@link WsSession}.
 *
 * The frame cap (`--ws-frame-max-bytes`) is checked by the session: `error
 * frame_too_large`, the `final`, close 1009. Bun's `maxPayloadLength` (twice
 * the cap, set by the app) cuts anything larger with a bare 1009.
 *
 * Frames reach the session as they arrived ({@link WS_TRANSPORT}, installed
 * on Bun's WebSocket handler by the server): Elysia would `JSON.parse` every
 * text frame that looks like JSON before any size or nesting check, so a
 * frame of `[[[…]]]` is never handed to it.
 */
import { Elysia } from "elysia";
import { GigasttError } from "../../errors.ts";
import type { ServerDeps } from "../deps.ts";
import { queryParam } from "../url.ts";
import { parseRateParam } from "../streaming/protocol.ts";
import { WsSession } from "../streaming/ws-session.ts";

interface UpgradeData {
  request: Request;
}

/**
 * Bytes Bun may hold for a client that does not read (Bun's `backpressureLimit`; its default is
 * 16 MiB). Our messages are small and few — a session that has this much unread is not reading,
 * and is cut (see the peer's `send`).
 */
export const WS_OUTBOUND_LIMIT = 1 << 20;

/** what a raw frame is handed to (a protocol-1.0 WsSession, or the Realtime adapter) */
export interface RawFrameSink {
  onMessage(frame: unknown): void;
  /** the client answered a keepalive ping */
  onPong?(): void;
}

/** the session of each Bun socket (keyed by the socket, so one map serves every app) */
const sessions = new WeakMap<object, RawFrameSink>();

/** route a socket's raw frames to `sink` (every gigastt WebSocket route does, so Elysia never parses them) */
export function attachRawSession(socket: object, sink: RawFrameSink): void {
  sessions.set(socket, sink);
}

/** stop routing a socket's frames; returns the sink it had */
export function detachRawSession(socket: object): RawFrameSink | undefined {
  const s = sessions.get(socket);
  sessions.delete(socket);
  return s;
}

/**
 * A peer `send` that cuts a client which does not read (Bun's outbound buffer past
 * {@link WS_OUTBOUND_LIMIT}: it returned 0), logged with code `backlog_exceeded`.
 */
export function boundedSend(
  raw: { sendText(t: string): number; terminate(): void },
  deps: Pick<ServerDeps, "metrics">,
  log: { warn(msg: string, fields: Record<string, unknown>): void },
): (text: string) => void {
  let overflowed = false;
  return (text) => {
    // 0: Bun dropped it — more than WS_OUTBOUND_LIMIT bytes wait for a client that does not read
    if (raw.sendText(text) !== 0 || overflowed) return;
    overflowed = true;
    log.warn("ws client does not read its messages: closing", { code: "backlog_exceeded", limit_bytes: WS_OUTBOUND_LIMIT });
    deps.metrics.error("backlog_exceeded");
    raw.terminate(); // a close frame would wait behind the unread data
  };
}

type RawFrame = string | Uint8Array | ArrayBuffer;

/**
 * Bun's `websocket.message`, replacing Elysia's: the raw frame goes straight
 * to its session (sockets of other Elysia WS routes keep Elysia's handler).
 */
export const WS_TRANSPORT = {
  message(ws: { data?: unknown }, message: RawFrame): void {
    const s = sessions.get(ws);
    if (s) {
      s.onMessage(message);
      return;
    }
    (ws.data as { message?: (ws: unknown, m: RawFrame) => unknown } | undefined)?.message?.(ws, message);
  },
  pong(ws: object): void {
    sessions.get(ws)?.onPong?.();
  },
};

/** options of the WebSocket routes (tests shorten the keepalive) */
export interface WsRouteOptions {
  /** server ping interval (default 30 s; 0 = none) */
  readonly pingIntervalMs?: number;
}

export function wsRoutes(deps: ServerDeps, opts: WsRouteOptions = {}) {
  return new Elysia({ name: "gigastt-ws" }).ws("/v1/ws", {
    upgrade(ctx) {
      if (deps.lifecycle.draining) throw new GigasttError("shutting_down");
      if (!deps.transcriber) throw new GigasttError("not_ready");
      parseRateParam(queryParam(ctx.request.url, "sample_rate"));
    },
    open(ws) {
      const data = ws.data as unknown as UpgradeData;
      const request = data.request;
      const transcriber = deps.transcriber;
      const rc = deps.context(request);
      if (!transcriber) {
        ws.close(1011, "not ready");
        return;
      }
      const sampleRate = parseRateParam(queryParam(request.url, "sample_rate"));
      const session = new WsSession(
        {
          send: boundedSend(ws.raw, deps, rc.log),
          close: (code, reason) => ws.raw.close(code, reason),
          ping: () => ws.raw.ping(),
        },
        {
          deps,
          transcriber,
          config: deps.config,
          log: rc.log,
          id: `${rc.id}:${crypto.randomUUID()}`,
          ...(sampleRate !== undefined ? { sampleRate } : {}),
          ...(opts.pingIntervalMs !== undefined ? { pingIntervalMs: opts.pingIntervalMs } : {}),
        },
      );
      attachRawSession(ws.raw, session);
      session.start();
    },
    close(ws, code, reason) {
      (detachRawSession(ws.raw) as WsSession | undefined)?.onClose(code, reason ?? "");
    },
  });
}
