/**
 * Decoders built on the wasm-audio-decoders family (MIT; libmpg123 LGPL-2.1, libFLAC,
 * libvorbis and libopus BSD, all compiled into the packages' embedded WASM):
 * MP3 (mpg123, fed raw bytes: ID3 tags, Xing/LAME gapless info handled by libmpg123),
 * FLAC (native and in Ogg), Ogg Vorbis, and Opus packets (from Ogg or WebM).
 * Per-frame decode errors become warnings; decoding goes on.
 */
import FLACDecoder from "#codec/flac";
import OggVorbisDecoder, { Decoder as VorbisRaw } from "#codec/ogg-vorbis";
import MPEGDecoder from "#codec/mpg123";
import { data as frameData } from "codec-parser";
import OpusDecoder from "#codec/opus";
import { isMpegFrame } from "../sniff.ts";
import { EMPTY, type Planar, type PcmDecoder, type StreamInfo, Warnings } from "./types.ts";

interface Decoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

/** The decoders hand out fresh arrays (copied out of WASM memory): kept as they are. */
function take(d: Decoded, w: Warnings, what: string): Planar {
  for (const e of d.errors) w.add(`${what}: ${e.message}`);
  if (!d.samplesDecoded || d.channelData.length === 0) return EMPTY;
  return d.channelData.map((c) => (c.length === d.samplesDecoded ? c : c.subarray(0, d.samplesDecoded)));
}

abstract class WasmBase implements PcmDecoder {
  info: StreamInfo | null = null;
  protected readonly w = new Warnings();
  protected freed = false;
  constructor(protected readonly container: string, protected readonly codec: string) {}
  get warnings(): readonly string[] {
    return this.w.list;
  }
  protected seen(d: Decoded): void {
    if (!this.info && d.samplesDecoded > 0 && d.sampleRate > 0) {
      this.info = { container: this.container, codec: this.codec, sampleRate: d.sampleRate, channels: d.channelData.length };
    }
  }
  abstract push(bytes: Uint8Array): Promise<Planar>;
  abstract finish(): Promise<Planar>;
  abstract free(): void;
}

/**
 * libmpg123 here always outputs two channels; the first frame header says whether the
 * stream is mono (then one channel is passed on).
 */
export class Mp3Decoder extends WasmBase {
  private dec: MPEGDecoder | null = null;
  private readonly scan = new Mp3ModeScan();
  constructor() {
    super("MP3", "MP3");
  }
  async push(bytes: Uint8Array): Promise<Planar> {
    if (!this.dec) {
      this.dec = new MPEGDecoder();
      await this.dec.ready;
    }
    this.scan.push(bytes);
    const dec = this.dec;
    const d = quiet(() => dec.decode(bytes));
    if (this.scan.mono && d.channelData.length > 1) d.channelData = d.channelData.slice(0, 1);
    this.seen(d);
    return take(d, this.w, "MP3");
  }
  async finish(): Promise<Planar> {
    return EMPTY;
  }
  free(): void {
    if (this.dec && !this.freed) this.dec.free();
    this.freed = true;
  }
}

/**
 * The FLAC, MP3 and Opus packages print each decode error with console.error (the
 * same errors they return, which become warnings here); their decode runs
 * synchronously inside the call, so console.error is silenced for exactly that call.
 */
function quiet<T>(call: () => T): T {
  const error = console.error;
  console.error = () => {};
  try {
    return call();
  } finally {
    console.error = error;
  }
}

/** FLAC and Ogg Vorbis: the packages parse their own containers (codec-parser). */
class ParsedDecoder extends WasmBase {
  private dec: FLACDecoder | OggVorbisDecoder | null = null;
  constructor(container: string, codec: string, private readonly make: () => FLACDecoder | OggVorbisDecoder) {
    super(container, codec);
  }
  private async ready(): Promise<FLACDecoder | OggVorbisDecoder> {
    if (!this.dec) {
      this.dec = this.make();
      await this.dec.ready;
    }
    return this.dec;
  }
  async push(bytes: Uint8Array): Promise<Planar> {
    const dec = await this.ready();
    const d = await quiet(() => dec.decode(bytes));
    this.seen(d);
    return take(d, this.w, this.codec);
  }
  async finish(): Promise<Planar> {
    const dec = await this.ready();
    if (this.container === "FLAC") return this.finishNativeFlac(dec as FLACDecoder);
    const d = await quiet(() => dec.flush());
    this.seen(d);
    return take(d, this.w, this.codec);
  }

