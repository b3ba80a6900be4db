/**
 * One live session of a message transport (the `/v1/ws` protocol, the OpenAI Realtime
 * WebSocket, the next one): the whole lifecycle, with the wire left to an adapter that parses
 * client messages, calls these methods and renders the {@link LiveSink} callbacks.
 *
 *   waiting ──slot──▶ active ──stop/drain/limit──▶ ending ──final sent──▶ closed
 *
 * - `ready` once an admission slot is held (for the session's whole life, released on every
 *   path). Messages before it are queued (bounded) and run in order afterwards.
 * - Audio goes to one {@link AudioStream}, so frame sizes never matter.
 * - Every server-initiated end of an admitted session emits the last final (the rest of the
 *   audio, decoded) before `close`: stop, drain, idle timeout, session cap, backlog, a policy
 *   violation, a frame over the cap. An error (if any) always comes first.
 */
import { GigasttError, isGigasttError } from "../errors.ts";
import { AudioStream, type Endpointing, type StreamResult, type StreamVad } from "./audio-stream.ts";
import { Connection } from "./connection.ts";
import type { AdmissionPort, DrainPort, SessionLimits, StreamLog, StreamMetrics } from "./ports.ts";
import type { SegmentDecoder } from "./utterances.ts";
import type { HotwordList } from "../decode/hotwords.ts";

/**
 * Audio (seconds) a session may have received but not yet answered with a final. Bun cannot
 * pause reading a WebSocket, so a client that sends faster than the Workers transcribe would
 * otherwise pile up utterances in memory. Past this the session gets `backlog_exceeded`, the
 * final with everything it sent (nothing is dropped), and the close.
 */
export const MAX_BACKLOG_SECONDS = 60;

/** empty audio frames tolerated per session (then `policy_violation`) */
export const MAX_EMPTY_FRAMES = 1000;

/** why the session closes; the adapter maps it to its wire (a WebSocket close code) */
export type CloseCause =
  | "stop"
  | "drain"
  | "idle"
  | "session_cap"
  | "backlog"
  | "policy"
  | "too_big"
  | "protocol"
  | "busy"
  | "keepalive"
  | "inference_timeout"
  | "internal";

export interface LiveSink {
  /** admitted: the slot is held */
  ready(): void;
  result(r: StreamResult): void;
  error(e: GigasttError): void;
  /** close the transport; returns the wire's close code (for the log line) */
  close(cause: CloseCause, reason: string): number;
}

export interface LiveSessionOptions {
  readonly admission: AdmissionPort;
  readonly lifecycle: DrainPort;
  readonly metrics: StreamMetrics & { sessions?(delta: 1 | -1): void };
  readonly decoder: SegmentDecoder;
  readonly log: StreamLog;
  /** read once when the session starts */
  readonly limits: SessionLimits;
  /** fairness key for the Worker pool */
  readonly id: string;
  /** the input rate until the client sets one */
  readonly sampleRate: number;
  /** a message larger than this ends the session (`frame_too_large`) */
  readonly maxMessageBytes: number;
  /** see {@link MAX_BACKLOG_SECONDS} */
  readonly maxBacklogSeconds?: number;
  /** the transport's name in log lines (`ws`, `realtime`) */
  readonly name?: string;
  /** the loaded VAD, if any (the endpoint modes that use it) */
  readonly vad?: StreamVad;
}

type State = "waiting" | "active" | "ending" | "closed";

export class LiveSession {
  private readonly o: LiveSessionOptions;
  private readonly sink: LiveSink;
  private readonly conn: Connection;
  private readonly audio: AudioStream;
  private state: State = "waiting";
  private queue: Array<() => void> = [];
  private queuedBytes = 0;
  private emptyFrames = 0;
  private finals = 0;
  private readonly startedAt = performance.now();

  constructor(sink: LiveSink, opts: LiveSessionOptions) {
    this.sink = sink;
    this.o = opts;
    this.conn = new Connection({
      lifecycle: opts.lifecycle,
      idleTimeoutSecs: opts.limits.idleTimeoutSecs,
      onIdle: () => this.end("idle", "idle timeout", new GigasttError("idle_timeout")),
      onDrain: () => this.drain(),
    });
    this.audio = new AudioStream({
      admission: opts.admission,
      decoder: opts.decoder,
      metrics: opts.metrics,
      session: opts.id,
      maxSessionSecs: opts.limits.maxSessionSecs,
      onSessionCap: () => this.end("session_cap", "max session duration", new GigasttError("max_session_duration_exceeded")),
      onResult: (r) => {
        if (this.state === "closed") return;
        if (r.type === "final") this.finals++;
        this.sink.result(r);
      },
      onDecodeError: (e) => this.decodeFailed(e),
      ...(opts.vad ? { vad: opts.vad } : {}),
    });
    this.audio.setFormat(opts.sampleRate);
  }

