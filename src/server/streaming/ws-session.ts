/**
 * The `/v1/ws` protocol (drop-in with the Rust gigastt 2.15) as a thin adapter over the stream
 * core's {@link LiveSession}: it parses text frames (`configure`, `stop`), hands binary frames
 * to the session as PCM16 and renders the session's callbacks as protocol messages. The
 * lifecycle (admission, queue before `ready`, idle timeout, session cap, backlog, drain, the
 * final before every server-initiated close) lives in the core.
 *
 * Close codes: 1000 after `stop`; 1001 on drain, idle timeout, two unanswered pings and an
 * inference timeout; 1002 for an unsupported protocol version; 1008 on the session cap, the
 * backlog guard and the empty-frame flood; 1009 for a frame over the cap; 1011 internal; 1013
 * when no slot freed up in time.
 *
 * Keepalive: a ping every 30 s (`pingIntervalMs`); any frame or pong from the client answers
 * it; after two pings without an answer the session closes 1001 "ping timeout".
 */
import type { ConsolaInstance } from "consola";
import { GigasttError, isGigasttError } from "../../errors.ts";
import type { Word } from "../../types.ts";
import { requestHotwords } from "../../decode/hotwords.ts";
import type { ServerConfig, ServerDeps, TranscriberLike } from "../deps.ts";
import { type Endpointing, ENDPOINT_MODES, type EndpointMode, MIN_SILENCE_MS, type StreamResult, type StreamVad } from "../../stream/audio-stream.ts";
import { type CloseCause, LiveSession, type LiveSessionOptions } from "../../stream/live-session.ts";
import { Keepalive } from "./keepalive.ts";
import {
  ACCEPTED_PROTOCOL_VERSIONS,
  type ConfigureMessage,
  DEFAULT_INPUT_RATE,
  errorMessage,
  inferenceFailure,
  invalidRate,
  isSupportedRate,
  parseClientMessage,
  PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  readyMessage,
  resultMessage,
} from "./protocol.ts";

export { MAX_BACKLOG_SECONDS, MAX_EMPTY_FRAMES } from "../../stream/live-session.ts";

/** what the session needs from the socket */
export interface WsPeer {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** a WebSocket ping (keepalive); absent: no keepalive */
  ping?(): void;
}

export { MAX_MISSED_PONGS, PING_INTERVAL_MS } from "./keepalive.ts";

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

/** the WebSocket close code of each way a live session ends (every WebSocket transport uses it) */
export const CLOSE_CODES: Readonly<Record<CloseCause, number>> = {
  stop: CLOSE.normal,
  drain: CLOSE.goingAway,
  idle: CLOSE.goingAway,
  keepalive: CLOSE.goingAway,
  inference_timeout: CLOSE.goingAway,
  session_cap: CLOSE.policy,
  backlog: CLOSE.policy,
  policy: CLOSE.policy,
  too_big: CLOSE.tooBig,
  protocol: CLOSE.protocolError,
  busy: CLOSE.tryAgainLater,
  internal: CLOSE.internal,
};

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
  /** keepalive ping interval (default {@link PING_INTERVAL_MS}; 0 = no pings) */
  pingIntervalMs?: number;
  /** the transport's name in log lines (default `ws`) */
  name?: string;
}

export class WsSession {
  private readonly o: WsSessionOptions;
  private readonly peer: WsPeer;
  private readonly live: LiveSession;
  private readonly now: () => number;
  private endpointing: Endpointing = { mode: "auto" };
  private readonly keepalive: Keepalive;
  /** the server's VAD (`serve --vad`), if loaded */
  private readonly vad: StreamVad | undefined;

  constructor(peer: WsPeer, opts: WsSessionOptions) {
    this.peer = peer;
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.vad = streamVad(opts.transcriber, opts.config, opts.id);
    this.live = new LiveSession(
      {
        ready: () => this.ready(),
        result: (r) => this.result(r),
        error: (e) => this.send(errorMessage(e)),
        close: (cause, reason) => this.closePeer(cause, reason),
      },
      liveSessionOptions(opts, { sampleRate: DEFAULT_INPUT_RATE, name: opts.name ?? "ws", vad: this.vad }),
    );
    this.keepalive = new Keepalive(
      () => peer.ping?.(),
      (missed) => {
        opts.log.info("ws client does not answer pings: closing", { missed });
        this.live.closeNow("keepalive", "ping timeout");
      },
    );
  }

  /** settles when the session is over (slot released, socket closed) */
  get done(): Promise<void> {
    return this.live.done;
  }

