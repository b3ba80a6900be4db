/**
 * One admitted audio stream of a live transport: it waits for an admission slot, holds it until
 * it is finished or closed, turns PCM16 bytes (any rate, channels, odd splits) into finals and
 * partials through {@link PcmInput} → {@link UtteranceStream}, arms the session cap
 * (`maxSessionSecs` from admission) and measures the backlog. The transport decides what each
 * event means on its wire and when to finish.
 */
import { GigasttError } from "../errors.ts";
import type { Word } from "../types.ts";
import { wordsConfidence } from "../decode/confidence.ts";
import type { HotwordList } from "../decode/hotwords.ts";
import type { AdmissionPort, Slot, StreamMetrics } from "./ports.ts";
import { PcmInput } from "./pcm-input.ts";
import type { VadLabeller } from "../engine/vad.ts";
import { vadEndpointing } from "./endpointer.ts";
import { type FinalCause, type SegmentDecoder, UtteranceStream } from "./utterances.ts";

/**
 * When an utterance ends (Rust's `endpoint_mode`, plus two explicit names of ours):
 * - `auto` (default): the VAD's silence when the server loaded it by default (`serve --vad`), else
 *   the first pause of `minSilenceMs` after speech (energy endpointing);
 * - `assistant`: at VAD silence only; without a VAD only stop/commit (or the 20 s cap) end it, as
 *   the Rust server does in this mode without `--vad`;
 * - `manual`: only at stop/commit (or the 20 s cap);
 * - `energy`: the energy pause rule, whatever the server loaded;
 * - `vad`: the VAD's silence (the transport refuses it with `vad_not_loaded` when none is loaded).
 */
export type EndpointMode = "auto" | "assistant" | "manual" | "energy" | "vad";
export const ENDPOINT_MODES: readonly EndpointMode[] = Object.freeze(["auto", "assistant", "manual", "energy", "vad"]);

/** the VAD a stream may endpoint with (present only when one is loaded) */
export interface StreamVad {
  /** a labeller for one stream (its recurrent state travels with each job) */
  labeller(): VadLabeller;
  /** the non-speech that ends a VAD utterance when the session sets no `minSilenceMs` */
  readonly minSilenceMs: number;
  /** `auto` means VAD (the server was started with `--vad`) */
  readonly byDefault: boolean;
}

export interface Endpointing {
  readonly mode: EndpointMode;
  /** the pause that ends an utterance in `auto` mode (default 500 ms) */
  readonly minSilenceMs?: number;
}

/** bounds of `minSilenceMs`: shorter splits words at breaths; longer than ¼ of the 20 s cap never ends one */
export const MIN_SILENCE_MS = Object.freeze({ min: 100, max: 5000, default: 500 });

/** why a final closed, on the wire (Rust's `endpoint_reason`); null: the 20 s cap, not an end of speech */
export type EndpointReason = "vad" | "blank" | "stop";

export interface StreamResult {
  readonly type: "partial" | "final";
  readonly words: readonly Word[];
  /** duration-weighted mean word confidence; undefined without words */
  readonly confidence: number | undefined;
  /** finals: the speaker stopped (pause, stop); false at the 20 s cap and on partials */
  readonly speechFinal: boolean;
  /** finals only: what closed it */
  readonly endpointReason: EndpointReason | null;
  /** the final sent by `finish()` */
  readonly last: boolean;
}

export interface AudioStreamOptions {
  readonly admission: AdmissionPort;
  readonly decoder: SegmentDecoder;
  readonly metrics: StreamMetrics;
  /** fairness key for the Worker pool */
  readonly session: string;
  /** 0 = no cap; `onSessionCap` fires that long after admission */
  readonly maxSessionSecs: number;
  onSessionCap(): void;
  onResult(r: StreamResult): void;
  /** a final's decode failed (its words are lost; the stream goes on unless the transport ends it) */
  onDecodeError(e: unknown): void;
  /** send partials (default true) */
  readonly partials?: boolean;
  /** the loaded VAD, if any (`endpoint_mode` auto/assistant/vad use it) */
  readonly vad?: StreamVad;
}

export class AudioStream {
  private readonly o: AudioStreamOptions;
  private readonly acquireAbort = new AbortController();
  private slot: Slot | null = null;
  private capTimer: ReturnType<typeof setTimeout> | undefined;
  private input: PcmInput | null = null;
  private stream: UtteranceStream | null = null;
  private format = { rate: 16000, channels: 1 };
  private endpointing: Endpointing = { mode: "auto" };
  /** undefined: the decoder's default list; null: none */
  private hotwords: HotwordList | null | undefined;
  private closed = false;

  constructor(opts: AudioStreamOptions) {
    this.o = opts;
  }

  /** wait for a slot (throws the admission's error); false when closed meanwhile (the slot went back) */
  async admit(): Promise<boolean> {
    const slot = await this.o.admission.acquire({ signal: this.acquireAbort.signal });
    if (this.closed) {
      slot.release();
      return false;
    }
    this.slot = slot;
    const cap = this.o.maxSessionSecs;
    if (cap > 0) this.capTimer = setTimeout(() => this.o.onSessionCap(), cap * 1000);
    return true;
  }

  get admitted(): boolean {
    return this.slot !== null;
  }