  /**
   * The package's flush() hands libFLAC the last bytes codec-parser held back (the last
   * frame, or the last two when the final one is partial and has no sync after it), but
   * libFLAC decodes one frame per call and the package resets right after, dropping a
   * final frame still in libFLAC's buffer (704 samples of flac-16.flac). Here the held-back
   * bytes go in, then a few zero bytes that make libFLAC decode what it holds; the zeros
   * themselves are no frame (their lost-sync error is not a warning).
   */
  private async finishNativeFlac(dec: FLACDecoder): Promise<Planar> {
    const inner = dec as unknown as FlacInternals;
    if (!inner._codecParser || !inner._decoder) return this.finishWith(await quiet(() => dec.flush()));
    const held = [...inner._codecParser.flush()].map((f) => (f as Record<symbol | string, Uint8Array>)[frameData] ?? (f as Uint8Array));
    const a = quiet(() => inner._decoder.decodeFrames(held));
    const b = quiet(() => inner._decoder.decodeFrames([new Uint8Array(FLAC_PUSH_OUT)]));
    b.errors = [];
    await dec.reset();
    const out = [this.finishWith(a), this.finishWith(b)].filter((p) => p.length);
    return joinPlanar(out);
  }

  private finishWith(d: Decoded): Planar {
    this.seen(d);
    return take(d, this.w, this.codec);
  }
  free(): void {
    if (this.dec && !this.freed) this.dec.free();
    this.freed = true;
  }
}

/** zero bytes fed after the end so libFLAC decodes the frame it still holds */
const FLAC_PUSH_OUT = 16;

/** the FLACDecoder fields finishNativeFlac reaches into (package version pinned in package.json) */
interface FlacInternals {
  _codecParser: { flush(): Iterable<unknown> } | null;
  _decoder: { decodeFrames(frames: Uint8Array[]): Decoded };
}

export function flacDecoder(container: "FLAC" | "Ogg"): PcmDecoder {
  return new ParsedDecoder(container, "FLAC", () => new FLACDecoder());
}

export function vorbisDecoder(): PcmDecoder {
  return new ParsedDecoder("Ogg", "Vorbis", () => new OggVorbisDecoder());
}

/** Opus decoding rate: the model's own rate, which libopus produces natively (no resampling). */
export const OPUS_RATE = 16000;

/** Fields of an OpusHead packet (RFC 7845 §5.1). */
export interface OpusHead {
  channels: number;
  /** at 48 kHz */
  preSkip: number;
  streamCount: number;
  coupledStreamCount: number;
  mapping: number[];
}

/** Parses an OpusHead (Ogg) or the same bytes in a WebM CodecPrivate; null when it is not one. */
export function parseOpusHead(b: Uint8Array): OpusHead | null {
  if (b.length < 19 || String.fromCharCode(...b.subarray(0, 8)) !== "OpusHead") return null;
  const channels = b[9]!;
  if (channels === 0) return null;
  const preSkip = b[10]! | (b[11]! << 8);
  const family = b[18]!;
  if (family === 0) {
    if (channels > 2) return null;
    return { channels, preSkip, streamCount: 1, coupledStreamCount: channels - 1, mapping: channels === 1 ? [0] : [0, 1] };
  }
  if (b.length < 21 + channels) return null;
  return { channels, preSkip, streamCount: b[19]!, coupledStreamCount: b[20]!, mapping: [...b.subarray(21, 21 + channels)] };
}

