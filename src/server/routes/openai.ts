/**
 * OpenAI-compatible `POST /v1/audio/transcriptions`, so clients of OpenAI's
 * transcription API (the `openai` SDKs, Open WebUI, …) can point `base_url`
 * at gigastt.
 *
 * The `multipart/form-data` body is parsed while it streams in: fields
 * before the `file` part are checked first (a wrong `language` or
 * `response_format` fails before any audio is read), the file part flows
 * straight into the decoder and the one offline pipeline, as for
 * `/v1/transcribe` (never held whole as PCM; the body cap counts every byte
 * of the upload), and fields after the file are read when it ends. The text
 * equals `/v1/transcribe`'s for the same audio.
 *
 * `stream=true` sent before the file streams SSE events while decoding:
 * `transcript.text.delta` per decoded segment, `transcript.text.done`, then
 * `data: [DONE]`; sent after the file, the same events come at once at the end.
 *
 * Errors use OpenAI's shape `{"error": {"message", "type", "param", "code"}}`
 * with the catalogue's HTTP status and our stable code. (Rejections by the
 * platform layers before the route runs — Host, Origin, rate limit, a
 * declared Content-Length over the cap, draining — keep the server's common
 * `{"error", "message", "code"}` shape; the status is the same.)
 */
import { Elysia } from "elysia";
import { namingInput, withInputName } from "../../audio/input-name.ts";
import { decodeAudioStream, decodeChannels } from "../../audio/load.ts";
import { type ChannelMode, mergeChannels, parseChannels } from "../../format/channels.ts";
import { wordsToText } from "../../decode/detok.ts";
import { GigasttError, isGigasttError } from "../../errors.ts";
import { buildSegments } from "../../format/index.ts";
import type { TranscriptResult, Word } from "../../types.ts";
import type { RequestContext, ServerConfig, ServerDeps, Slot, TranscriberLike } from "../deps.ts";
import { MultipartReader, multipartBoundary } from "../openai/multipart.ts";
import { OpenAiForm, paramError } from "../openai/params.ts";
import { deltaEvent, doneEvent, errorEvent, openAiErrorResponse, resultResponse } from "../openai/render.ts";
import { checkContentLength, limitedBody } from "../streaming/body.ts";
import { runFile } from "../streaming/file.ts";
import { withHotwords } from "../request-hotwords.ts";
import { bodyPace, CLIENT_CLOSED_REQUEST, dropAudio, noteInference, sseOverflow, streamFailed } from "./transcribe.ts";
import { countedBytes } from "../streaming/upload.ts";
import { SSE_HEADERS, SseWriter, sseData } from "../streaming/sse.ts";

export const OPENAI_TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions";
/** longest text field (prompt, language, …) */
export const MAX_FIELD_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const DONE_LINE = "data: [DONE]\n\n";

interface Ctx {
  request: Request;
  server: { timeout(request: Request, seconds: number): void } | null;
}

export function openaiRoutes(deps: ServerDeps) {
  return new Elysia({ name: "gigastt-openai" }).post(OPENAI_TRANSCRIPTIONS_PATH, (ctx) => handle(deps, ctx as unknown as Ctx), { parse: "none" });
}

async function handle(deps: ServerDeps, ctx: Ctx): Promise<Response> {
  const rc = deps.context(ctx.request);
  try {
    return await transcriptions(deps, ctx, rc);
  } catch (e) {
    if (ctx.request.signal.aborted) {
      // the client left (waiting, mid-upload or mid-inference): not a server error
      rc.log.info("client disconnected", { path: OPENAI_TRANSCRIPTIONS_PATH, stage: "transcribing" });
      return new Response(null, { status: CLIENT_CLOSED_REQUEST });
    }
    return failure(deps, rc, e);
  }
}