  /** whether audio (or a commit) started the utterance stream: format and endpointing are fixed from then on */
  get started(): boolean {
    return this.input !== null || this.stream !== null;
  }

  get rate(): number {
    return this.format.rate;
  }

  /** seconds of input audio received */
  get seconds(): number {
    return this.input?.seconds ?? 0;
  }

  /** seconds of audio received and not yet answered by a final */
  get backlogSeconds(): number {
    return this.stream?.backlogSeconds ?? 0;
  }

  get pendingFinals(): number {
    return this.stream?.pendingFinals ?? 0;
  }

  /** before audio only; false once started */
  setFormat(rate: number, channels = 1): boolean {
    if (this.started) return false;
    this.format = { rate, channels };
    return true;
  }

  /** before audio only; false once started */
  setEndpointing(e: Endpointing): boolean {
    if (this.started) return false;
    this.endpointing = e;
    return true;
  }

  /** before audio only: the hotwords of every decode (null: none); false once started */
  setHotwords(list: HotwordList | null): boolean {
    if (this.started) return false;
    this.hotwords = list;
    return true;
  }

  get endpointMode(): EndpointMode {
    return this.endpointing.mode;
  }

  /** PCM16 LE bytes of the negotiated format */
  push(bytes: Uint8Array): void {
    if (this.closed) return;
    this.input ??= new PcmInput(this.format.rate, this.format.channels);
    const x = this.input.push(bytes);
    if (x.length > 0) this.ensureStream().push(x);
  }

  /** resolves once fewer than `max` finals wait to be decoded */
  whenBelow(max: number): Promise<void> {
    return this.stream ? this.stream.whenBelow(max) : Promise.resolve();
  }

  /** end the open utterance now (a commit); resolves once its final (if any) was emitted */
  commit(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.ensureStream().cut();
  }

  /** drop the open utterance's audio (a clear) */
  clear(): void {
    this.stream?.discardOpen();
  }

  /**
   * End of input: decode the rest, emit the last final (always one, possibly empty). Resolves
   * with the odd bytes of an incomplete frame that were dropped.
   */
  async finish(): Promise<{ droppedBytes: number }> {
    clearTimeout(this.capTimer);
    const stream = this.ensureStream();
    const tail = this.input?.flush() ?? { samples: new Float32Array(0), droppedBytes: 0 };
    if (tail.samples.length > 0 && stream.isOpen) stream.push(tail.samples);
    await stream.finish();
    return { droppedBytes: tail.droppedBytes };
  }

  /** abandon: stop waiting for a slot, abort decodes, release the slot; idempotent */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.capTimer);
    this.acquireAbort.abort(new GigasttError("internal", "stream closed"));
    this.stream?.close();
    this.slot?.release();
    this.slot = null;
  }

  private ensureStream(): UtteranceStream {
    if (this.stream) return this.stream;
    const e = this.endpointing;
    const vad = usesVad(e.mode, this.o.vad) ? this.o.vad : undefined;
    this.stream = new UtteranceStream({
      decoder: this.o.decoder,
      session: this.o.session,
      ...(this.o.partials === false ? { partials: false } : {}),
      ...(vad
        ? { segmenter: { endpoint: true, minPauseMs: e.minSilenceMs ?? vad.minSilenceMs }, endpointer: vadEndpointing(vad.labeller()) }
        : { segmenter: segmenterFor(e) }),
      ...(this.hotwords !== undefined ? { hotwords: this.hotwords } : {}),
      onEvent: (ev) => {
        if (this.closed) return;
        const final = ev.type === "final";
        this.o.onResult({
          type: ev.type,
          words: ev.words,
          confidence: wordsConfidence(ev.words),
          speechFinal: final && ev.cause !== "limit",
          endpointReason: final ? endpointReason(ev.cause, vad !== undefined) : null,
          last: final && ev.last,
        });
      },
      onError: (err) => this.o.onDecodeError(err),
      onInference: (seconds, audio) => this.o.metrics.inference(seconds, audio),
    });
    return this.stream;
  }
}

/** whether `mode` endpoints with the VAD (`vad` is only accepted by the transport when one is loaded) */
export function usesVad(mode: EndpointMode, vad: StreamVad | undefined): boolean {
  if (!vad) return false;
  return mode === "vad" || mode === "assistant" || (mode === "auto" && vad.byDefault);
}

/**
 * The energy-side UtteranceStream endpointing of an {@link Endpointing} (modes that do not use
 * the VAD, see {@link usesVad}): `auto` and `energy` are the energy pause endpoint; `manual`, and
 * `assistant` without a VAD (as in the Rust server without `--vad`), cut only at stop/commit.
 */
export function segmenterFor(e: Endpointing): { readonly endpoint: boolean; readonly minPauseMs?: number } {
  if (e.mode === "auto" || e.mode === "energy") return { endpoint: true, minPauseMs: e.minSilenceMs ?? MIN_SILENCE_MS.default };
  return { endpoint: false };
}

/** a pause ends a final: Rust's `vad` when the VAD found it, `blank` for our energy rule; the 20 s cap is no endpoint */
function endpointReason(cause: FinalCause, vad: boolean): EndpointReason | null {
  if (cause === "pause") return vad ? "vad" : "blank";
  if (cause === "stop") return "stop";
  return null;
}