/** Opus packets → PCM at OPUS_RATE, pre-skip removed. */
export class OpusPackets {
  private dec: OpusDecoder | null = null;
  constructor(private readonly head: OpusHead, private readonly w: Warnings) {}
  get channels(): number {
    return this.head.channels;
  }
  async decode(packets: readonly Uint8Array[]): Promise<Planar> {
    if (!this.dec) {
      const h = this.head;
      this.dec = new OpusDecoder({
        sampleRate: OPUS_RATE,
        channels: h.channels,
        streamCount: h.streamCount,
        coupledStreamCount: h.coupledStreamCount,
        channelMappingTable: h.mapping,
        preSkip: Math.round((h.preSkip * OPUS_RATE) / 48000),
      });
      await this.dec.ready;
    }
    const parts: Planar[] = [];
    for (const p of packets) {
      if (p.length === 0) continue;
      const dec = this.dec;
      const d = quiet(() => dec.decodeFrame(p));
      const got = take(d, this.w, "Opus");
      if (got.length) parts.push(got);
    }
    return joinPlanar(parts);
  }
  free(): void {
    this.dec?.free();
    this.dec = null;
  }
}

/** Concatenates planar chunks channel by channel. */
export function joinPlanar(parts: readonly Planar[]): Planar {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0]!;
  const ch = parts[0]!.length;
  let n = 0;
  for (const p of parts) n += p[0]!.length;
  const out: Planar = [];
  for (let c = 0; c < ch; c++) {
    const a = new Float32Array(n);
    let o = 0;
    for (const p of parts) {
      a.set(p[c] ?? p[0]!, o);
      o += p[0]!.length;
    }
    out.push(a);
  }
  return out;
}

/** Vorbis packets (WebM): identification + setup headers, then audio packets. */
export class VorbisPackets {
  private dec: VorbisRaw | null = null;
  constructor(private readonly ident: Uint8Array, private readonly setup: Uint8Array, private readonly w: Warnings) {}
  async decode(packets: Uint8Array[]): Promise<Planar> {
    if (!this.dec) {
      const dec = new VorbisRaw();
      await dec.ready;
      dec.sendSetupHeader(this.ident);
      dec.sendSetupHeader(this.setup);
      dec.initDsp();
      this.dec = dec;
    }
    if (packets.length === 0) return EMPTY;
    return take(this.dec.decodePackets(packets), this.w, "Vorbis");
  }
  free(): void {
    this.dec?.free();
    this.dec = null;
  }
}

/** Finds the first MPEG audio frame header after an ID3v2 tag and reads its channel mode. */
class Mp3ModeScan {
  mono: boolean | null = null;
  private offset = 0;
  private skipTo = 0;
  private tail = new Uint8Array(0);

  push(bytes: Uint8Array): void {
    if (this.mono !== null) return;
    const b = new Uint8Array(this.tail.length + bytes.length);
    b.set(this.tail);
    b.set(bytes, this.tail.length);
    const base = this.offset - this.tail.length;
    this.offset += bytes.length;
    for (let i = Math.max(0, this.skipTo - base); i + 10 <= b.length; i++) {
      const at = base + i;
      if (b[i] === 0x49 && b[i + 1] === 0x44 && b[i + 2] === 0x33 && at >= this.skipTo) {
        // ID3v2: 10-byte header, synchsafe size, optional 10-byte footer
        const size = ((b[i + 6]! & 0x7f) << 21) | ((b[i + 7]! & 0x7f) << 14) | ((b[i + 8]! & 0x7f) << 7) | (b[i + 9]! & 0x7f);
        this.skipTo = at + 10 + size + (b[i + 5]! & 0x10 ? 10 : 0);
        if (this.skipTo - base > b.length) break;
        i = this.skipTo - base - 1;
        continue;
      }
      if (isMpegFrame(b, i)) {
        this.mono = b[i + 3]! >> 6 === 3;
        return;
      }
    }
    this.tail = b.slice(Math.max(0, b.length - 9));
    if (this.offset > (1 << 20) + this.skipTo) this.mono = false;
  }
}
