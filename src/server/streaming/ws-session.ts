/**
 * One WebSocket session of protocol 1.0 (anchor §4), independent of the
 * framework: the route hands it text/binary messages and the client's close,
 * it answers through a {@link WsPeer}.
 *
 *   waiting ──slot──▶ active ──stop/drain/limit──▶ ending ──final sent──▶ closed
 *
 * - `ready` is sent once an admission slot is held (the slot is the session's
 *   for its whole life and is released on every path). Messages that arrive
 *   before it are queued (bounded) and handled in order afterwards.
 * - Binary frames are PCM16 LE at the negotiated rate; they feed a
 *   {@link PcmInput} → {@link UtteranceStream}, so frame sizes never matter.
 * - Every server-initiated end of an admitted session sends the `final` (the
 *   rest of the audio, decoded) before the close frame: 1000 after `stop`,
 *   1001 on drain and idle timeout, 1008 on the session cap and empty-frame
 *   spam. Errors always go out as an `error` message first.
 */
import type { ConsolaInstance } from "consola";
import { GigasttError, isGigasttError } from "../../errors.ts";
import type { Word } from "../../types.ts";
import { type HotwordList, requestHotwords } from "../../decode/hotwords.ts";
import type { Slot, ServerConfig, ServerDeps, TranscriberLike } from "../deps.ts";
import { PcmInput } from "../../stream/pcm-input.ts";
import {
  DEFAULT_INPUT_RATE,
  MAX_CONTROL_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  errorMessage,
  invalidRate,
  isSupportedRate,
  parseClientMessage,
  readyMessage,
  resultMessage,
} from "./protocol.ts";
import { UtteranceStream } from "../../stream/utterances.ts";
import { type EndpointMode, vadEndpointing } from "../../stream/endpointer.ts";

/** what the session needs from the socket */
export interface WsPeer {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** empty binary frames tolerated per session (anchor §4.2) */
export const MAX_EMPTY_FRAMES = 1000;

/**
 * Audio (seconds at 16 kHz) a session may have received but not yet answered
 * with a `final`. Bun cannot pause reading a WebSocket, so a client that sends
 * faster than the Workers transcribe (a file pushed at full speed, or an
 * overloaded server) would otherwise pile up utterances in memory. Past this
 * the session gets `error backlog_exceeded`, the `final` with everything it
 * sent (nothing is dropped), and close 1008. A live stream never gets near it
 * unless the server runs slower than real time for a whole minute; a single
 * frame at the cap holds at most ~33 s (512 KiB at 8 kHz).
 */
export const MAX_BACKLOG_SECONDS = 60;

/**
 * Bun's own WebSocket message limit, above the configured frame cap: frames
 * between the cap and this get `error frame_too_large` before the 1009 close;
 * larger ones are cut by the WebSocket layer with a bare 1009.
 */
export function transportFrameLimit(frameCap: number): number {
  return frameCap * 2;
}

export const CLOSE = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
});

export interface WsSessionOptions {
  deps: Pick<ServerDeps, "admission" | "lifecycle" | "metrics">;
  transcriber: TranscriberLike;
  /** the config snapshot taken when the session started */
  config: ServerConfig;
  log: ConsolaInstance;
  /** fairness key for the Worker pool */
  id: string;
  /** `?sample_rate=` (already validated) */
  sampleRate?: number;
  /** wall clock (ms) for the `timestamp` fields */
  now?: () => number;
  /** see {@link MAX_BACKLOG_SECONDS} */
  maxBacklogSeconds?: number;
}

type Incoming = { kind: "binary"; data: Uint8Array } | { kind: "text"; data: string };

export class WsSession {
  private readonly o: WsSessionOptions;
  private readonly peer: WsPeer;
  private readonly now: () => number;
  private readonly acquireAbort = new AbortController();
  private state: "waiting" | "active" | "ending" | "closed" = "waiting";
  private slot: Slot | null = null;
  private rate: number;
  private input: PcmInput | null = null;
  private stream: UtteranceStream | null = null;
  private queue: Incoming[] = [];
  private queuedBytes = 0;
  private emptyFrames = 0;
  private readonly startedAt = performance.now();
  private finals = 0;
  private endpointing: { minPauseMs?: number; endpoint?: boolean } | undefined;
  /** `configure.endpoint_mode`: vad by default when the server loaded the VAD (`--vad`), else energy */
  private endpointMode: EndpointMode = "energy";
  /** `configure.hotwords` (undefined: the server's default; null: none) */
  private hotwords: HotwordList | null | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private sessionTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribeDrain: () => void = () => {};
  private resolveDone!: () => void;
  /** settles when the session is over (slot released, socket closed) */
  readonly done: Promise<void>;

