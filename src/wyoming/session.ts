/**
 * One Wyoming connection, independent of the socket: the listener hands it
 * bytes, the client's end of input and its disconnect; it answers through a
 * {@link WyomingPeer}.
 *
 * Events are handled strictly in order (a serial chain), so pipelined
 * requests get their answers in order:
 *
 * - `describe` → `info`; `ping` → `pong`.
 * - `transcribe` (optional `language` ru / ru-XX / russian, optional `name` = the model
 *   or `gigastt`) prepares the next audio stream.
 * - `audio-start` (rate 8–192 kHz, width 2, channels 1–16) waits for an
 *   admission slot (the same pool, FIFO and checkout timeout as the WS and
 *   HTTP routes), then sends `transcript-start`; `audio-chunk` payloads go
 *   through channel downmix → resampler → the shared {@link UtteranceStream}
 *   (same endpointing and Worker fairness as the WebSocket route); a first
 *   `audio-chunk` without `audio-start` starts the stream with its own format.
 * - `audio-stop` decodes the rest, then sends one `transcript-chunk` per
 *   finished utterance (already sent as they were cut; the chunks joined give
 *   the transcript), `transcript` `{text, language}` and `transcript-stop`;
 *   the slot is released and the connection can transcribe again.
 *
 * Every error is an `error` event `{text, code}` (codes from src/errors.ts)
 * followed by closing the connection: framing garbage (a header that is not
 * a JSON object with a `type`, an oversized header line, data or payload),
 * events out of order, bad formats, a busy pool, the model not loaded yet.
 * Well-formed events of unknown types are dropped, as the Wyoming spec asks
 * of servers (newer clients send optional events such as `select-program`).
 * Server-initiated ends of a running stream (idle timeout,
 * `--max-session-secs`, drain) still send the transcript of what was heard
 * before closing.
 */
import { GigasttError, isGigasttError } from "../errors.ts";
import { wordsToText } from "../decode/detok.ts";
import { AudioStream } from "../stream/audio-stream.ts";
import { Connection } from "../stream/connection.ts";
import { isAcceptedLanguage, MODEL_ID, unsupportedLanguageMessage } from "../stream/language.ts";
import type { AdmissionPort, DrainPort, SessionLimits, StreamLog, StreamMetrics } from "../stream/ports.ts";
import type { SegmentDecoder } from "../stream/utterances.ts";
import { type AudioFormat, parseAudioFormat, sameFormat } from "./audio.ts";
import { encodeEvent, type FramingLimits, WyomingDecoder, type WyomingEvent } from "./framing.ts";
import { infoData, LANGUAGES, PROGRAM_NAME } from "./info.ts";

/** what the session needs from the socket */
export interface WyomingPeer {
  /** queue bytes for the client (the listener buffers under backpressure) */
  write(bytes: Uint8Array): void;
  /** close after everything written so far is flushed */
  end(): void;
  /** stop / restart reading from the socket (input backpressure) */
  pause(): void;
  resume(): void;
}

/**
 * What a Wyoming connection needs from the process hosting it: the stream core's ports (the
 * server's admission pool, drain, counters and logger satisfy them), its limits, and the model
 * (null while it loads). This is the listener's whole interface to the server.
 */
export interface WyomingDeps {
  readonly admission: AdmissionPort;
  readonly lifecycle: DrainPort;
  readonly metrics: StreamMetrics;
  /** read when a connection or stream starts (SIGHUP may replace it) */
  readonly config: SessionLimits & { readonly shutdownDrainSecs: number };
  readonly transcriber: SegmentDecoder | null;
  readonly log: StreamLog & { withTag?(tag: string): StreamLog };
}

export interface WyomingSessionOptions {
  deps: WyomingDeps;
  log: StreamLog;
  /** connection id (fairness keys and logs) */
  id: string;
  limits?: Partial<FramingLimits>;
}

/** queued input above which the socket stops being read */
const PAUSE_BYTES = 1 << 20;
/** finals waiting to be decoded above which audio input waits */
const MAX_PENDING_FINALS = 4;

type Item = { kind: "event"; event: WyomingEvent; bytes: number } | { kind: "fatal"; error: GigasttError } | { kind: "eof" };

