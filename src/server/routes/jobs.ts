/**
 * `/v1/jobs` (the Rust server's asynchronous jobs API, `--enable-jobs`): a
 * thin adapter over {@link JobsService}. The body and query of `POST /v1/jobs`
 * are those of `POST /v1/transcribe` (raw audio or a form's `file` part,
 * `?format=`); the 202 comes only once the upload and its row are durable.
 *
 *   POST   /v1/jobs                 → 202 {job_id, status, created_at}   (Idempotency-Key)
 *   GET    /v1/jobs?status=&limit=&cursor=   → {jobs, next_cursor}
 *   GET    /v1/jobs/{id}            → {job_id, status, processed_seconds, percent, created_at, error?}
 *   GET    /v1/jobs/{id}/result     → the transcript (?format=, default the submission's)
 *   DELETE /v1/jobs/{id}            → 204
 *   GET    /v1/jobs/{id}/events     → SSE progress / done / failed / cancelled
 */
import { Elysia } from "elysia";
import { GigasttError } from "../../errors.ts";
import { formatResult } from "../../format/index.ts";
import { queryHotwords } from "../request-hotwords.ts";
import type { JobsService } from "../../jobs/service.ts";
import { type JobEvent, isJobStatus, isTerminal } from "../../jobs/types.ts";
import type { ServerDeps } from "../deps.ts";
import { checkContentLength } from "../streaming/body.ts";
import { SSE_HEADERS, SseWriter } from "../streaming/sse.ts";
import { uploadOf } from "../streaming/upload.ts";
import { fileOptionsOf, parseFormat, type Query, renderedResponse, renderingOf, withFormat } from "./file-options.ts";

interface Ctx {
  request: Request;
  query: Record<string, string | undefined>;
  params: Record<string, string>;
}

const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

function jobsOf(deps: ServerDeps): JobsService {
  const jobs = deps.jobs;
  if (!jobs) throw new GigasttError("jobs_disabled");
  return jobs;
}

/** `Idempotency-Key`: 1–255 visible ASCII characters */
export function idempotencyKey(headers: Headers): string | null {
  const v = headers.get("idempotency-key");
  if (v === null) return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(v)) throw new GigasttError("usage", "Idempotency-Key must be 1–255 visible ASCII characters");
  return v;
}

export function jobsRoutes(deps: ServerDeps) {
  const c = (ctx: unknown) => ctx as Ctx;
  return new Elysia({ name: "gigastt-jobs" })
    .post("/v1/jobs", (ctx) => submit(deps, c(ctx)), { parse: "none" })
    .get("/v1/jobs", (ctx) => list(deps, c(ctx)))
    .get("/v1/jobs/:id", (ctx) => json(jobsOf(deps).view(c(ctx).params.id!)))
    .get("/v1/jobs/:id/result", (ctx) => result(deps, c(ctx)))
    .delete("/v1/jobs/:id", (ctx) => {
      jobsOf(deps).cancel(c(ctx).params.id!);
      return new Response(null, { status: 204 });
    })
    .get("/v1/jobs/:id/events", (ctx) => events(deps, c(ctx)));
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_TYPE });
}

async function submit(deps: ServerDeps, { request, query }: Ctx): Promise<Response> {
  const jobs = jobsOf(deps);
  const opts = fileOptionsOf(query);
  const hotwords = queryHotwords(query);
  const config = deps.config;
  checkContentLength(request.headers, config.bodyLimitBytes);
  const key = idempotencyKey(request.headers);
  const rc = deps.context(request);
  const upload = uploadOf(request, config.bodyLimitBytes, rc.access);
  const declared = Number(request.headers.get("content-length"));
  const { view, reused } = await jobs.submit({
    bytes: upload.bytes,
    declaredBytes: upload.multipart || !Number.isFinite(declared) ? null : declared,
    idempotencyKey: key,
    filename: () => upload.filename,
    // a form's format field counts when the query names none (as on /v1/transcribe)
    params: () => ({
      format: upload.fields.size > 0 && query.format === undefined && query.response_format === undefined ? parseFormat(upload.fields.get("format"), upload.fields.get("response_format")) : opts.format,
      ...(opts.channels === "split" ? { channels: opts.channels } : {}),
      ...(opts.raw ? { codec: opts.raw.codec, sample_rate: opts.raw.sampleRate } : {}),
      ...renderQuery(query),
      ...(hotwords !== undefined ? { hotwords } : {}),
    }),
  });
  rc.log.info(reused ? "job submission repeated (Idempotency-Key)" : "job submitted", { job_id: view.job_id });
  return json({ job_id: view.job_id, status: view.status, created_at: view.created_at }, 202);
}

function list(deps: ServerDeps, { query }: Ctx): Response {
  const jobs = jobsOf(deps);
  const status = query.status || undefined;
  if (status !== undefined && !isJobStatus(status)) throw new GigasttError("usage", "status must be one of queued, processing, done, failed, cancelled");
  let limit: number | undefined;
  if (query.limit !== undefined && query.limit !== "") {
    limit = Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new GigasttError("usage", "limit must be an integer 1–100");
  }
  return json(jobs.list({ ...(status ? { status } : {}), ...(limit ? { limit } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) }));
}

/** the rendering options a submission names, kept as the default of its `/result` */
const RENDER_KEYS = ["max_chars_per_line", "max_words_per_line", "word_timestamps", "segments", "download"] as const;

function renderQuery(q: Query): { render?: Record<string, string> } {
  const kept = Object.fromEntries(RENDER_KEYS.flatMap((k) => (q[k] === undefined ? [] : [[k, q[k]!]])));
  return Object.keys(kept).length ? { render: kept } : {};
}

/** `/result`: the submission's format and rendering options, unless the query names its own */
async function result(deps: ServerDeps, { params, query }: Ctx): Promise<Response> {
  const jobs = jobsOf(deps);
  const given = (keys: readonly string[]) => keys.some((k) => query[k] !== undefined);
  const fromQuery = renderingOf(query);
  const { result, params: stored } = await jobs.result(params.id!);
  const base = given(RENDER_KEYS) ? fromQuery : renderingOf(stored.render ?? {});
  const r = withFormat(base, given(["format", "response_format"]) ? fromQuery.format : parseFormat(stored.format));
  return renderedResponse(formatResult(result, r.format, r.render), r);
}

function events(deps: ServerDeps, { params }: Ctx): Response {
  const jobs = jobsOf(deps);
  const row = jobs.row(params.id!);
  let unsubscribe = () => {};
  let offDrain = () => {};
  const writer = new SseWriter({ onCancel: () => cleanup() });
  const cleanup = () => {
    unsubscribe();
    offDrain();
  };
  const send = (e: JobEvent) => {
    writer.send(e);
    if (e.type !== "progress") {
      cleanup();
      writer.end();
    }
  };
  if (isTerminal(row.status)) {
    send(row.status === "done" ? { type: "done" } : row.status === "failed" ? { type: "failed", error: row.error ?? "Transcription failed" } : { type: "cancelled" });
  } else {
    unsubscribe = jobs.subscribe(row.id, send);
    writer.send({ type: "progress", percent: Math.floor(row.percent), processed_seconds: Math.round(row.processed_seconds * 1000) / 1000 });
    // the job resumes after a restart; the client reconnects
    offDrain = deps.lifecycle.onDrain(() => {
      cleanup();
      writer.end();
    });
  }
  return new Response(writer.stream, { headers: SSE_HEADERS });
}