function failure(deps: ServerDeps, rc: RequestContext, e: unknown): Response {
  let err: GigasttError;
  if (isGigasttError(e)) err = e;
  else {
    rc.log.error("openai transcription failed", { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    err = new GigasttError("internal");
  }
  deps.metrics.error(err.code);
  rc.log.debug("request rejected", { code: err.code, status: err.http, path: OPENAI_TRANSCRIPTIONS_PATH });
  return openAiErrorResponse(err);
}

async function admit(deps: ServerDeps, request: Request): Promise<Slot> {
  try {
    return await deps.admission.acquire({ signal: request.signal });
  } catch (e) {
    if (isGigasttError(e)) throw e;
    throw new GigasttError("internal", "client disconnected while waiting");
  }
}

/** fields after the file part (a second file is refused, other file parts skipped) */
async function readRest(reader: MultipartReader, form: OpenAiForm): Promise<void> {
  for (let head = await reader.next(); head !== null; head = await reader.next()) {
    if (head.name === "file") throw paramError("file", "Only one file may be uploaded");
    if (head.filename !== null) continue;
    const value = await reader.text(MAX_FIELD_BYTES, head.name);
    // `channels` decides how the file is decoded: after the file only the default can be honoured
    if (head.name === "channels") {
      if (parseChannels(value, "channels") === "split") throw paramError("channels", "channels=split must be sent before the file field (it decides how the file is decoded)");
      continue;
    }
    if (head.name === "hotwords" || head.name === "hotwords_boost") throw paramError(head.name, `${head.name} must be sent before the file field (it decides how the file is decoded)`);
    form.set(head.name, value);
  }
}

async function transcriptions(deps: ServerDeps, { request, server }: Ctx, rc: RequestContext): Promise<Response> {
  const config: ServerConfig = deps.config;
  checkContentLength(request.headers, config.bodyLimitBytes);
  const boundary = multipartBoundary(request.headers.get("content-type"));
  if (boundary === null) throw new GigasttError("bad_message", 'Expected a multipart/form-data body with the audio in the "file" field');
  if (deps.lifecycle.draining) throw new GigasttError("shutting_down");
  const model = deps.transcriber;
  if (!model) throw new GigasttError("not_ready");
  server?.timeout(request, 0); // long inference sends nothing for a while

  const form = new OpenAiForm();
  const reader = new MultipartReader(countedBytes(limitedBody(request.body, config.bodyLimitBytes, bodyPace(deps, config)), rc.access), boundary);
  let slot: Slot | null = null;
  let handedOff = false;
  try {
    let sawFile = false;
    let filename: string | null = null;
    let channels: ChannelMode = "mix";
    for (let head = await reader.next(); head !== null; head = await reader.next()) {
      if (head.name === "file") {
        sawFile = true;
        filename = head.filename;
        break;
      }
      if (head.filename !== null) continue;
      const value = await reader.text(MAX_FIELD_BYTES, head.name);
      // gigastt's own field (before the file, as it decides how the file is decoded)
      if (head.name === "channels") channels = parseChannels(value, "channels");
      else form.set(head.name, value);
    }
    if (!sawFile) throw paramError("file", "Missing required parameter: 'file' (the audio, as a multipart file field)");
    const transcriber = withHotwords(model, form.hotwords());
    if (channels === "split") {
      // (split mode decodes every channel before the first audio is known: the slot comes first, the body pace bounds a stall)
      slot = await admit(deps, request);
      const streams = await decodeChannels(reader.body(), { maxSeconds: config.maxAudioSecs, emptyCode: "empty_body" }).catch((e: unknown) => {
        throw withInputName(e, filename);
      });
      if (form.params().stream) {
        handedOff = true;
        return liveSplitSse(deps, rc, { request, transcriber, streams, reader, form, slot });
      }
      return await deps.lifecycle.track(splitResult(deps, rc, { request, transcriber, reader, form, streams }));
    }
    // conversion hints name the uploaded file
    const audio = namingInput(decodeAudioStream(reader.body(), { maxSeconds: config.maxAudioSecs, emptyCode: "empty_body" }), filename);
    // the slot is taken once there is audio to decode (a stalled upload waits on its own
    // connection and body timeout); header and format errors still get a proper HTTP status
    const first = await audio.next();
    try {
      slot = await admit(deps, request);
    } catch (e) {
      dropAudio(audio);
      throw e;
    }
    const session = `${rc.id}:${crypto.randomUUID()}`;

    if (form.params().stream) {
      handedOff = true;
      return liveSse(deps, rc, { request, transcriber, audio, first, reader, form, slot, session });
    }

    const work = (async () => {
      const finals: string[] = [];
      const run = await runFile(audio, {
        decoder: transcriber,
        session,
        signal: request.signal,
        onSegment: (words) => {
          if (words.length > 0) finals.push(wordsToText(words));
        },
        onInference: (s, a) => noteInference(deps, rc, s, a),
        onDecodeError: () => false,
      }, first);
      await readRest(reader, form);
      rc.access.audioSeconds = run.duration;
      const params = form.params();
      rc.log.info("transcribed (openai)", { audio_seconds: round3(run.duration), words: run.words.length, format: params.stream ? "stream" : params.responseFormat });
      // stream=true arrived after the file: the same events, all at once
      if (params.stream) return new Response(bufferedSse(finals), { headers: SSE_HEADERS });
      return resultResponse(resultOf(run.words, run.duration), params);
    })();
    return await deps.lifecycle.track(work);
  } finally {
    if (!handedOff) {
      slot?.release();
      reader.close();
    }
  }
}

/** `channels=split`: each channel transcribed on its own; segments and words carry `channel`. */
async function splitResult(
  deps: ServerDeps,
  rc: ReturnType<ServerDeps["context"]>,
  x: { request: Request; transcriber: NonNullable<ServerDeps["transcriber"]>; reader: MultipartReader; form: OpenAiForm; streams: AsyncGenerator<Float32Array>[] },
): Promise<Response> {
  const streams = x.streams;
  const id = crypto.randomUUID();
  // each channel's final utterances, for the SSE events when stream=true comes after the file
  const finals: { start: number; channel: number; text: string }[] = [];
  const counts = streams.map(() => 0);
  const runs = await Promise.all(
    streams.map((s, i) =>
      runFile(s, {
        decoder: x.transcriber,
        session: `${rc.id}:${id}:${i}`,
        signal: x.request.signal,
        onSegment: (words) => {
          if (words.length === 0) return;
          const t = wordsToText(words);
          finals.push({ start: words[0]!.start, channel: i, text: counts[i] === 0 ? t : ` ${t}` });
          counts[i] = (counts[i] ?? 0) + 1;
        },
        onInference: (sec, a) => noteInference(deps, rc, sec, a),
        onDecodeError: () => false,
      }),
    ),
  );
  await readRest(x.reader, x.form);
  const params = x.form.params();
  const merged = mergeChannels(runs);
  rc.log.info("transcribed (openai)", { audio_seconds: round3(merged.duration), words: merged.words.length, format: params.stream ? "stream" : params.responseFormat, channels: streams.length });
  // stream=true arrived after the file: the same events as live, all at once
  if (params.stream) {
    const events = finals.sort((a, b) => a.start - b.start || a.channel - b.channel);
    const body = events.map((e) => sseData({ ...deltaEvent(e.text), channel: e.channel })).join("") + sseData(doneEvent(merged.text)) + DONE_LINE;
    return new Response(body, { headers: SSE_HEADERS });
  }
  return resultResponse(merged, params);
}

interface LiveSplitSse {
  request: Request;
  transcriber: TranscriberLike;
  streams: AsyncGenerator<Float32Array>[];
  reader: MultipartReader;
  form: OpenAiForm;
  slot: Slot;
}

/**
 * `channels=split` with `stream=true`: a delta per final utterance of each channel as soon as
 * it is decoded, tagged with its `channel` (a channel's deltas concatenate to its line); the
 * done event's text is the merged one (`[0] …` / `[1] …`, one line per channel).
 */
function liveSplitSse(deps: ServerDeps, rc: RequestContext, s: LiveSplitSse): Response {
  const gone = new AbortController();
  const onClientAbort = () => gone.abort();
  s.request.signal.addEventListener("abort", onClientAbort, { once: true });
  const writer = new SseWriter({ onCancel: () => gone.abort() });
  let finished = false;
  const body = writer.stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush(c) {
        if (finished) c.enqueue(encoder.encode(DONE_LINE));
      },
    }),
  );
  const id = crypto.randomUUID();
  const work = (async () => {
    try {
      const counts = s.streams.map(() => 0);
      const runs = await Promise.all(
        s.streams.map((audio, channel) =>
          runFile(audio, {
            decoder: s.transcriber,
            session: `${rc.id}:${id}:${channel}`,
            signal: gone.signal,
            stop: deps.lifecycle.signal,
            onSegment: (words) => {
              if (words.length === 0) return;
              const t = wordsToText(words);
              const first = counts[channel] === 0;
              counts[channel] = (counts[channel] ?? 0) + 1;
              writer.send({ ...deltaEvent(first ? t : ` ${t}`), channel });
            },
            onInference: (sec, a) => noteInference(deps, rc, sec, a),
            onDecodeError: () => false,
          }),
        ),
      );
      if (!runs.some((r) => r.stopped)) await readRest(s.reader, s.form);
      const merged = mergeChannels(runs);
      rc.access.audioSeconds = merged.duration;
      writer.send(doneEvent(merged.text));
      finished = true;
      rc.log.info("transcribed (openai sse)", { audio_seconds: round3(merged.duration), words: merged.words.length, channels: runs.length });
    } catch (e) {
      streamFailed(deps, rc, e, {
        clientGone: gone.signal.aborted,
        what: "openai sse stream failed",
        send: (err) => writer.send(errorEvent(err)),
        onClientGone: () => rc.log.debug("openai sse client disconnected"),
      });
    } finally {
      s.slot.release();
      s.request.signal.removeEventListener("abort", onClientAbort);
      s.reader.close();
      writer.end();
    }
  })();
  void deps.lifecycle.track(work);
  return new Response(body, { headers: SSE_HEADERS });
}

