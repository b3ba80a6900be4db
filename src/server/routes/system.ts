/**
 * Platform routes: `GET /health` (liveness), `GET /ready` (readiness),
 * `GET /v1/models` (capabilities), `GET /metrics` (Prometheus, opt-in).
 */
import { Elysia } from "elysia";
import pkg from "../../../package.json" with { type: "json" };
import { GigasttError } from "../../errors.ts";
import { SAMPLE_RATE } from "../../types.ts";
import type { ServerDeps } from "../deps.ts";
import { MODEL_ID, PROTOCOL_VERSION, SUPPORTED_RATES } from "../streaming/protocol.ts";

export const MODEL_NAME = "GigaAM v3 RNN-T";
/** containers decoded (src/audio/decoder.ts), by their usual extension */
export const SUPPORTED_FORMATS = Object.freeze(["wav", "mp3", "flac", "ogg", "opus", "webm", "m4a", "mp4", "aac"] as const);
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

export function systemRoutes(deps: ServerDeps) {
  const pool = () => ({ pool_available: Math.max(0, deps.admission.size - deps.admission.inUse), pool_total: deps.admission.size });
  return new Elysia({ name: "gigastt-system" })
    .get("/health", () => json({ status: "ok", version: pkg.version, model: MODEL_ID }))
    .get("/ready", () => {
      // busy slots are not "unready": under full load the server still admits (FIFO) work
      if (deps.lifecycle.draining) return json({ status: "not_ready", reason: "shutting_down", ...pool() }, 503);
      if (!deps.transcriber) return json({ status: "not_ready", reason: "loading", ...pool() }, 503);
      return json({ status: "ready", ...pool() });
    })
    .get("/v1/models", () => {
      const t = deps.transcriber;
      if (!t) throw new GigasttError("not_ready");
      return json({
        id: MODEL_ID,
        name: MODEL_NAME,
        version: pkg.version,
        precision: t.info.precision,
        encoder: t.info.precision,
        // the encoder streaming partials run on (finals and files always use `encoder`)
        partial_encoder: t.info.partialEncoder ? "int8" : t.info.precision,
        vocab_size: t.info.vocabSize,
        sample_rate: SAMPLE_RATE,
        pool_size: deps.admission.size,
        pool_available: pool().pool_available,
        workers: t.info.workers,
        supported_formats: SUPPORTED_FORMATS,
        supported_rates: SUPPORTED_RATES,
        diarization: false,
        capabilities: {
          rest: true,
          sse: true,
          websocket: true,
          protocol_version: PROTOCOL_VERSION,
          output_formats: ["json", "text", "srt", "vtt"],
          word_timestamps: true,
          diarization: false,
        },
      });
    })
    .get("/metrics", () => {
      if (!deps.metrics.enabled) throw new GigasttError("metrics_disabled");
      return new Response(deps.metrics.render(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
    });
}
