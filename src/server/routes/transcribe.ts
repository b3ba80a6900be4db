/**
 * `POST /v1/transcribe` (one result: json | txt | srt | vtt | md, the query options of
 * `file-options.ts`) and `POST /v1/transcribe/stream` (SSE: a `final` event per decoded
 * segment, in order, then `done`).
 *
 * Both: raw audio body (Content-Type ignored), Content-Length checked before
 * anything is read, bytes counted while the body streams through the decoder
 * (never held whole as PCM) and paced (408 `body_timeout` for a stalled or
 * trickling upload), an admission slot taken once the first audio is decoded
 * and held until the response is complete (released on every path), and the
 * one offline pipeline (`engine/offline.ts`, via `stream/file.ts`), so the
 * words and times equal `gigastt transcribe`'s for the same bytes.
 */
import { Elysia } from "elysia";
import { type ByteSource, type ChannelStreams, decodeAudioStream, decodeChannels } from "../../audio/load.ts";
import { wordsToText } from "../../decode/detok.ts";
import { GigasttError, isGigasttError } from "../../errors.ts";
import { mergeChannels } from "../../format/channels.ts";
import { buildSegments, formatResult, transcriptConfidence } from "../../format/index.ts";
import { rawAsWav, type RawAudio } from "../../audio/raw.ts";
import type { TranscriptResult, Word } from "../../types.ts";
import type { RequestContext, ServerConfig, ServerDeps, Slot, TranscriberLike } from "../deps.ts";
import { namingInput, withInputName } from "../../audio/input-name.ts";
import { checkContentLength, type BodyPace } from "../streaming/body.ts";
import { type Upload, uploadOf } from "../streaming/upload.ts";
import { runFile } from "../../stream/file.ts";
import { errorMessage, inferenceFailure, roundWord } from "../streaming/protocol.ts";
import { SSE_HEADERS, SseWriter } from "../streaming/sse.ts";
import { pathOf } from "../url.ts";
import { queryHotwords, withHotwords } from "../request-hotwords.ts";
import { type FileOptions, fileOptionsOf, parseFormat, type Query, type Rendering, renderedResponse, withFormat } from "./file-options.ts";

/**
 * `?vad=true|false` (also 1/0, yes/no, on/off): run the file through the VAD. Default: on when the
 * server loaded it (`--vad`); `vad=true` without it is 409 `vad_not_loaded`, as in the Rust gigastt.
 */
export function parseVad(v: unknown, transcriber: TranscriberLike): boolean | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim().toLowerCase();
  const on = ["true", "1", "yes", "on"].includes(s);
  if (!on && !["false", "0", "no", "off"].includes(s)) throw new GigasttError("usage", `invalid value '${String(v)}' for 'vad': expected true or false`);
  if (on && !((transcriber.info.vadWorkers ?? 0) > 0)) throw new GigasttError("vad_not_loaded");
  return on;
}


interface Ctx {
  request: Request;
  query: Record<string, string | undefined>;
  server: { timeout(request: Request, seconds: number): void } | null;
}

export function transcribeRoutes(deps: ServerDeps) {
  return new Elysia({ name: "gigastt-transcribe" })
    .post("/v1/transcribe", (ctx) => transcribe(deps, ctx as unknown as Ctx), { parse: "none" })
    .post("/v1/transcribe/stream", (ctx) => transcribeSse(deps, ctx as unknown as Ctx), { parse: "none" });
}

/** checks that come before a slot is taken; returns the config snapshot and the model (deciding with the request's hotwords) */
function preflight(deps: ServerDeps, request: Request, query: Ctx["query"]): { config: ServerConfig; transcriber: TranscriberLike } {
  const hotwords = queryHotwords(query);
  const config = deps.config;
  checkContentLength(request.headers, config.bodyLimitBytes);
  if (deps.lifecycle.draining) throw new GigasttError("shutting_down");
  const transcriber = deps.transcriber;
  if (!transcriber) throw new GigasttError("not_ready");
  return { config, transcriber: withHotwords(transcriber, hotwords) };
}

