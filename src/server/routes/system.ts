/**
 * Platform routes: `GET /` (an index of the API as JSON, or for a browser
 * the built-in page — 404 with `--no-ui`), `GET /ui/worklet.js` (the page's
 * AudioWorklet), `GET /health` (liveness), `GET /ready` (readiness),
 * `GET /v1/models` (capabilities), `GET /metrics` (Prometheus, opt-in).
 */
import { Elysia } from "elysia";
import pkg from "../../../package.json" with { type: "json" };
import { GigasttError } from "../../errors.ts";
import { SAMPLE_RATE } from "../../types.ts";
import type { ServerDeps } from "../deps.ts";
import { E2E_RNNT_HEAD } from "../../model/head.ts";
import { MODEL_ID, PROTOCOL_VERSION, SUPPORTED_RATES } from "../streaming/protocol.ts";
import { PAGE_CSP, PERMISSIONS_POLICY, pageHtml, WORKLET_CSP, WORKLET_JS, WORKLET_PATH } from "../ui/page.ts";

/** containers decoded (src/audio/decoder.ts), by their usual extension */
export const SUPPORTED_FORMATS = Object.freeze(["wav", "mp3", "flac", "ogg", "opus", "webm", "m4a", "mp4", "aac"] as const);
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

export const DOCS_URL = "https://github.com/gigastt/gigastt#server";

/** Every route the server mounts, for `GET /` (test/server/index.test.ts checks it against the route table). */
export const ENDPOINTS: readonly { readonly method: string; readonly path: string; readonly what: string }[] = Object.freeze([
  { method: "GET", path: "/", what: "this index (JSON); a browser gets the built-in page (live microphone, files)" },
  { method: "GET", path: WORKLET_PATH, what: "the page's audio worklet" },
  { method: "GET", path: "/health", what: "liveness (200 while the process runs)" },
  { method: "GET", path: "/ready", what: "readiness (503 while the model loads, every slot is busy, or the server drains)" },
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
  { method: "GET", path: "/v1/realtime", what: "OpenAI Realtime transcription WebSocket (?intent=transcription)" },
  { method: "GET", path: "/metrics", what: "Prometheus metrics (with --metrics)" },
  { method: "POST", path: "/v1/admin/reload", what: "loopback only: load the model again and swap it in (?soft=true)" },
]);

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

/**
 * The Rust server's post-processing passes (RuPunct punctuation, number ITN) that run on top of
 * the head. The e2e_rnnt head writes punctuation, casing and digits itself: no pass runs (Rust
 * reports the same for this head).
 */
const passes = () => ({ punctuation: false, itn: false });

export function systemRoutes(deps: ServerDeps) {
  const ui = deps.config.ui !== false;
  const page = pageHtml({ version: pkg.version, endpoints: ENDPOINTS, docs: DOCS_URL });
  const pool = () => ({ pool_available: Math.max(0, deps.admission.size - deps.admission.inUse), pool_total: deps.admission.size });
  return new Elysia({ name: "gigastt-system" })
    .get("/", ({ request, set }) => {
      // a browser gets the page (unless --no-ui), everything else the JSON index
      if (/\btext\/html\b/.test(request.headers.get("accept") ?? "")) {
        if (!ui) throw new GigasttError("not_found", "The built-in page is off (--no-ui)");
        const headers = { "content-type": "text/html; charset=utf-8", "content-security-policy": PAGE_CSP, "permissions-policy": PERMISSIONS_POLICY, "cache-control": "no-cache" };
        Object.assign(set.headers, headers);
        return new Response(page, { headers });
      }
      return json({ name: "gigastt", version: pkg.version, model: MODEL_ID, docs: DOCS_URL, endpoints: ENDPOINTS });
    })
    .get(WORKLET_PATH, ({ set }) => {
      if (!ui) throw new GigasttError("not_found", "The built-in page is off (--no-ui)");
      const headers = { "content-type": "text/javascript; charset=utf-8", "content-security-policy": WORKLET_CSP, "cache-control": "no-cache" };
      Object.assign(set.headers, headers);
      return new Response(WORKLET_JS, { headers });
    })
    .get("/health", () => {
      // liveness: 200 while the process runs; `model` is "loading" until a model is served
      const head = deps.transcriber ? (deps.head ?? E2E_RNNT_HEAD) : null;
      return json({ status: "ok", model: head?.id ?? "loading", ...(head ? { variant: head.variant } : {}), version: pkg.version, ...passes() });
    })
    .get("/ready", () => {
      if (deps.lifecycle.draining) return json({ status: "not_ready", reason: "shutting_down", ...pool(), pool_available: 0 }, 503);
      if (!deps.transcriber) return json({ status: "not_ready", reason: "initializing", ...pool() }, 503);
      // every inference Worker died and none could be restarted: nothing can be transcribed
      if (deps.transcriber.available === false) return json({ status: "not_ready", reason: "workers_down", ...pool() }, 503);
      // as the Rust server: every session slot busy → not ready (an orchestrator sends new work elsewhere;
      // a request that does arrive still waits FIFO for a slot up to --pool-checkout-timeout-secs)
      if (pool().pool_available === 0) return json({ status: "not_ready", reason: "pool_exhausted", ...pool() }, 503);
      return json({ status: "ready", ...pool() });
    })
    .get("/v1/models", () => {
      const t = deps.transcriber;
      if (!t) throw new GigasttError("not_ready");
      const head = deps.head ?? E2E_RNNT_HEAD;
      return json({
        // OpenAI clients list models from `object` + `data` (client.models.list()); Rust clients read the rest
        object: "list",
        data: [{ id: head.id, object: "model", created: 0, owned_by: "gigastt" }],
        id: head.id,
        name: head.name,
        variant: head.variant,
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
        ...passes(),
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
