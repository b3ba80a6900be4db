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
import type { ConsolaInstance } from "consola";
import { GigasttError, isGigasttError } from "../errors.ts";
import { wordsToText } from "../decode/detok.ts";
import type { ServerDeps, Slot, TranscriberLike } from "../server/deps.ts";
import { isAcceptedLanguage, MODEL_ID, unsupportedLanguageMessage } from "../stream/language.ts";
import { PcmInput } from "../stream/pcm-input.ts";
import { UtteranceStream } from "../stream/utterances.ts";
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

export interface WyomingSessionOptions {
  deps: Pick<ServerDeps, "admission" | "lifecycle" | "metrics" | "config" | "transcriber">;
  log: ConsolaInstance;
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
  private state: State = "idle";
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private paused = false;
  private draining = false;
  private acquireAbort: AbortController | null = null;
  private slot: Slot | null = null;
  private input: PcmInput | null = null;
  private format: AudioFormat | null = null;
  private stream: UtteranceStream | null = null;
  private texts: string[] = [];
  private inferenceFailed = false;
  private streams = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private capTimer: ReturnType<typeof setTimeout> | undefined;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribeDrain: () => void = () => {};
  private resolveDone!: () => void;
  private readonly startedAt = performance.now();
  /** audio of the streams already released, seconds */
  private audioSeconds = 0;
  private transcripts = 0;
  private lastError: string | null = null;
  /** settles when the connection is over (slot released, socket closing) */
  readonly done: Promise<void>;

  constructor(peer: WyomingPeer, opts: WyomingSessionOptions) {
    this.peer = peer;
    this.o = opts;
    this.decoder = new WyomingDecoder(opts.limits);
    this.done = new Promise<void>((r) => (this.resolveDone = r));
  }

  /** the connection is open */
  start(): void {
    void this.o.deps.lifecycle.track(this.done);
    if (this.o.deps.lifecycle.draining) {
      this.fail(new GigasttError("shutting_down"));
      return;
    }
    this.unsubscribeDrain = this.o.deps.lifecycle.onDrain(() => this.drain());
    this.touch();
  }

  /** bytes from the client */
  onData(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    this.touch();
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
    if (this.state === "streaming" && (this.input?.seconds ?? 0) > 0) {
      this.o.log.info("wyoming client disconnected during an audio stream; the stream is discarded", {
        audio_seconds: round3(this.input?.seconds ?? 0),
      });
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
    const transcriber = this.o.deps.transcriber;
    if (!transcriber) throw new GigasttError("not_ready");
    this.state = "waiting";
    this.format = format;
    this.acquireAbort = new AbortController();
    let slot: Slot;
    try {
      slot = await this.o.deps.admission.acquire({ signal: this.acquireAbort.signal });
    } catch (e) {
      if (this.state !== "waiting") return; // closed meanwhile
      if (isGigasttError(e) && (e.code === "timeout" || e.code === "pool_closed")) throw e;
      if (this.draining) throw new GigasttError("shutting_down");
      throw e;
    } finally {
      this.acquireAbort = null;
    }
    if (this.state !== "waiting") {
      slot.release();
      return;
    }
    this.slot = slot;
    this.state = "streaming";
    this.streams++;
    this.texts = [];
    this.inferenceFailed = false;
    this.input = new PcmInput(format.rate, format.channels);
    this.stream = this.makeStream(transcriber, `wyoming:${this.o.id}:${this.streams}`);
    this.send("transcript-start", { language: LANGUAGES[0] });
    const cap = this.o.deps.config.maxSessionSecs;
    if (cap > 0) {
      this.capTimer = setTimeout(() => this.endEarly(new GigasttError("max_session_duration_exceeded")), cap * 1000);
    }
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
    const x = this.input!.push(payload);
    if (x.length) this.stream!.push(x);
    if (this.stream!.pendingFinals >= MAX_PENDING_FINALS) await this.stream!.whenBelow(MAX_PENDING_FINALS);
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
    this.clearStreamTimers();
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
    this.clearStreamTimers();
    if (error) this.sendError(error);
    void this.finishStream().then(() => {
      if (this.state !== "ending") return;
      if (this.inferenceFailed) this.sendError(new GigasttError("inference_error"));
      else this.sendTranscript();
      this.close();
    });
  }

  private async finishStream(): Promise<void> {
    const stream = this.stream!;
    const tail = this.input!.flush();
    if (tail.droppedBytes) this.o.log.debug("wyoming stream ended with an incomplete frame", { bytes: tail.droppedBytes });
    if (tail.samples.length) stream.push(tail.samples);
    try {
      await stream.finish();
    } catch {
      this.inferenceFailed = true;
    }
  }

  private makeStream(transcriber: TranscriberLike, session: string): UtteranceStream {
    const { metrics } = this.o.deps;
    return new UtteranceStream({
      decoder: transcriber,
      session,
      partials: false,
      onEvent: (e) => {
        if (e.type !== "final" || this.state === "closed") return;
        const text = wordsToText(e.words);
        if (!text) return;
        this.send("transcript-chunk", { text: this.texts.length ? ` ${text}` : text });
        this.texts.push(text);
      },
      onError: (e) => {
        this.inferenceFailed = true;
        this.o.log.warn("wyoming inference failed", { error: e instanceof Error ? e.message : String(e) });
      },
      onInference: (seconds, audio) => metrics.inference(seconds, audio),
    });
  }

  private sendTranscript(): void {
    const text = this.texts.join(" ");
    this.send("transcript", { text, language: LANGUAGES[0] });
    this.send("transcript-stop");
    this.o.log.debug("wyoming transcript sent", { audio_seconds: round3(this.input?.seconds ?? 0), chars: text.length });
    this.transcripts++;
    this.texts = [];
  }

  private releaseStream(): void {
    this.audioSeconds += this.input?.seconds ?? 0;
    this.stream?.close();
    this.stream = null;
    this.input = null;
    this.format = null;
    this.slot?.release();
    this.slot = null;
  }

  // ---- drain, timers, closing ----------------------------------------------

  private drain(): void {
    this.draining = true;
    switch (this.state) {
      case "idle":
        this.close();
        return;
      case "waiting":
        this.acquireAbort?.abort(); // begin() answers shutting_down
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

  private touch(): void {
    clearTimeout(this.idleTimer);
    const secs = this.o.deps.config.idleTimeoutSecs;
    if (secs <= 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.state === "streaming") this.endEarly(new GigasttError("idle_timeout"));
      else if (this.state === "idle") this.close();
      else this.touch(); // waiting for a slot or decoding: not the client's silence
    }, secs * 1000);
  }

  private clearStreamTimers(): void {
    clearTimeout(this.capTimer);
    clearTimeout(this.graceTimer);
    this.capTimer = undefined;
    this.graceTimer = undefined;
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
      audio_seconds: round3(this.audioSeconds + (this.input?.seconds ?? 0)),
      transcripts: this.transcripts,
      ...(this.lastError ? { error: this.lastError } : {}),
    });
  }

  private teardown(): void {
    if (this.state === "closed") return;
    this.logEnd();
    this.state = "closed";
    clearTimeout(this.idleTimer);
    this.clearStreamTimers();
    this.acquireAbort?.abort();
    this.releaseStream();
    this.unsubscribeDrain();
    this.resolveDone();
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