type State =
  /** no audio stream */
  | "idle"
  /** audio-start seen, waiting for a slot */
  | "waiting"
  /** slot held, audio flowing */
  | "streaming"
  /** audio-stop seen: decoding the rest (the connection stays usable) */
  | "finishing"
  /** the server ended the stream: transcript, then close */
  | "ending"
  | "closed";

export class WyomingSession {
  private readonly o: WyomingSessionOptions;
  private readonly peer: WyomingPeer;
  private readonly decoder: WyomingDecoder;
  private readonly conn: Connection;
  private state: State = "idle";
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private paused = false;
  private draining = false;
  /** the audio stream (slot, PCM input, utterances) from audio-start to its transcript */
  private audio: AudioStream | null = null;
  private format: AudioFormat | null = null;
  private texts: string[] = [];
  private inferenceFailed = false;
  private streams = 0;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly startedAt = performance.now();
  /** audio of the streams already released, seconds */
  private audioSeconds = 0;
  private transcripts = 0;
  private lastError: string | null = null;

  constructor(peer: WyomingPeer, opts: WyomingSessionOptions) {
    this.peer = peer;
    this.o = opts;
    this.decoder = new WyomingDecoder(opts.limits);
    this.conn = new Connection({
      lifecycle: opts.deps.lifecycle,
      idleTimeoutSecs: opts.deps.config.idleTimeoutSecs,
      onIdle: () => this.idle(),
      onDrain: () => this.drain(),
    });
  }

  /** settles when the connection is over (slot released, socket closing) */
  get done(): Promise<void> {
    return this.conn.done;
  }

  /** the connection is open */
  start(): void {
    if (!this.conn.start()) {
      this.fail(new GigasttError("shutting_down"));
      return;
    }
    this.conn.touch();
  }

  /** bytes from the client */
  onData(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    this.conn.touch();
    const { events, error } = this.decoder.push(bytes);
    for (const event of events) this.enqueue({ kind: "event", event, bytes: 256 + (event.payload?.length ?? 0) });
    if (error) this.enqueue({ kind: "fatal", error });
  }

  /** the client sent FIN: answer what is queued, then close */
  onEnd(): void {
    if (this.state === "closed") return;
    this.enqueue({ kind: "eof" });
  }

  /** the socket is gone (either side) */
  onClose(): void {
    if (this.state === "closed") return;
    const heard = this.audio?.seconds ?? 0;
    if (this.state === "streaming" && heard > 0) {
      this.o.log.info("wyoming client disconnected during an audio stream; the stream is discarded", { audio_seconds: round3(heard) });
    } else {
      this.o.log.debug("wyoming client disconnected", { state: this.state });
    }
    this.teardown();
  }

  // ---- the serial chain ----------------------------------------------------

  private enqueue(item: Item): void {
    const size = item.kind === "event" ? item.bytes : 0;
    this.queued += size;
    if (!this.paused && this.queued > PAUSE_BYTES) {
      this.paused = true;
      this.peer.pause();
    }
    this.chain = this.chain
      .then(async () => {
        this.queued -= size;
        if (this.paused && this.queued <= PAUSE_BYTES / 2) {
          this.paused = false;
          this.peer.resume();
        }
        if (this.state === "closed") return;
        await this.run(item);
      })
      .catch((e: unknown) => this.fail(e));
  }

  private async run(item: Item): Promise<void> {
    if (item.kind === "fatal") {
      this.fail(item.error);
      return;
    }
    if (item.kind === "eof") {
      if (this.state === "streaming" || this.state === "waiting") this.o.log.debug("wyoming client ended its input without audio-stop");
      this.close();
      return;
    }
    // the server is ending the stream: audio still in flight is dropped
    if (this.state === "ending") return;
    const { type, data, payload } = item.event;
    switch (type) {
      case "describe":
        this.send("info", infoData());
        return;
      case "ping":
        this.send("pong", typeof data.text === "string" ? { text: data.text } : {});
        return;
      case "transcribe":
        if (this.state !== "idle") throw new GigasttError("bad_message", "'transcribe' during an audio stream");
        checkTranscribe(data);
        return;
      case "audio-start":
        if (this.state !== "idle") throw new GigasttError("bad_message", "'audio-start' during an audio stream");
        await this.begin(parseAudioFormat(data));
        return;
      case "audio-chunk":
        await this.chunk(data, payload);
        return;
      case "audio-stop":
        await this.stop();
        return;
      case "select-program":
        // wyoming ≥ 1.10: pick a program by name; this server has one
        if (data.name !== PROGRAM_NAME) this.o.log.debug("wyoming select-program names another program", { name: String(data.name).slice(0, 64) });
        return;
      default:
        // the Wyoming spec: servers drop events they do not know (newer clients send optional ones)
        this.o.log.debug("wyoming event ignored", { type: type.slice(0, 64) });
        return;
    }
  }

