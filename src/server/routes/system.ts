/**
 * Platform routes: `GET /` (an index of the API: JSON, or HTML for a
 * browser), `GET /health` (liveness), `GET /ready` (readiness),
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

export const DOCS_URL = "https://github.com/gigastt/gigastt#server";

/** Every route the server mounts, for `GET /` (test/server/index.test.ts checks it against the route table). */
export const ENDPOINTS: readonly { readonly method: string; readonly path: string; readonly what: string }[] = Object.freeze([
  { method: "GET", path: "/", what: "this index" },
  { method: "GET", path: "/health", what: "liveness (200 while the process runs)" },
  { method: "GET", path: "/ready", what: "readiness (503 while the model loads or the server drains)" },
  { method: "GET", path: "/v1/models", what: "the model and the server's capabilities" },
  { method: "POST", path: "/v1/transcribe", what: "audio (raw body or multipart file) → json, text, srt or vtt (?format=)" },
  { method: "POST", path: "/v1/transcribe/stream", what: "audio → Server-Sent Events (partial, final, done)" },
  { method: "POST", path: "/v1/audio/transcriptions", what: "OpenAI-compatible transcription (multipart form)" },
  { method: "POST", path: "/v1/jobs", what: "with --enable-jobs: audio as for /v1/transcribe → 202 {job_id} (Idempotency-Key)" },
  { method: "GET", path: "/v1/jobs", what: "jobs kept, newest first (?status=, ?limit=, ?cursor=)" },
  { method: "GET", path: "/v1/jobs/:id", what: "a job's status and progress" },
  { method: "GET", path: "/v1/jobs/:id/result", what: "a finished job's transcript (?format=)" },
  { method: "DELETE", path: "/v1/jobs/:id", what: "cancel a queued or processing job" },
  { method: "GET", path: "/v1/jobs/:id/events", what: "a job's progress as Server-Sent Events (progress, done, failed, cancelled)" },
  { method: "GET", path: "/v1/ws", what: "WebSocket streaming, protocol 1.0 (PCM16; ?sample_rate=, default 48000)" },
  { method: "GET", path: "/metrics", what: "Prometheus metrics (with --metrics)" },
]);

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function indexHtml(): string {
  const rows = ENDPOINTS.map((e) => `<li><code>${e.method} ${escapeHtml(e.path)}</code> — ${escapeHtml(e.what)}</li>`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gigastt ${escapeHtml(pkg.version)}</title></head>
<body>
<h1>gigastt ${escapeHtml(pkg.version)}</h1>
<p>Local Russian speech-to-text (${escapeHtml(MODEL_NAME)}). There is no web page yet: this server speaks HTTP, SSE and WebSocket APIs.
Documentation: <a href="${DOCS_URL}">${DOCS_URL}</a></p>
<ul>
${rows}
</ul>
<p>Try: <code>curl -F file=@talk.wav http://HOST:PORT/v1/transcribe</code></p>
</body></html>
`;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

export function systemRoutes(deps: ServerDeps) {
  const pool = () => ({ pool_available: Math.max(0, deps.admission.size - deps.admission.inUse), pool_total: deps.admission.size });
  return new Elysia({ name: "gigastt-system" })
    .get("/", ({ request }) => {
      // a browser gets a page, everything else JSON
      if (/\btext\/html\b/.test(request.headers.get("accept") ?? ""))
        return new Response(indexHtml(), { headers: { "content-type": "text/html; charset=utf-8" } });
      return json({ name: "gigastt", version: pkg.version, model: MODEL_ID, docs: DOCS_URL, endpoints: ENDPOINTS });
    })
    .get("/health", () => json({ status: "ok", version: pkg.version, model: MODEL_ID }))
    .get("/ready", () => {
      // busy slots are not "unready": under full load the server still admits (FIFO) work
      if (deps.lifecycle.draining) return json({ status: "not_ready", reason: "shutting_down", ...pool() }, 503);
      if (!deps.transcriber) return json({ status: "not_ready", reason: "loading", ...pool() }, 503);
      // every inference Worker died and none could be restarted: nothing can be transcribed
      if (deps.transcriber.available === false) return json({ status: "not_ready", reason: "workers_down", ...pool() }, 503);
      return json({ status: "ready", ...pool() });
    })
    .get("/v1/models", () => {
      const t = deps.transcriber;
      if (!t) throw new GigasttError("not_ready");
      return json({
        // OpenAI clients list models from `object` + `data` (client.models.list()); Rust clients read the rest
        object: "list",
        data: [{ id: MODEL_ID, object: "model", created: 0, owned_by: "gigastt" }],
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
    .get("/metrics", async () => {
      if (!deps.metrics.enabled) throw new GigasttError("metrics_disabled");
      return new Response(await deps.metrics.render(), { headers: { "content-type": deps.metrics.contentType } });
    });
}