  /** the input rate (the default, `?sample_rate=` or the last `configure`) */
  get sampleRate(): number {
    return this.live.sampleRate;
  }

  /** whether audio has arrived (the rate and endpointing are fixed from then on) */
  get hasAudio(): boolean {
    return this.live.hasAudio;
  }

  /** the socket is open: keepalive, then wait for a slot and `ready` */
  start(): void {
    if (this.peer.ping) this.keepalive.start(this.o.pingIntervalMs);
    void this.live.done.then(() => this.keepalive.stop());
    this.live.start();
  }

  /**
   * A frame from the client as it arrived: text (never parsed by the framework, so its size is
   * measured on the wire and its nesting checked before JSON.parse) or binary.
   */
  onMessage(data: string | Uint8Array | ArrayBuffer): void {
    this.keepalive.answered();
    if (typeof data === "string") this.live.message(Buffer.byteLength(data), () => this.text(data));
    else {
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
      this.live.message(bytes.length, () => this.live.pushAudio(bytes));
    }
  }

  /** the client answered a ping */
  onPong(): void {
    this.keepalive.answered();
  }

  /** Endpointing for this session (before its first audio; the Realtime adapter's `turn_detection`). False once audio arrived. */
  setEndpointing(e: Endpointing): boolean {
    if (!this.live.setEndpointing(e)) return false;
    this.endpointing = e;
    return true;
  }

  /** End the open utterance now (the client's commit); resolves once its final (if any) was sent. */
  commit(): Promise<void> {
    return this.live.commit();
  }

  /** Drop the audio of the open utterance (the client's clear). */
  clear(): void {
    this.live.clear();
  }

  /** the client closed the socket (or it broke) */
  onClose(code: number, reason: string): void {
    this.keepalive.stop();
    if (code === CLOSE.tooBig || /too big/i.test(reason)) this.o.deps.metrics.error("frame_too_large");
    this.live.clientClosed(code);
  }

  // ---- core → wire -----------------------------------------------------------

  private ready(): void {
    const assumed = this.o.sampleRate === undefined;
    this.send(readyMessage(this.live.sampleRate, assumed, this.o.config));
    this.o.log.debug("ws session ready", { sample_rate: this.live.sampleRate, rate_from: assumed ? "default (no ?sample_rate=; a configure may still change it)" : "?sample_rate=" });
  }

  private result(r: StreamResult): void {
    this.send(resultMessage(r.type, r.words as Word[], this.now() / 1000, r));
  }

  private closePeer(cause: CloseCause, reason: string): number {
    this.keepalive.stop();
    const code = CLOSE_CODES[cause];
    try {
      this.peer.close(code, reason);
    } catch {
      // already gone
    }
    return code;
  }

  // ---- wire → core -----------------------------------------------------------

  private text(data: string): void {
    let msg;
    try {
      msg = parseClientMessage(data);
    } catch (e) {
      this.live.sendError(isGigasttError(e) ? e : new GigasttError("bad_message"));
      return;
    }
    if (msg.type === "stop") this.live.stop();
    else if (msg.type === "configure") this.configure(msg);
    else this.o.log.debug("ws message of an unknown type ignored", { type: msg.name });
  }