  private async begin(format: AudioFormat): Promise<void> {
    if (this.draining) throw new GigasttError("shutting_down");
    const decoder = this.o.deps.transcriber;
    if (!decoder) throw new GigasttError("not_ready");
    this.state = "waiting";
    this.format = format;
    this.streams++;
    const audio = new AudioStream({
      admission: this.o.deps.admission,
      decoder,
      metrics: this.o.deps.metrics,
      session: `wyoming:${this.o.id}:${this.streams}`,
      maxSessionSecs: this.o.deps.config.maxSessionSecs,
      partials: false,
      onSessionCap: () => this.endEarly(new GigasttError("max_session_duration_exceeded")),
      onResult: (r) => {
        if (r.type !== "final" || this.state === "closed") return;
        const text = wordsToText(r.words);
        if (!text) return;
        this.send("transcript-chunk", { text: this.texts.length ? ` ${text}` : text });
        this.texts.push(text);
      },
      onDecodeError: (e) => {
        this.inferenceFailed = true;
        this.o.log.warn("wyoming inference failed", { error: e instanceof Error ? e.message : String(e) });
      },
    });
    audio.setFormat(format.rate, format.channels);
    this.audio = audio;
    let admitted: boolean;
    try {
      admitted = await audio.admit();
    } catch (e) {
      if (this.state !== "waiting") return; // closed meanwhile
      if (isGigasttError(e) && (e.code === "timeout" || e.code === "pool_closed")) throw e;
      if (this.draining) throw new GigasttError("shutting_down");
      throw e;
    }
    if (this.state !== "waiting") return; // closed meanwhile
    // the slot came just as the drain closed the stream: answer like a drain during the wait
    if (!admitted) throw new GigasttError("shutting_down");
    this.state = "streaming";
    this.texts = [];
    this.inferenceFailed = false;
    this.send("transcript-start", { language: LANGUAGES[0] });
    if (this.draining) this.startGrace();
  }

  private async chunk(data: Readonly<Record<string, unknown>>, payload: Uint8Array | null): Promise<void> {
    if (this.state === "idle") {
      // no audio-start: the chunk's own format starts the stream
      await this.begin(parseAudioFormat(data));
      if ((this.state as State) !== "streaming") return;
    } else if (this.state !== "streaming") {
      return;
    }
    if (data.rate !== undefined || data.width !== undefined || data.channels !== undefined) {
      const f = parseAudioFormat(data);
      if (!sameFormat(f, this.format!)) {
        throw new GigasttError("unsupported_format", "The audio-chunk format differs from the audio-start format");
      }
    }
    if (!payload || payload.length === 0) return;
    const audio = this.audio!;
    audio.push(payload);
    if (audio.pendingFinals >= MAX_PENDING_FINALS) await audio.whenBelow(MAX_PENDING_FINALS);
  }

  private async stop(): Promise<void> {
    if (this.state === "idle") {
      // audio-stop without audio: an empty transcript
      this.send("transcript-start", { language: LANGUAGES[0] });
      this.sendTranscript();
      if (this.draining) this.close();
      return;
    }
    if (this.state !== "streaming") return;
    this.state = "finishing";
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    await this.finishStream();
    if (this.state !== "finishing") return; // closed meanwhile
    if (this.inferenceFailed) {
      this.fail(new GigasttError("inference_error"));
      return;
    }
    this.sendTranscript();
    this.releaseStream();
    this.state = "idle";
    if (this.draining) this.close();
  }

  /** the server ends a running stream: error (if any), transcript of what was heard, close */
  private endEarly(error?: GigasttError): void {
    if (this.state !== "streaming") return;
    this.state = "ending";
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (error) this.sendError(error);
    void this.finishStream().then(() => {
      if (this.state !== "ending") return;
      if (this.inferenceFailed) this.sendError(new GigasttError("inference_error"));
      else this.sendTranscript();
      this.close();
    });
  }