  constructor(peer: WsPeer, opts: WsSessionOptions) {
    this.peer = peer;
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.endpointMode = this.defaultEndpointMode();
    this.rate = opts.sampleRate ?? DEFAULT_INPUT_RATE;
    this.done = new Promise<void>((r) => {
      this.resolveDone = r;
    });
  }

  /** the socket is open: wait for a slot, then `ready` */
  start(): void {
    const { admission, lifecycle, metrics } = this.o.deps;
    metrics.wsSessions(1);
    void lifecycle.track(this.done);
    if (lifecycle.draining) {
      this.fail(new GigasttError("shutting_down"), CLOSE.goingAway);
      return;
    }
    this.unsubscribeDrain = lifecycle.onDrain(() => this.drain());
    admission.acquire({ signal: this.acquireAbort.signal }).then(
      (slot) => {
        if (this.state !== "waiting") {
          slot.release();
          return;
        }
        this.slot = slot;
        this.begin();
      },
      (e: unknown) => {
        if (this.state !== "waiting") return;
        if (isGigasttError(e) && (e.code === "timeout" || e.code === "pool_closed")) this.fail(e, e.wsClose ?? CLOSE.tryAgainLater);
        else this.fail(new GigasttError("internal"), CLOSE.internal);
      },
    );
  }

  /**
   * A frame from the client as it arrived: text (never parsed by the
   * framework, so its size is measured on the wire and its nesting checked
   * before JSON.parse) or binary.
   */
  onMessage(data: string | Uint8Array | ArrayBuffer): void {
    if (this.state === "ending" || this.state === "closed") return;
    const msg: Incoming = typeof data === "string" ? { kind: "text", data } : { kind: "binary", data: toBytes(data) };
    if (messageBytes(msg) > this.o.config.wsFrameMaxBytes) {
      const err = new GigasttError("frame_too_large", `WebSocket frame exceeds ${this.o.config.wsFrameMaxBytes} bytes`);
      if (this.state === "active") this.end(CLOSE.tooBig, "frame too large", err);
      else this.fail(err, CLOSE.tooBig);
      return;
    }
    if (this.state === "waiting") {
      this.queuedBytes += Math.max(64, messageBytes(msg));
      if (this.queuedBytes > Math.max(4 * this.o.config.wsFrameMaxBytes, 1 << 20)) {
        this.fail(new GigasttError("payload_too_large", "Too much data before ready"), CLOSE.tooBig);
        return;
      }
      this.queue.push(msg);
      return;
    }
    this.touch();
    this.handle(msg);
  }

  /** the input rate (the default, `?sample_rate=` or the last `configure`) */
  get sampleRate(): number {
    return this.rate;
  }

  /** whether audio has arrived (the rate and endpointing are fixed from then on) */
  get hasAudio(): boolean {
    return this.input !== null;
  }

  /**
   * Endpointing for this session (before its first audio): the pause that
   * ends an utterance, or none. Used by the Realtime adapter's `turn_detection`.
   * Returns false when audio already arrived.
   */
  setEndpointing(e: { minPauseMs?: number; endpoint?: boolean }): boolean {
    if (this.input !== null || this.stream !== null) return false;
    this.endpointing = e;
    return true;
  }

  /** End the open utterance now (the client's commit); resolves once its final (if any) was sent. */
  commit(): Promise<void> {
    if (this.state !== "active") return Promise.resolve();
    this.touch();
    return this.ensureStream().cut();
  }

  /** Drop the audio of the open utterance (the client's clear). */
  clear(): void {
    if (this.state !== "active") return;
    this.touch();
    this.stream?.discardOpen();
  }

  /** the client closed the socket (or it broke) */
  onClose(code: number, reason: string): void {
    if (this.state === "closed") return;
    const tooBig = code === CLOSE.tooBig || /too big/i.test(reason);
    if (tooBig) this.o.deps.metrics.error("frame_too_large");
    const audio = this.input?.seconds ?? 0;
    if (this.state === "active" && audio > 0) {
      this.o.log.info("ws client closed without stop; the open utterance is discarded", {
        code,
        audio_seconds: round3(audio),
        finals: this.finals,
      });
    } else {
      this.o.log.debug("ws closed by client", { code, state: this.state });
    }
    this.logEnd(code, "client");
    this.teardown();
  }

  // ---- lifecycle -----------------------------------------------------------

  private begin(): void {
    this.state = "active";
    const { config } = this.o;
    const assumed = this.o.sampleRate === undefined;
    this.send(readyMessage(this.rate, assumed));
    this.o.log.debug("ws session ready", { sample_rate: this.rate, rate_from: assumed ? "default (no ?sample_rate=; a configure may still change it)" : "?sample_rate=" });
    this.touch();
    if (config.maxSessionSecs > 0) {
      this.sessionTimer = setTimeout(
        () => this.end(CLOSE.policy, "max session duration", new GigasttError("max_session_duration_exceeded")),
        config.maxSessionSecs * 1000,
      );
    }
    const queued = this.queue;
    this.queue = [];
    for (const m of queued) {
      if (this.state !== "active") break;
      this.handle(m);
    }
  }

