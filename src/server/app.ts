/**
 * The Elysia app: platform layers first, then the routes. Glue only.
 */
import { Elysia } from "elysia";
import type { ServerDeps } from "./deps.ts";
import type { Platform } from "./platform.ts";
import { adminRoutes } from "./routes/admin.ts";
import { jobsRoutes } from "./routes/jobs.ts";
import { openaiRoutes } from "./routes/openai.ts";
import { realtimeRoutes } from "./routes/realtime.ts";
import { systemRoutes } from "./routes/system.ts";
import { transcribeRoutes } from "./routes/transcribe.ts";
import { wsRoutes } from "./routes/ws.ts";
import { transportFrameLimit } from "./streaming/ws-session.ts";

// biome-ignore lint/suspicious/noExplicitAny: any Elysia plugin instance
export type RouteFactory = (deps: ServerDeps) => Elysia<any, any, any, any, any, any, any>;

/** The transcription routes (REST, SSE, WebSocket, OpenAI-compatible, OpenAI Realtime, jobs). */
export const DEFAULT_ROUTES: readonly RouteFactory[] = [transcribeRoutes, wsRoutes, openaiRoutes, realtimeRoutes, jobsRoutes];

export function createApp(deps: ServerDeps, platform: Platform, routes: readonly RouteFactory[] = DEFAULT_ROUTES) {
  const app = platform.install(
    new Elysia({
      // the session enforces the cap itself (error frame_too_large, then 1009); Bun's limit is the backstop
      websocket: { maxPayloadLength: transportFrameLimit(deps.config.wsFrameMaxBytes) },
    }),
  );
  app.use(systemRoutes(deps));
  app.use(adminRoutes(deps));
  for (const r of routes) app.use(r(deps));
  return app;
}

/** method → paths of the mounted routes (`WS` routes are listed as GET too) */
export function routeTable(app: { routes: ReadonlyArray<{ method: string; path: string }> }): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of app.routes) {
    for (const m of r.method === "WS" ? ["GET"] : [r.method]) {
      if (!out.has(m)) out.set(m, new Set());
      out.get(m)!.add(r.path);
    }
  }
  return out;
}

/** paths of the mounted WebSocket routes */
export function wsPaths(app: { routes: ReadonlyArray<{ method: string; path: string }> }): Set<string> {
  return new Set(app.routes.filter((r) => r.method === "WS").map((r) => r.path));
}