  /** settles when the session is over (slot released, close sent or the client gone) */
  get done(): Promise<void> {
    return this.conn.done;
  }

  get isActive(): boolean {
    return this.state === "active";
  }

  /** the input rate (the default or the client's) */
  get sampleRate(): number {
    return this.audio.rate;
  }

  /** audio arrived: rate and endpointing are fixed from then on */
  get hasAudio(): boolean {
    return this.audio.started;
  }

  /** the transport is open: wait for a slot, then `ready` */
  start(): void {
    this.o.metrics.sessions?.(1);
    if (!this.conn.start()) {
      this.fail(new GigasttError("shutting_down"), "drain");
      return;
    }
    this.audio.admit().then(
      (ok) => {
        if (ok && this.state === "waiting") this.begin();
      },
      (e: unknown) => {
        if (this.state !== "waiting") return;
        if (isGigasttError(e) && (e.code === "timeout" || e.code === "pool_closed")) this.fail(e, e.code === "timeout" ? "busy" : "drain");
        else this.fail(new GigasttError("internal"), "internal");
      },
    );
  }

  /**
   * A client message of `bytes` on the wire: `run` handles it now (active) or after `ready`
   * (queued, bounded); a message over the cap ends the session. Every message counts as activity.
   */
  message(bytes: number, run: () => void): void {
    if (this.state === "ending" || this.state === "closed") return;
    if (bytes > this.o.maxMessageBytes) {
      const err = new GigasttError("frame_too_large", `WebSocket frame exceeds ${this.o.maxMessageBytes} bytes`);
      if (this.state === "active") this.end("too_big", "frame too large", err);
      else this.fail(err, "too_big");
      return;
    }
    if (this.state === "waiting") {
      this.queuedBytes += Math.max(64, bytes);
      if (this.queuedBytes > Math.max(4 * this.o.maxMessageBytes, 1 << 20)) {
        this.fail(new GigasttError("payload_too_large", "Too much data before ready"), "too_big");
        return;
      }
      this.queue.push(run);
      return;
    }
    this.conn.touch();
    this.guard(run);
  }

  /** the client did something that is not a message of its own (restarts the idle timer) */
  touch(): void {
    if (this.state === "active") this.conn.touch();
  }

  /** PCM16 bytes at the session's rate (an empty frame counts towards the empty-frame policy) */
  pushAudio(bytes: Uint8Array): void {
    if (this.state !== "active") return;
    if (bytes.length === 0) {
      if (++this.emptyFrames > MAX_EMPTY_FRAMES) this.end("policy", "policy violation", new GigasttError("policy_violation", "Empty frame limit exceeded"));
      return;
    }
    this.audio.push(bytes);
    const backlog = this.audio.backlogSeconds;
    const max = this.o.maxBacklogSeconds ?? MAX_BACKLOG_SECONDS;
    if (backlog > max) {
      this.o.log.warn(`${this.name} client sends audio faster than it is transcribed: closing`, { backlog_seconds: round3(backlog), max_seconds: max });
      this.end("backlog", "backlog exceeded", new GigasttError("backlog_exceeded", `More than ${max} s of audio waiting to be transcribed`));
    }
  }

  /** before audio: the input rate; false once audio arrived */
  setSampleRate(rate: number): boolean {
    return this.audio.setFormat(rate);
  }

  /** before audio: when utterances end; false once audio arrived */
  setEndpointing(e: Endpointing): boolean {
    return this.audio.setEndpointing(e);
  }

  /** before audio: the hotwords of every decode (null: none); false once audio arrived */
  setHotwords(list: HotwordList | null): boolean {
    return this.audio.setHotwords(list);
  }

  /** end the open utterance now (a commit); resolves once its final (if any) was sent */
  commit(): Promise<void> {
    if (this.state !== "active") return Promise.resolve();
    return this.audio.commit();
  }