  private async finishStream(): Promise<void> {
    try {
      const { droppedBytes } = await this.audio!.finish();
      if (droppedBytes) this.o.log.debug("wyoming stream ended with an incomplete frame", { bytes: droppedBytes });
    } catch {
      this.inferenceFailed = true;
    }
  }

  private sendTranscript(): void {
    const text = this.texts.join(" ");
    this.send("transcript", { text, language: LANGUAGES[0] });
    this.send("transcript-stop");
    this.o.log.debug("wyoming transcript sent", { audio_seconds: round3(this.audio?.seconds ?? 0), chars: text.length });
    this.transcripts++;
    this.texts = [];
  }

  private releaseStream(): void {
    this.audioSeconds += this.audio?.seconds ?? 0;
    this.audio?.close();
    this.audio = null;
    this.format = null;
  }

  // ---- drain, timers, closing ----------------------------------------------

  private drain(): void {
    this.draining = true;
    switch (this.state) {
      case "idle":
        this.close();
        return;
      case "waiting":
        this.audio?.close(); // stops waiting for a slot; begin() answers shutting_down
        return;
      case "streaming":
        this.startGrace();
        return;
      default:
        // finishing: closes after its transcript; ending/closed: already on the way out
        return;
    }
  }

  /** while draining, a running stream gets half the drain window to send audio-stop */
  private startGrace(): void {
    if (this.graceTimer !== undefined) return;
    const ms = (this.o.deps.config.shutdownDrainSecs * 1000) / 2;
    this.graceTimer = setTimeout(() => this.endEarly(), ms);
  }

  /** no byte from the client within the idle timeout */
  private idle(): void {
    if (this.state === "streaming") this.endEarly(new GigasttError("idle_timeout"));
    else if (this.state === "idle") this.close();
    else this.conn.touch(); // waiting for a slot or decoding: not the client's silence
  }

  private fail(e: unknown): void {
    const err = isGigasttError(e) ? e : new GigasttError("internal");
    if (!isGigasttError(e)) this.o.log.error("wyoming session failed", { error: e instanceof Error ? e.message : String(e) });
    this.sendError(err);
    this.close();
  }

  private close(): void {
    if (this.state === "closed") return;
    this.teardown();
    try {
      this.peer.end();
    } catch {
      // already gone
    }
  }

  /** one info line per connection (the access log of the Wyoming listener) */
  private logEnd(): void {
    this.o.log.info("wyoming session ended", {
      duration_ms: Math.round(performance.now() - this.startedAt),
      audio_seconds: round3(this.audioSeconds + (this.audio?.seconds ?? 0)),
      transcripts: this.transcripts,
      ...(this.lastError ? { error: this.lastError } : {}),
    });
  }

  private teardown(): void {
    if (this.state === "closed") return;
    this.logEnd();
    this.state = "closed";
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.releaseStream();
    this.conn.close();
  }

  private sendError(e: GigasttError): void {
    this.lastError = e.code;
    this.o.deps.metrics.error(e.code);
    const retry = e.details.retry_after_ms;
    this.send("error", { text: e.message, code: e.code, ...(typeof retry === "number" ? { retry_after_ms: retry } : {}) });
  }

  private send(type: string, data?: Record<string, unknown>): void {
    if (this.state === "closed") return;
    try {
      this.peer.write(encodeEvent(type, data));
    } catch {
      // socket gone; the close handler tears down
    }
  }
}

/** `transcribe` data: `language` must be Russian (`unsupported_language`), `name` this model (both optional). */
function checkTranscribe(data: Readonly<Record<string, unknown>>): void {
  const { language, name } = data;
  if (language !== undefined && language !== null) {
    if (typeof language !== "string") throw new GigasttError("unsupported_language", "'language' must be a string such as \"ru\"");
    // the same rule as the OpenAI route: ru, rus, russian, ru-XX
    if (!isAcceptedLanguage(language)) throw new GigasttError("unsupported_language", unsupportedLanguageMessage(language));
  }
  if (name !== undefined && name !== null && name !== MODEL_ID && name !== PROGRAM_NAME) {
    throw new GigasttError("bad_message", `Unknown model ${JSON.stringify(name).slice(0, 80)}: the model is ${MODEL_ID}`);
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