/**
 * Status recorded (metrics, access log) for a request whose client went away
 * before its answer: nobody reads the response, and it is not a server error
 * (nginx's "client closed request").
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** the client disconnected: log it as such (never as `internal`) and answer nobody */
function clientGone(deps: ServerDeps, request: Request, stage: "waiting" | "transcribing"): Response {
  deps.context(request).log.info("client disconnected", { path: pathOf(request.url), stage });
  return new Response(null, { status: CLIENT_CLOSED_REQUEST });
}

async function admit(deps: ServerDeps, request: Request): Promise<Slot | null> {
  try {
    return await deps.admission.acquire({ signal: request.signal });
  } catch (e) {
    if (isGigasttError(e)) throw e;
    if (request.signal.aborted) return null;
    throw e;
  }
}

/** the upload's pace rules (408 `body_timeout`; a stalled read during the drain → `shutting_down`) */
export function bodyPace(deps: ServerDeps, config: ServerConfig): BodyPace {
  return { idleMs: config.bodyIdleTimeoutSecs * 1000, minBytesPerSec: config.bodyMinBytesPerSec, stop: deps.lifecycle.signal };
}

/** the upload's bytes as the decoder reads them: a raw telephone stream (`codec=`) wrapped as WAV */
function audioBytes(upload: Upload, raw: RawAudio | null): AsyncGenerator<Uint8Array> {
  return raw ? rawAsWav(upload.bytes, raw) : upload.bytes;
}

/** the raw body or a form's `file` part, decoded and paced; conversion hints name the uploaded file */
function audioOf(deps: ServerDeps, request: Request, config: ServerConfig, rc: RequestContext, raw: RawAudio | null, onWarnings?: (w: readonly string[]) => void): { upload: Upload; audio: AsyncGenerator<Float32Array> } {
  const upload = uploadOf(request, config.bodyLimitBytes, rc.access, bodyPace(deps, config));
  const audio = decodeAudioStream(audioBytes(upload, raw), { maxSeconds: config.maxAudioSecs || undefined, emptyCode: "empty_body", onWarnings });
  return { upload, audio: namingInput(audio, () => upload.filename) };
}

/** stop reading an upload that will not be decoded (cancels the body) */
export function dropAudio(audio: AsyncGenerator<unknown>): void {
  audio.return(undefined).catch(() => {});
}

/**
 * The first decoded audio, read before a slot is taken: a client that sends
 * a header and then nothing waits on its own connection (and its body
 * timeout), never on a slot other users need. Header and format errors
 * surface here with a proper HTTP status.
 */
async function firstAudio(request: Request, audio: AsyncGenerator<Float32Array>): Promise<IteratorResult<Float32Array> | null> {
  try {
    return await audio.next();
  } catch (e) {
    if (request.signal.aborted) return null;
    throw e;
  }
}

/**
 * `channels=split`: the channel streams (their first audio decoded), then a slot — as the mixed
 * path does, a stalled split upload waits on its own connection and body timeout, never on a slot
 * other users need; header and format errors get their HTTP status. null: the client went away.
 */
export async function admitSplit(
  deps: ServerDeps,
  request: Request,
  bytes: ByteSource,
  opts: { maxSeconds: number | undefined; filename: () => string | null; onWarnings?: (w: readonly string[]) => void },
): Promise<{ streams: ChannelStreams; slot: Slot } | null> {
  let streams: ChannelStreams;
  try {
    streams = await decodeChannels(bytes, { maxSeconds: opts.maxSeconds, emptyCode: "empty_body", ...(opts.onWarnings ? { onWarnings: opts.onWarnings } : {}) });
  } catch (e) {
    if (request.signal.aborted) return null;
    throw withInputName(e, opts.filename());
  }
  const slot = await admit(deps, request).catch((e: unknown) => {
    streams.close();
    throw e;
  });
  if (!slot) streams.close();
  return slot ? { streams, slot } : null;
}