function resultOf(words: readonly Word[], duration: number): TranscriptResult {
  return { text: wordsToText(words), duration, words, segments: buildSegments(words) };
}

/** finals → delta texts that concatenate to the done text */
function deltas(finals: readonly string[]): string[] {
  return finals.map((t, i) => (i === 0 ? t : ` ${t}`));
}

function bufferedSse(finals: readonly string[]): string {
  const ds = deltas(finals);
  return ds.map((d) => sseData(deltaEvent(d))).join("") + sseData(doneEvent(ds.join(""))) + DONE_LINE;
}

interface LiveSse {
  request: Request;
  transcriber: TranscriberLike;
  audio: AsyncGenerator<Float32Array>;
  first: IteratorResult<Float32Array>;
  reader: MultipartReader;
  form: OpenAiForm;
  slot: Slot;
  session: string;
}

/** SSE while decoding: a delta per segment as soon as it (and all before it) is decoded. */
function liveSse(deps: ServerDeps, rc: RequestContext, s: LiveSse): Response {
  const gone = new AbortController();
  const onClientAbort = () => gone.abort();
  s.request.signal.addEventListener("abort", onClientAbort, { once: true });
  const writer = new SseWriter({ onCancel: () => gone.abort(), onOverflow: () => sseOverflow(deps, rc, gone) });
  let finished = false;
  // `data: [DONE]` after the done event (the SDKs stop reading there)
  const body = writer.stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush(c) {
        if (finished) c.enqueue(encoder.encode(DONE_LINE));
      },
    }),
  );
  const work = (async () => {
    let text = "";
    let n = 0;
    try {
      const run = await runFile(
        s.audio,
        {
          decoder: s.transcriber,
          session: s.session,
          signal: gone.signal,
          stop: deps.lifecycle.signal,
            onSegment: (words) => {
            if (words.length === 0) return;
            const t = wordsToText(words);
            const d = n++ === 0 ? t : ` ${t}`;
            text += d;
            writer.send(deltaEvent(d));
          },
          onInference: (sec, a) => noteInference(deps, rc, sec, a),
          onDecodeError: () => false,
        },
        s.first,
      );
      if (!run.stopped) await readRest(s.reader, s.form);
      rc.access.audioSeconds = run.duration;
      writer.send(doneEvent(text));
      finished = true;
      rc.log.info("transcribed (openai sse)", { audio_seconds: round3(run.duration), words: run.words.length, stopped: run.stopped });
    } catch (e) {
      streamFailed(deps, rc, e, {
        clientGone: gone.signal.aborted,
        what: "openai sse stream failed",
        send: (err) => writer.send(errorEvent(err)),
        onClientGone: () => rc.log.debug("openai sse client disconnected"),
      });
    } finally {
      s.slot.release();
      s.request.signal.removeEventListener("abort", onClientAbort);
      s.reader.close();
      writer.end();
    }
  })();
  void deps.lifecycle.track(work);
  return new Response(body, { headers: SSE_HEADERS });
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