  /** drop the open utterance's audio */
  clear(): void {
    if (this.state === "active") this.audio.clear();
  }

  /** the client's stop: decode the rest, the last final, close */
  stop(): void {
    this.end("stop", "stop");
  }

  /** an error that ends the session at once, without a final (a protocol violation) */
  abort(e: GigasttError, cause: CloseCause): void {
    if (this.state === "closed") return;
    this.state = "ending";
    this.fail(e, cause);
  }

  /** close at once without a final (the client stopped answering) */
  closeNow(cause: CloseCause, reason: string): void {
    if (this.state === "closed") return;
    this.state = "ending";
    this.closeWith(cause, reason);
  }

  /** the server ends the session: error (if any), the last final, close */
  end(cause: CloseCause, reason: string, error?: GigasttError): void {
    if (this.state !== "active") return;
    this.state = "ending";
    this.conn.pauseIdle();
    if (error) this.sendError(error);
    this.audio.finish().then(
      ({ droppedBytes }) => {
        if (droppedBytes > 0) this.o.log.debug(`${this.name} stream ended with an incomplete frame`, { bytes: droppedBytes });
        this.closeWith(cause, reason);
      },
      () => this.closeWith("internal", "internal error"),
    );
  }

  /** a safe error to the client (counted); the session goes on */
  sendError(e: GigasttError): void {
    if (this.state === "closed") return;
    this.o.metrics.error(e.code);
    this.sink.error(e);
  }

  /** the client closed the transport (or it broke) */
  clientClosed(code: number): void {
    if (this.state === "closed") return;
    const audio = this.audio.seconds;
    if (this.state === "active" && audio > 0) {
      this.o.log.info(`${this.name} client closed without stop; the open utterance is discarded`, { code, audio_seconds: round3(audio), finals: this.finals });
    } else {
      this.o.log.debug(`${this.name} closed by client`, { code, state: this.state });
    }
    this.logEnd(code, "client");
    this.teardown();
  }

  // ---- internals -------------------------------------------------------------

  private get name(): string {
    return this.o.name ?? "ws";
  }

  private begin(): void {
    this.state = "active";
    this.sink.ready();
    this.conn.touch();
    const queued = this.queue;
    this.queue = [];
    for (const run of queued) {
      if (this.state !== "active") break;
      this.guard(run);
    }
  }

  private guard(run: () => void): void {
    try {
      run();
    } catch (e) {
      // a bug, never the client's fault: say so and end the session
      this.o.log.error(`${this.name} session failed`, { error: e instanceof Error ? e.message : String(e) });
      this.fail(new GigasttError("internal"), "internal");
    }
  }

  private drain(): void {
    if (this.state === "waiting") this.fail(new GigasttError("shutting_down"), "drain");
    else if (this.state === "active") this.end("drain", "server shutdown");
  }

  private decodeFailed(e: unknown): void {
    if (this.state === "closed") return;
    this.o.log.warn(`${this.name} inference failed`, { error: e instanceof Error ? e.message : String(e) });
    // a decode that timed out means the Workers are stuck: say so and close (Rust: inference_timeout, 1001)
    if (isGigasttError(e) && e.code === "inference_timeout") {
      if (this.state === "active" || this.state === "ending") this.abort(e, "inference_timeout");
      return;
    }
    this.sendError(new GigasttError("inference_error"));
  }

  private fail(e: GigasttError, cause: CloseCause): void {
    this.sendError(e);
    this.closeWith(cause, e.code);
  }

  private closeWith(cause: CloseCause, reason: string): void {
    if (this.state === "closed") return;
    // torn down first: the transport may report the client's side of the close synchronously
    this.teardown();
    let code = 0;
    try {
      code = this.sink.close(cause, reason);
    } catch {
      // already gone
    }
    this.logEnd(code, "server", cause);
  }

  /** one info line per session (the access log of a live transport) */
  private logEnd(code: number, closedBy: "client" | "server", cause?: CloseCause): void {
    this.o.log.info(`${this.name} session ended`, {
      duration_ms: Math.round(performance.now() - this.startedAt),
      audio_seconds: round3(this.audio.seconds),
      sample_rate: this.audio.rate,
      finals: this.finals,
      close_code: code,
      closed_by: closedBy,
      ...(cause ? { cause } : {}),
    });
  }

  private teardown(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.audio.close();
    this.queue = [];
    this.o.metrics.sessions?.(-1);
    this.conn.close();
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