async function transcribe(deps: ServerDeps, { request, query, server }: Ctx): Promise<Response> {
  const opts = fileOptionsOf(query);
  if (opts.channels === "split") return transcribeSplit(deps, { request, query, server }, opts);
  const { config, transcriber } = preflight(deps, request, query);
  const vad = parseVad(query.vad, transcriber);
  const rc = deps.context(request);
  server?.timeout(request, 0); // long inference sends nothing for a while
  let warnings: readonly string[] = [];
  const onWarnings = (w: readonly string[]) => {
    warnings = w;
    rc.log.warn("damaged audio: the valid part was transcribed", { warnings: w });
  };
  const { upload, audio } = audioOf(deps, request, config, rc, opts.raw, onWarnings);
  const first = await firstAudio(request, audio);
  if (!first) return clientGone(deps, request, "transcribing");
  const slot = await admit(deps, request).catch((e: unknown) => {
    dropAudio(audio);
    throw e;
  });
  if (!slot) {
    dropAudio(audio);
    return clientGone(deps, request, "waiting");
  }
  const work = (async () => {
    try {
      const run = await runFile(audio, {
        decoder: transcriber,
            ...(vad !== undefined ? { vad } : {}),
        session: `${rc.id}:${crypto.randomUUID()}`,
        signal: request.signal,
        onInference: (s, a) => noteInference(deps, rc, s, a),
        onDecodeError: () => false,
      }, first);
      rc.access.audioSeconds = run.duration;
      const result: TranscriptResult = {
        text: wordsToText(run.words),
        duration: run.duration,
        words: run.words,
        segments: buildSegments(run.words),
        ...(warnings.length ? { warnings } : {}),
      };
      const r = formRendering(upload, query, opts);
      rc.log.info("transcribed", { audio_seconds: round3(run.duration), words: run.words.length, format: r.format });
      return renderedResponse(formatResult(result, r.format, r.render), r);
    } catch (e) {
      // a broken upload or an aborted decode after the client left is the client's doing
      if (request.signal.aborted) return clientGone(deps, request, "transcribing");
      throw e;
    } finally {
      slot.release();
    }
  })();
  return deps.lifecycle.track(work);
}

/** a form's format field (before or after the file) counts when the query names none */
function formRendering(upload: Upload, query: Query, r: Rendering): Rendering {
  return upload.fields.size > 0 && query.format === undefined && query.response_format === undefined ? withFormat(r, parseFormat(upload.fields.get("format"), upload.fields.get("response_format"))) : r;
}

/**
 * `?channels=split`: each source channel transcribed on its own (concurrently, one slot),
 * words and segments tagged with their channel and merged by time.
 */
async function transcribeSplit(deps: ServerDeps, { request, query, server }: Ctx, opts: FileOptions): Promise<Response> {
  const { config, transcriber } = preflight(deps, request, query);
  const vad = parseVad(query.vad, transcriber);
  const rc = deps.context(request);
  server?.timeout(request, 0);
  let warnings: readonly string[] = [];
  const upload = uploadOf(request, config.bodyLimitBytes, rc.access, bodyPace(deps, config));
  const onWarnings = (w: readonly string[]) => {
    warnings = w;
    rc.log.warn("damaged audio: the valid part was transcribed", { warnings: w });
  };
  const admitted = await admitSplit(deps, request, audioBytes(upload, opts.raw), { maxSeconds: config.maxAudioSecs || undefined, filename: () => upload.filename, onWarnings });
  if (!admitted) return clientGone(deps, request, "waiting");
  const { streams, slot } = admitted;
  const work = (async () => {
    try {
      const id = crypto.randomUUID();
      const runs = await Promise.all(
        streams.map((s, i) =>
          runFile(s, {
            decoder: transcriber,
            ...(vad !== undefined ? { vad } : {}),
            session: `${rc.id}:${id}:${i}`,
            signal: request.signal,
                onInference: (sec, a) => noteInference(deps, rc, sec, a),
            onDecodeError: () => false,
          }),
        ),
      );
      const merged = mergeChannels(runs);
      rc.access.audioSeconds = merged.duration;
      const result: TranscriptResult = warnings.length ? { ...merged, warnings } : merged;
      const r = formRendering(upload, query, opts);
      rc.log.info("transcribed", { audio_seconds: round3(result.duration), words: result.words.length, format: r.format, channels: streams.length });
      return renderedResponse(formatResult(result, r.format, r.render), r);
    } catch (e) {
      if (request.signal.aborted) return clientGone(deps, request, "transcribing");
      throw e;
    } finally {
      slot.release();
    }
  })();
  return deps.lifecycle.track(work);
}

