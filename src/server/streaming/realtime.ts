/**
 * OpenAI Realtime transcription sessions (`GET /v1/realtime?intent=transcription`)
 * as a thin adapter over the stream core's {@link LiveSession}: the same admission,
 * limits, idle and session caps, backlog guard, drain (the last `completed` before
 * the close), keepalive and utterance stream as `/v1/ws`; only the wire format differs.
 *
 * Client events: `session.update` / `transcription_session.update` (input
 * `audio/pcm` at 24 kHz or 16 kHz — beta `input_audio_format: "pcm16"` is
 * 24 kHz —, `turn_detection` `server_vad` with `silence_duration_ms`, or
 * null), `input_audio_buffer.append` (base64 PCM16), `.commit`, `.clear`.
 * Server events: `session.created`, `session.updated` (or
 * `transcription_session.updated`), `input_audio_buffer.speech_started` /
 * `speech_stopped` / `committed` / `cleared`,
 * `conversation.item.input_audio_transcription.delta` (partials as appended
 * text) and `.completed` (finals), and `error` in OpenAI's shape.
 */
import { GigasttError } from "../../errors.ts";
import { jsonTooDeep } from "../../json-guard.ts";
import { wordsToText } from "../../decode/detok.ts";
import type { Word } from "../../types.ts";
import type { StreamResult } from "../../stream/audio-stream.ts";
import { LiveSession } from "../../stream/live-session.ts";
import { Keepalive } from "./keepalive.ts";
import { MODEL_ID, SUPPORTED_RATES } from "./protocol.ts";
import { CLOSE_CODES, liveSessionOptions, streamVad, type WsPeer, type WsSessionOptions } from "./ws-session.ts";

/** OpenAI's default input rate for `audio/pcm` */
export const REALTIME_DEFAULT_RATE = 24000;
export const REALTIME_DEFAULT_SILENCE_MS = 500;
/** the segmenter needs a pause ≤ a quarter of its 20 s hard cut */
const MAX_SILENCE_MS = 5000;

type TurnDetection = { type: "server_vad"; silence_duration_ms: number } | null;

interface OpenAiError {
  readonly type: "error";
  readonly event_id: string;
  readonly error: { type: string; code: string; message: string; param: string | null; event_id: string | null };
}