  /** Rust's order: too late, protocol version, rate, diarization, punctuation, itn, endpoint mode, pause */
  private configure(msg: ConfigureMessage): void {
    if (this.live.hasAudio) return this.live.sendError(new GigasttError("configure_too_late"));
    if (msg.protocolVersion !== undefined && !ACCEPTED_PROTOCOL_VERSIONS.includes(msg.protocolVersion as string)) {
      const e = new GigasttError("unsupported_protocol_version", `Unsupported protocol version. Supported: ${MIN_PROTOCOL_VERSION} through ${PROTOCOL_VERSION}`);
      return this.live.abort(e, "protocol");
    }
    if (msg.sampleRate !== undefined) {
      if (isSupportedRate(msg.sampleRate)) this.live.setSampleRate(msg.sampleRate);
      else this.live.sendError(invalidRate());
    }
    if (msg.hotwords !== undefined || msg.hotwordsBoost !== undefined) this.configureHotwords(msg.hotwords, msg.hotwordsBoost);
    // as the REST options: no diarization model, no separate punctuation model (the e2e head punctuates,
    // capitalises and writes digits by itself, so `punctuation: false` and `itn` keep its output, as in Rust)
    this.capability(msg.diarization, "diarization", "Speaker diarization is not available on this server");
    this.capability(msg.punctuation, "punctuation", "No separate punctuation model is loaded: gigaam-v3-e2e-rnnt punctuates and capitalises by itself; leave punctuation out");
    this.capability(msg.itn, "itn", null);
    if (msg.endpointMode !== undefined) {
      const mode = typeof msg.endpointMode === "string" ? msg.endpointMode.trim().toLowerCase() : "";
      if (!(ENDPOINT_MODES as readonly string[]).includes(mode)) {
        return this.live.sendError(new GigasttError("invalid_endpoint_mode", `Unsupported endpoint_mode: ${JSON.stringify(msg.endpointMode).slice(0, 40)}. Supported: ${ENDPOINT_MODES.join(", ")}`));
      }
      if (mode === "vad" && !this.vad) return this.live.sendError(new GigasttError("vad_not_loaded", "endpoint_mode vad needs a server started with --vad"));
      this.setEndpointing({ ...this.endpointing, mode: mode as EndpointMode });
    }
    if (msg.minSilenceMs !== undefined) {
      const ms = msg.minSilenceMs;
      if (typeof ms !== "number" || !Number.isInteger(ms) || ms < MIN_SILENCE_MS.min || ms > MIN_SILENCE_MS.max) {
        return this.live.sendError(new GigasttError("bad_message", `min_silence_ms must be an integer from ${MIN_SILENCE_MS.min} to ${MIN_SILENCE_MS.max}`));
      }
      this.setEndpointing({ ...this.endpointing, minSilenceMs: ms });
    }
  }

  /** `configure.hotwords` / `hotwords_boost`: a bad value is an error and the session goes on with the previous list */
  private configureHotwords(hotwords: unknown, boost: unknown): void {
    try {
      const list = requestHotwords(hotwords, boost);
      if (list !== undefined) this.live.setHotwords(list);
    } catch (e) {
      this.live.sendError(isGigasttError(e) ? e : new GigasttError("bad_message"));
    }
  }

  /** a boolean switch: `true` is refused with `<field>_not_available` when `refusal` says why; not a boolean → bad_message */
  private capability(v: unknown, field: "diarization" | "punctuation" | "itn", refusal: string | null): void {
    if (v === undefined) return;
    if (typeof v !== "boolean") this.live.sendError(new GigasttError("bad_message", `${field} must be true or false`));
    else if (v && refusal !== null) this.live.sendError(new GigasttError(field === "diarization" ? "diarization_not_available" : "punctuation_not_available", refusal));
  }

  private send(payload: unknown): void {
    try {
      this.peer.send(JSON.stringify(payload));
    } catch {
      // socket gone; the close handler tears down
    }
  }
}

/** the VAD a live session may endpoint with: present when the server loaded it (`serve --vad`) */
export function streamVad(
  transcriber: TranscriberLike,
  config: { readonly vad?: boolean; readonly vadMinSilenceMs?: number },
  session: string,
): StreamVad | undefined {
  const labeller = transcriber.vadLabeller;
  if (!labeller || (transcriber.info.vadWorkers ?? 0) === 0) return undefined;
  return {
    labeller: () => labeller.call(transcriber, { session }),
    minSilenceMs: config.vadMinSilenceMs ?? MIN_SILENCE_MS.default,
    byDefault: config.vad === true,
  };
}

/**
 * The stream core's options of a WebSocket transport (`/v1/ws`, `/v1/realtime`): one place, so every
 * adapter gets the same admission, drain, metrics, limits and the server's VAD.
 */
export function liveSessionOptions(
  opts: Omit<WsSessionOptions, "sampleRate"> & { sampleRate?: number },
  transport: { readonly sampleRate: number; readonly name: string; readonly vad: StreamVad | undefined },
): LiveSessionOptions {
  const m = opts.deps.metrics;
  return {
    admission: opts.deps.admission,
    lifecycle: opts.deps.lifecycle,
    metrics: { error: (c) => m.error(c), inference: (s, a) => m.inference(s, a), sessions: (d) => m.wsSessions(d) },
    decoder: opts.transcriber,
    log: opts.log,
    limits: opts.config,
    id: opts.id,
    sampleRate: opts.sampleRate ?? transport.sampleRate,
    maxMessageBytes: opts.config.wsFrameMaxBytes,
    ...(opts.maxBacklogSeconds !== undefined ? { maxBacklogSeconds: opts.maxBacklogSeconds } : {}),
    name: transport.name,
    ...(transport.vad ? { vad: transport.vad } : {}),
  };
}