async function transcribeSse(deps: ServerDeps, { request, server, query }: Ctx): Promise<Response> {
  const opts = fileOptionsOf(query);
  if (opts.channels === "split") return transcribeSseSplit(deps, { request, server, query }, opts);
  const { config, transcriber } = preflight(deps, request, query);
  const vad = parseVad(query.vad, transcriber);
  const rc = deps.context(request);
  server?.timeout(request, 0); // the keep-alive comments keep proxies happy; Bun must not cut us
  const { audio } = audioOf(deps, request, config, rc, opts.raw);
  const first = await firstAudio(request, audio);
  if (!first) return clientGone(deps, request, "transcribing");
  const slot = await admit(deps, request).catch((e: unknown) => {
    dropAudio(audio);
    throw e;
  });
  if (!slot) {
    dropAudio(audio);
    return clientGone(deps, request, "waiting");
  }
  const gone = new AbortController();
  const onClientAbort = () => gone.abort();
  request.signal.addEventListener("abort", onClientAbort, { once: true });

  const now = () => Date.now() / 1000;
  const writer = new SseWriter({ onCancel: () => gone.abort(), onOverflow: () => sseOverflow(deps, rc, gone) });
  const work = (async () => {
    try {
      const run = await runFile(
        audio,
        {
          decoder: transcriber,
            ...(vad !== undefined ? { vad } : {}),
          session: `${rc.id}:${crypto.randomUUID()}`,
          signal: gone.signal,
          stop: deps.lifecycle.signal,
          onSegment: (words) => {
            if (words.length === 0) return;
            writer.send({ type: "final", text: wordsToText(words), timestamp: now(), words: words.map(roundWord), ...confidenceOf(words) });
          },
          onInference: (s, a) => noteInference(deps, rc, s, a),
          onDecodeError: (e) => {
            rc.log.warn("sse inference failed", { error: e instanceof Error ? e.message : String(e) });
            const failure = inferenceFailure(e);
            deps.metrics.error(failure.code);
            writer.send(errorMessage(failure));
            return true;
          },
        },
        first,
      );
      rc.access.audioSeconds = run.duration;
      writer.send({
        type: "done",
        text: wordsToText(run.words),
        duration: run.duration,
        ...confidenceOf(run.words),
        timestamp: now(),
        ...(run.stopped ? { reason: "shutting_down" } : {}),
      });
      rc.log.info("transcribed (sse)", { audio_seconds: round3(run.duration), words: run.words.length, stopped: run.stopped });
    } catch (e) {
      streamFailed(deps, rc, e, {
        clientGone: gone.signal.aborted,
        what: "sse stream failed",
        send: (err) => writer.send(errorMessage(err)),
        onClientGone: () => rc.log.info("client disconnected", { path: "/v1/transcribe/stream", stage: "streaming" }),
      });
    } finally {
      slot.release();
      request.signal.removeEventListener("abort", onClientAbort);
      writer.end();
    }
  })();
  void deps.lifecycle.track(work);
  return new Response(writer.stream, { headers: SSE_HEADERS });
}

/** an SSE client that stopped reading: its stream was cut; stop the work and free the slot */
export function sseOverflow(deps: ServerDeps, rc: { log: { warn(msg: string, fields: Record<string, unknown>): void } }, gone: AbortController): void {
  rc.log.warn("sse client does not read its events: closing", { code: "backlog_exceeded" });
  deps.metrics.error("backlog_exceeded");
  gone.abort();
}