  private drain(): void {
    if (this.state === "waiting") {
      this.acquireAbort.abort();
      this.fail(new GigasttError("shutting_down"), CLOSE.goingAway);
    } else if (this.state === "active") {
      this.end(CLOSE.goingAway, "server shutdown");
    }
  }

  /** send the error (if any), decode the rest, send the `final`, close with `code` */
  private end(code: number, reason: string, error?: GigasttError): void {
    if (this.state !== "active") return;
    this.state = "ending";
    this.clearTimers();
    if (error) this.sendError(error);
    const stream = this.ensureStream();
    const tail = this.input?.flush();
    if (tail && tail.droppedBytes > 0) this.o.log.debug("ws stream ended with an odd byte (half a sample) left over");
    if (tail && tail.samples.length) stream.push(tail.samples);
    stream.finish().then(
      () => this.closeWith(code, reason),
      () => this.closeWith(CLOSE.internal, "internal error"),
    );
  }

  /** error before or without a stream: message, close, done */
  private fail(e: GigasttError, code: number): void {
    this.sendError(e);
    this.closeWith(code, e.code);
  }

  private closeWith(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.logEnd(code, "server");
    this.teardown();
    try {
      this.peer.close(code, reason);
    } catch {
      // already gone
    }
  }

  /** one info line per session (the access log of a WebSocket) */
  private logEnd(code: number, closedBy: "client" | "server"): void {
    this.o.log.info("ws session ended", {
      duration_ms: Math.round(performance.now() - this.startedAt),
      audio_seconds: round3(this.input?.seconds ?? 0),
      sample_rate: this.rate,
      finals: this.finals,
      close_code: code,
      closed_by: closedBy,
    });
  }

  private teardown(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.clearTimers();
    this.acquireAbort.abort();
    this.stream?.close();
    this.slot?.release();
    this.slot = null;
    this.queue = [];
    this.unsubscribeDrain();
    this.o.deps.metrics.wsSessions(-1);
    this.resolveDone();
  }