export class RealtimeSession {
  private readonly live: LiveSession;
  private readonly peer: WsPeer;
  private readonly keepalive: Keepalive;
  private readonly pingIntervalMs: number | undefined;
  private events = 0;
  /** completed items */
  private items = 0;
  private itemSeq = 0;
  private turn: TurnDetection = { type: "server_vad", silence_duration_ms: REALTIME_DEFAULT_SILENCE_MS };
  private readonly sessionId = `sess_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
  /** the utterance being spoken: its item id and the text already sent as deltas */
  private open: { id: string; sent: string; started: boolean } | null = null;
  private previous: string | null = null;
  /** client events held until the session is admitted (`session.created`), in order */
  private held: unknown[] | null = [];
  /** audio bytes appended since the last commit/clear/final */
  private uncommitted = 0;
  private committing = false;
  private chain: Promise<void> = Promise.resolve();
  /** an append carries base64 (4/3 of its audio): twice the frame cap, like Bun's own limit */
  private readonly maxEventBytes: number;
  private readonly countError: (code: string) => void;

  constructor(peer: WsPeer, opts: Omit<WsSessionOptions, "sampleRate"> & { sampleRate?: number }) {
    this.peer = peer;
    this.maxEventBytes = opts.config.wsFrameMaxBytes * 2;
    this.pingIntervalMs = opts.pingIntervalMs;
    const m = opts.deps.metrics;
    this.countError = (c) => m.error(c);
    this.live = new LiveSession(
      {
        ready: () => this.ready(),
        result: (r) => this.result(r),
        error: (e) => this.error(e.code === "internal" || e.code === "inference_error" || e.code === "inference_timeout" ? "server_error" : "invalid_request_error", e.code, e.message, null),
        close: (cause, reason) => {
          this.keepalive.stop();
          const code = CLOSE_CODES[cause];
          try {
            peer.close(code, reason);
          } catch {
            // already gone
          }
          return code;
        },
      },
      liveSessionOptions(opts, { sampleRate: REALTIME_DEFAULT_RATE, name: "realtime", vad: streamVad(opts.transcriber, opts.config, opts.id) }),
    );
    this.keepalive = new Keepalive(
      () => peer.ping?.(),
      (missed) => {
        opts.log.info("realtime client does not answer pings: closing", { missed });
        this.live.closeNow("keepalive", "ping timeout");
      },
    );
  }

  get done(): Promise<void> {
    return this.live.done;
  }

  start(): void {
    if (this.peer.ping) this.keepalive.start(this.pingIntervalMs);
    void this.live.done.then(() => this.keepalive.stop());
    this.live.start();
  }

  onClose(code: number, reason: string): void {
    this.keepalive.stop();
    if (code === 1009 || /too big/i.test(reason)) this.countError("frame_too_large");
    this.live.clientClosed(code);
  }

  /** the client answered a keepalive ping */
  onPong(): void {
    this.keepalive.answered();
  }

  /** a client event (text; already parsed or raw) — binary frames are not part of this protocol */
  onMessage(data: unknown): void {
    this.keepalive.answered();
    if (this.held) {
      this.held.push(data);
      return;
    }
    // commits are asynchronous: later events wait for the one in progress
    this.chain = this.chain.then(() => this.handle(data)).catch(() => {});
  }

  // ---- client → core -------------------------------------------------------

  private async handle(data: unknown): Promise<void> {
    this.live.touch();
    if (data instanceof Uint8Array || data instanceof ArrayBuffer) return this.error("invalid_request_error", "binary_not_supported", "Send audio as input_audio_buffer.append events (base64)", null);
    if (typeof data === "string" && Buffer.byteLength(data) > this.maxEventBytes)
      return this.error("invalid_request_error", "event_too_large", `The event exceeds ${this.maxEventBytes} bytes`, null);
    if (typeof data === "string" && jsonTooDeep(data)) return this.error("invalid_request_error", "invalid_json", "The event is nested too deeply", null);
    let ev: Record<string, unknown>;
    try {
      const v = typeof data === "string" ? JSON.parse(data) : data;
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      ev = v as Record<string, unknown>;
    } catch {
      return this.error("invalid_request_error", "invalid_json", "The event is not a JSON object", null);
    }
    const clientId = typeof ev.event_id === "string" ? ev.event_id : null;
    switch (ev.type) {
      case "session.update":
      case "transcription_session.update":
        return this.update(ev.type, ev.session, clientId);
      case "input_audio_buffer.append": {
        if (typeof ev.audio !== "string") return this.error("invalid_request_error", "missing_audio", "input_audio_buffer.append needs `audio` (base64 PCM16)", "audio", clientId);
        const bytes = decodeBase64(ev.audio);
        if (!bytes) return this.error("invalid_request_error", "invalid_base64", "`audio` is not valid base64", "audio", clientId);
        this.uncommitted += bytes.length;
        this.live.message(bytes.length, () => this.live.pushAudio(bytes));
        return;
      }
      case "input_audio_buffer.commit":
        return this.commit(clientId);
      case "input_audio_buffer.clear":
        this.live.clear();
        this.uncommitted = 0;
        this.open = null;
        this.send({ type: "input_audio_buffer.cleared" });
        return;
      default:
        return this.error("invalid_request_error", "unknown_event", `Unsupported event type: ${String(ev.type)}`, "type", clientId);
    }
  }

  private update(kind: string, session: unknown, clientId: string | null): void {
    const s = (typeof session === "object" && session !== null ? session : {}) as Record<string, unknown>;
    const audio = obj(obj(s.audio).input);
    // GA: session.audio.input.{format,turn_detection}; beta: session.{input_audio_format,turn_detection}
    const format = audio.format ?? s.input_audio_format;
    let rate: number | undefined;
    if (format !== undefined && format !== null) {
      if (format === "pcm16") rate = REALTIME_DEFAULT_RATE;
      else if (typeof format === "object" && (format as Record<string, unknown>).type === "audio/pcm") {
        const r = (format as Record<string, unknown>).rate;
        rate = r === undefined ? REALTIME_DEFAULT_RATE : (r as number);
      } else return this.error("invalid_request_error", "unsupported_audio_format", "Only audio/pcm (PCM16 LE mono) is supported", "session.audio.input.format", clientId);
      if (!(SUPPORTED_RATES as readonly number[]).includes(rate)) return this.error("invalid_request_error", "invalid_sample_rate", `Unsupported rate. Supported: ${SUPPORTED_RATES.join(", ")}`, "session.audio.input.format.rate", clientId);
    }
    const hasTurn = "turn_detection" in audio || "turn_detection" in s;
    let turn = this.turn;
    if (hasTurn) {
      const td = ("turn_detection" in audio ? audio.turn_detection : s.turn_detection) as Record<string, unknown> | null;
      if (td === null) turn = null;
      else if (typeof td === "object" && (td.type === "server_vad" || td.type === "semantic_vad" || td.type === undefined)) {
        const ms = typeof td.silence_duration_ms === "number" ? td.silence_duration_ms : REALTIME_DEFAULT_SILENCE_MS;
        turn = { type: "server_vad", silence_duration_ms: Math.min(MAX_SILENCE_MS, Math.max(10, Math.round(ms))) };
      } else return this.error("invalid_request_error", "unsupported_turn_detection", "turn_detection must be server_vad or null", "session.audio.input.turn_detection", clientId);
    }
    if (this.live.hasAudio && ((rate !== undefined && rate !== this.live.sampleRate) || JSON.stringify(turn) !== JSON.stringify(this.turn)))
      return this.error("invalid_request_error", "session_update_too_late", "The input format and turn detection are fixed once audio was appended", "session", clientId);
    if (rate !== undefined && rate !== this.live.sampleRate) this.live.setSampleRate(rate);
    this.turn = turn;
    this.live.setEndpointing(turn ? { mode: "auto", minSilenceMs: turn.silence_duration_ms } : { mode: "manual" });
    this.send({ type: kind === "session.update" ? "session.updated" : "transcription_session.updated", session: this.sessionObject() });
  }

  private async commit(clientId: string | null): Promise<void> {
    if (this.uncommitted === 0 && this.open === null)
      return this.error("invalid_request_error", "input_audio_buffer_commit_empty", "The input audio buffer is empty", null, clientId);
    this.committing = true;
    const before = this.items;
    const open = this.open;
    await this.live.commit();
    this.committing = false;
    // a commit of audio with no words still yields its (empty) item
    if (this.items === before && this.open === open) this.complete([], true);
    this.uncommitted = 0;
  }

  // ---- core → client ---------------------------------------------------------

  private ready(): void {
    this.send({ type: "session.created", session: this.sessionObject() });
    const held = this.held ?? [];
    this.held = null;
    for (const e of held) this.onMessage(e);
  }

  private result(r: StreamResult): void {
    if (r.type === "partial") {
      const item = this.item(r.words);
      const t = wordsToText(r.words as Word[]);
      if (t.startsWith(item.sent) && t.length > item.sent.length) {
        this.send({ type: "conversation.item.input_audio_transcription.delta", item_id: item.id, content_index: 0, delta: t.slice(item.sent.length) });
        item.sent = t;
      }
      return;
    }
    if (r.words.length > 0 || this.open) this.complete(r.words, this.committing);
  }

  /** the open item, opened (speech_started) by the first words of an utterance */
  private item(words: readonly Word[]): { id: string; sent: string; started: boolean } {
    if (!this.open) {
      this.open = { id: `item_${this.sessionId.slice(5, 13)}${String(++this.itemSeq).padStart(6, "0")}`, sent: "", started: false };
    }
    if (!this.open.started) {
      this.open.started = true;
      this.send({ type: "input_audio_buffer.speech_started", audio_start_ms: Math.round((words[0]?.start ?? 0) * 1000), item_id: this.open.id });
    }
    return this.open;
  }

  /** a final: speech_stopped (server VAD), committed, the rest of the text as a delta, completed */
  private complete(words: readonly Word[], byClient: boolean): void {
    const item = this.item(words);
    const text = wordsToText(words as Word[]);
    if (!byClient) this.send({ type: "input_audio_buffer.speech_stopped", audio_end_ms: Math.round((words.at(-1)?.end ?? 0) * 1000), item_id: item.id });
    this.send({ type: "input_audio_buffer.committed", previous_item_id: this.previous, item_id: item.id });
    if (text.startsWith(item.sent) && text.length > item.sent.length)
      this.send({ type: "conversation.item.input_audio_transcription.delta", item_id: item.id, content_index: 0, delta: text.slice(item.sent.length) });
    this.send({ type: "conversation.item.input_audio_transcription.completed", item_id: item.id, content_index: 0, transcript: text });
    this.previous = item.id;
    this.open = null;
    this.items++;
    this.uncommitted = 0;
  }

  private sessionObject(): Record<string, unknown> {
    return {
      id: this.sessionId,
      object: "realtime.transcription_session",
      type: "transcription",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: this.live.sampleRate },
          transcription: { model: MODEL_ID, language: "ru" },
          turn_detection: this.turn ? { type: "server_vad", silence_duration_ms: this.turn.silence_duration_ms } : null,
        },
      },
    };
  }

  private error(type: string, code: string, message: string, param: string | null, clientId: string | null = null): void {
    const ev: Omit<OpenAiError, "event_id"> = { type: "error", error: { type, code, message, param, event_id: clientId } };
    this.send(ev);
  }

  private send(ev: Record<string, unknown>): void {
    try {
      this.peer.send(JSON.stringify({ event_id: `event_${++this.events}`, ...ev }));
    } catch {
      // socket gone; the close handler tears down
    }
  }
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
}

function decodeBase64(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  return new Uint8Array(Buffer.from(s, "base64"));
}

/** `?intent=` of the upgrade: only transcription sessions are served */
export function checkIntent(intent: string | null): void {
  if (intent !== "transcription") throw new GigasttError("bad_message", "Only transcription sessions are served: connect with ?intent=transcription");
}