/** SSE with `?channels=split`: partial/final events carry `channel`; `done` has the merged text. */
async function transcribeSseSplit(deps: ServerDeps, { request, server, query }: Ctx, opts: FileOptions): Promise<Response> {
  const { config, transcriber } = preflight(deps, request, query);
  const vad = parseVad(query.vad, transcriber);
  const rc = deps.context(request);
  server?.timeout(request, 0);
  const upload = uploadOf(request, config.bodyLimitBytes, rc.access, bodyPace(deps, config));
  const admitted = await admitSplit(deps, request, audioBytes(upload, opts.raw), { maxSeconds: config.maxAudioSecs || undefined, filename: () => upload.filename });
  if (!admitted) return clientGone(deps, request, "waiting");
  const { streams, slot } = admitted;
  const gone = new AbortController();
  const onClientAbort = () => gone.abort();
  request.signal.addEventListener("abort", onClientAbort, { once: true });
  const now = () => Date.now() / 1000;
  const writer = new SseWriter({ onCancel: () => gone.abort(), onOverflow: () => sseOverflow(deps, rc, gone) });
  const work = (async () => {
    try {
      const id = crypto.randomUUID();
      let failed = false;
      const runs = await Promise.all(
        streams.map((s, channel) =>
          runFile(s, {
            decoder: transcriber,
            ...(vad !== undefined ? { vad } : {}),
            session: `${rc.id}:${id}:${channel}`,
            signal: gone.signal,
            stop: deps.lifecycle.signal,
            onSegment: (words) => {
              if (words.length === 0) return;
              writer.send({ type: "final", channel, text: wordsToText(words), timestamp: now(), words: words.map((w) => ({ ...roundWord(w), channel })), ...confidenceOf(words) });
            },
            onInference: (sec, a) => noteInference(deps, rc, sec, a),
            onDecodeError: (e) => {
              rc.log.warn("sse inference failed", { error: e instanceof Error ? e.message : String(e) });
              if (!failed) {
                failed = true;
                const failure = inferenceFailure(e);
                deps.metrics.error(failure.code);
                writer.send(errorMessage(failure));
              }
              return true;
            },
          }),
        ),
      );
      const merged = mergeChannels(runs);
      rc.access.audioSeconds = merged.duration;
      const stopped = runs.some((r) => r.stopped);
      writer.send({ type: "done", text: merged.text, duration: merged.duration, ...confidenceOf(merged.words), timestamp: now(), ...(stopped ? { reason: "shutting_down" } : {}) });
      rc.log.info("transcribed (sse)", { audio_seconds: round3(merged.duration), words: merged.words.length, stopped, channels: streams.length });
    } catch (e) {
      streamFailed(deps, rc, e, {
        clientGone: gone.signal.aborted,
        what: "sse stream failed",
        send: (err) => writer.send(errorMessage(err)),
        onClientGone: () => rc.log.info("client disconnected", { path: "/v1/transcribe/stream", stage: "streaming" }),
      });
    } finally {
      slot.release();
      request.signal.removeEventListener("abort", onClientAbort);
      writer.end();
    }
  })();
  void deps.lifecycle.track(work);
  return new Response(writer.stream, { headers: SSE_HEADERS });
}

/**
 * A streamed response (SSE) that failed after its headers went out: unless the client is gone, the error
 * is counted and sent as the stream's last event (an unexpected one as `internal`, logged with its cause).
 */
export function streamFailed(
  deps: ServerDeps,
  rc: RequestContext,
  e: unknown,
  o: { clientGone: boolean; what: string; send(err: GigasttError): void; onClientGone(): void },
): void {
  if (o.clientGone) return o.onClientGone();
  const err = isGigasttError(e) ? e : new GigasttError("internal");
  if (!isGigasttError(e)) rc.log.error(o.what, { error: e instanceof Error ? e.message : String(e) });
  deps.metrics.error(err.code);
  o.send(err);
}

/** one inference job: the metrics and the request's access line (its real-time factor) */
export function noteInference(deps: ServerDeps, rc: RequestContext, seconds: number, audioSeconds: number): void {
  deps.metrics.inference(seconds, audioSeconds);
  rc.access.inferenceSeconds += seconds;
}

/** `confidence` of an SSE event: the words' duration-weighted mean (4 decimals); nothing without words (as Rust) */
function confidenceOf(words: readonly Word[]): { confidence?: number } {
  const c = transcriptConfidence(words);
  return c === null ? {} : { confidence: Math.round(c * 10000) / 10000 };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