  private clearTimers(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.sessionTimer);
  }

  private touch(): void {
    if (this.state !== "active") return;
    clearTimeout(this.idleTimer);
    const secs = this.o.config.idleTimeoutSecs;
    if (secs > 0) this.idleTimer = setTimeout(() => this.end(CLOSE.goingAway, "idle timeout", new GigasttError("idle_timeout")), secs * 1000);
  }

  // ---- messages ------------------------------------------------------------

  private handle(m: Incoming): void {
    try {
      if (m.kind === "binary") this.audio(m.data);
      else this.text(m.data);
    } catch (e) {
      // a bug, never the client's fault: say so and end the session
      this.o.log.error("ws session failed", { error: e instanceof Error ? e.message : String(e) });
      this.fail(new GigasttError("internal"), CLOSE.internal);
    }
  }

  private audio(bytes: Uint8Array): void {
    if (bytes.length === 0) {
      if (++this.emptyFrames > MAX_EMPTY_FRAMES) this.end(CLOSE.policy, "too many empty frames", new GigasttError("too_many_empty_frames"));
      return;
    }
    this.input ??= new PcmInput(this.rate);
    const x = this.input.push(bytes);
    if (x.length === 0) return;
    const stream = this.ensureStream();
    stream.push(x);
    const backlog = stream.backlogSeconds;
    const max = this.o.maxBacklogSeconds ?? MAX_BACKLOG_SECONDS;
    if (backlog > max) {
      this.o.log.warn("ws client sends audio faster than it is transcribed: closing", { backlog_seconds: round3(backlog), max_seconds: max });
      this.end(CLOSE.policy, "backlog exceeded", new GigasttError("backlog_exceeded", `More than ${max} s of audio waiting to be transcribed`));
    }
  }

  private text(data: string): void {
    let msg;
    try {
      msg = parseClientMessage(data);
    } catch (e) {
      this.sendError(isGigasttError(e) ? e : new GigasttError("bad_message"));
      return;
    }
    if (msg.type === "stop") {
      this.end(CLOSE.normal, "stop");
      return;
    }
    if (this.input !== null) {
      this.sendError(new GigasttError("configure_too_late"));
      return;
    }
    if (msg.protocolVersion !== undefined && msg.protocolVersion !== PROTOCOL_VERSION) {
      this.sendError(
        new GigasttError("unsupported_protocol_version", `Unsupported protocol version. Supported: ${PROTOCOL_VERSION}`),
      );
      this.state = "ending";
      this.closeWith(CLOSE.protocolError, "unsupported protocol version");
      return;
    }
    if (msg.sampleRate !== undefined) {
      if (isSupportedRate(msg.sampleRate)) this.rate = msg.sampleRate;
      else this.sendError(invalidRate());
    }
    if (msg.hotwords !== undefined || msg.hotwordsBoost !== undefined) this.configureHotwords(msg.hotwords, msg.hotwordsBoost);
    if (msg.endpointMode !== undefined || msg.minSilenceMs !== undefined) {
      const refused = this.configureEndpointing(msg.endpointMode, msg.minSilenceMs);
      if (refused) this.sendError(refused);
    }
  }

  /**
   * `configure.endpoint_mode` (`energy`, `vad`; `auto`: the server's default) and `min_silence_ms`
   * (10–5000: the pause, or with VAD the non-speech, that ends an utterance). Nothing changes when
   * either is refused: `invalid_endpoint_mode`, or `vad_not_loaded` for `vad` without `--vad`.
   */
  private configureEndpointing(mode: unknown, minSilenceMs: unknown): GigasttError | null {
    const m = mode === undefined ? this.endpointMode : mode === "auto" ? this.defaultEndpointMode() : mode;
    if (m !== "energy" && m !== "vad") return new GigasttError("invalid_endpoint_mode", `endpoint_mode must be energy, vad or auto, got ${JSON.stringify(mode)}`);
    const ms = minSilenceMs ?? (m === "vad" ? this.o.config.vadMinSilenceMs : undefined);
    if (ms !== undefined && !(typeof ms === "number" && Number.isInteger(ms) && ms >= 10 && ms <= 5000)) {
      return new GigasttError("invalid_endpoint_mode", `min_silence_ms must be an integer from 10 to 5000, got ${JSON.stringify(minSilenceMs)}`);
    }
    if (m === "vad" && !this.vadLoaded()) return new GigasttError("vad_not_loaded");
    this.endpointMode = m;
    if (ms !== undefined) this.endpointing = { ...this.endpointing, minPauseMs: ms as number };
    return null;
  }

  private vadLoaded(): boolean {
    return (this.o.transcriber.info.vadWorkers ?? 0) > 0 && this.o.transcriber.vadLabeller !== undefined;
  }

  /**
   * `auto`: the VAD when the server loaded it (as the Rust gigastt's `--endpoint-mode auto`), measured
   * better at ending utterances than energy on clean speech and white noise (BENCHMARKS.md, VAD); else energy
   */
  private defaultEndpointMode(): EndpointMode {
    return this.o.config.vad && this.vadLoaded() ? "vad" : "energy";
  }

  /** `configure.hotwords` / `hotwords_boost`: a bad value is an error and the session goes on with the previous list */
  private configureHotwords(hotwords: unknown, boost: unknown): void {
    try {
      const list = requestHotwords(hotwords, boost);
      if (list !== undefined) this.hotwords = list;
    } catch (e) {
      this.sendError(isGigasttError(e) ? e : new GigasttError("bad_message"));
    }
  }

  private ensureStream(): UtteranceStream {
    if (this.stream) return this.stream;
    const { metrics } = this.o.deps;
    const vad = this.endpointMode === "vad" ? this.o.transcriber.vadLabeller?.bind(this.o.transcriber) : undefined;
    this.stream = new UtteranceStream({
      decoder: this.o.transcriber,
      session: this.o.id,
      ...(vad ? { segmenter: { minPauseMs: this.o.config.vadMinSilenceMs, ...this.endpointing } } : this.endpointing ? { segmenter: this.endpointing } : {}),
      ...(vad ? { endpointer: vadEndpointing(vad({ session: this.o.id })) } : {}),
      ...(this.hotwords !== undefined ? { hotwords: this.hotwords } : {}),
      onEvent: (e) => {
        if (this.state === "closed") return;
        if (e.type === "final") this.finals++;
        this.send(resultMessage(e.type, e.words as Word[], this.now() / 1000));
      },
      onError: (e) => {
        this.o.log.warn("ws inference failed", { error: e instanceof Error ? e.message : String(e) });
        this.sendError(new GigasttError("inference_error"));
      },
      onInference: (seconds, audio) => metrics.inference(seconds, audio),
    });
    return this.stream;
  }

  private sendError(e: GigasttError): void {
    this.o.deps.metrics.error(e.code);
    this.send(errorMessage(e));
  }

  private send(payload: unknown): void {
    if (this.state === "closed") return;
    try {
      this.peer.send(JSON.stringify(payload));
    } catch {
      // socket gone; the close handler tears down
    }
  }
}

/** size of a client message as sent */
function messageBytes(m: Incoming): number {
  return m.kind === "binary" ? m.data.length : Buffer.byteLength(m.data);
}

function toBytes(d: Uint8Array | ArrayBuffer): Uint8Array {
  return d instanceof Uint8Array ? d : new Uint8Array(d);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
