/**
 * Streaming RIFF/WAVE reader: push bytes in chunks of any size (even 1 byte),
 * get mono float samples at the source rate (channels averaged).
 *
 * Supported: integer PCM 8/16/24/32-bit (and other widths in the next byte
 * container), IEEE float 32/64-bit, G.711 A-law/µ-law, WAVE_FORMAT_EXTENSIBLE
 * with any of those, IMA ADPCM (tag 0x0011), any channel count, 8–192 kHz, RF64 headers.
 * Chunks other than `fmt `/`data` (LIST, fact, cue, ...) are skipped whatever
 * their size; odd-sized chunks are followed by a pad byte.
 * A `data` chunk whose size is 0xFFFFFFFF (or 0 in a stream whose RIFF size is
 * unknown) runs to the end of the input. A `data` chunk cut short by the end
 * of input (a truncated file) is decoded up to the last complete sample frame.
 * Anything after the `data` chunk is ignored. Non-finite float samples become 0.
 *
 * Scaling: int16 by 1/32768, int8 (unsigned) by (b − 128)/128, int24 by
 * 1/2^23, int32 by 1/2^31.
 */
import { GigasttError } from "../errors.ts";
import { G722Decoder } from "./g722.ts";
import { decodeImaBlock, imaSamplesPerBlock } from "./adpcm.ts";
import { convert, type Kind } from "./samples.ts";
import { SNIFF_BYTES, sniffContainer, unsupportedContainer } from "./sniff.ts";

export interface WavFormat {
  sampleRate: number;
  channels: number;
  /** bits of one stored sample (container size) */
  bitsPerSample: number;
  encoding: "pcm" | "float" | "alaw" | "mulaw" | "ima-adpcm" | "g722";
  /** declared size of the data chunk; null when it runs to the end of the input */
  dataBytes: number | null;
}

export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 192000;
/** largest `fmt ` chunk accepted (the biggest real one is 40 bytes) */
const MAX_FMT_BYTES = 65536;

const KSDATAFORMAT_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
const CODEC_NAMES: Record<number, string> = {
  0x0002: "MS ADPCM",
  0x0031: "GSM 6.10",
  0x0050: "MPEG",
  0x0055: "MP3",
  0x0161: "WMA",
  0x00ff: "AAC",
  0x1610: "AAC",
  0x2000: "AC-3",
};

type State = "riff" | "chunk" | "fmt" | "skip" | "data" | "done";

function bad(message: string): GigasttError {
  return new GigasttError("invalid_audio", message);
}

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export interface WavDecoderOptions {
  /** keep the channels apart: push()/finish() return interleaved samples (frames × channels) instead of the mono mean */
  readonly interleaved?: boolean;
}

export class WavStreamDecoder {
  private readonly interleaved: boolean;
  private state: State = "riff";
  /** RIFF header (12 bytes) or chunk header (8 bytes) being collected */
  private readonly head = new Uint8Array(12);
  private headFill = 0;
  private fmtBuf: Uint8Array | null = null;
  private fmtFill = 0;
  private fmtSize = 0;
  private skipLeft = 0;
  private dataLeft = 0;
  private riffSize = 0;
  /** bytes consumed so far */
  private offset = 0;
  private fmt: WavFormat | null = null;
  private kind: Kind | "ima" | "g722" = "s16";
  /** G.722 (format tag 0x028F, ffmpeg's, or 0x0064): the sub-band ADPCM state */
  private g722: G722Decoder | null = null;
  private frameBytes = 0;
  private bytesPerSample = 0;
  private carry = new Uint8Array(0);
  private carryFill = 0;
  private samples = 0;
  /** IMA ADPCM: samples per channel in one block of frameBytes */
  private spb = 0;

  constructor(opts: WavDecoderOptions = {}) {
    this.interleaved = opts.interleaved ?? false;
  }

  /** The format, once the `fmt ` chunk has been read. */
  get format(): WavFormat | null {
    return this.fmt;
  }

  /** Mono samples decoded so far. */
  get sampleCount(): number {
    return this.samples;
  }

  /** Feed bytes; returns the mono samples now complete (maybe empty). */
  push(bytes: Uint8Array): Float32Array {
    const outs: Float32Array[] = [];
    let i = 0;
    while (i < bytes.length) {
      switch (this.state) {
        case "riff":
          i = this.fill(bytes, i, 12);
          if (this.headFill === 12) this.onRiff();
          break;
        case "chunk":
          i = this.fill(bytes, i, 8);
          if (this.headFill === 8) this.onChunk(this.offset + i);
          break;
        case "fmt": {
          const buf = this.fmtBuf!;
          const n = Math.min(buf.length - this.fmtFill, bytes.length - i);
          buf.set(bytes.subarray(i, i + n), this.fmtFill);
          this.fmtFill += n;
          i += n;
          if (this.fmtFill === buf.length) this.onFmt();
          break;
        }
        case "skip": {
          const n = Math.min(this.skipLeft, bytes.length - i);
          this.skipLeft -= n;
          i += n;
          if (this.skipLeft === 0) this.state = "chunk";
          break;
        }
        case "data": {
          const n = Math.min(this.dataLeft, bytes.length - i);
          const out = this.decode(bytes.subarray(i, i + n));
          if (out.length) outs.push(out);
          this.dataLeft -= n;
          i += n;
          if (this.dataLeft === 0) this.state = "done";
          break;
        }
        case "done":
          i = bytes.length;
          break;
      }
    }
    this.offset += bytes.length;
    return concatSamples(outs);
  }

  /** End of input. Throws `invalid_audio`/`unsupported_format` when no audio could be found. */
  finish(): Float32Array {
    switch (this.state) {
      case "riff": {
        if (this.offset === 0) throw bad("empty input");
        const head = this.head.subarray(0, this.headFill);
        const container = sniffContainer(head);
        if (container) throw unsupportedContainer(container);
        throw bad("truncated input: too short for a WAV header");
      }
      case "fmt":
        throw bad("truncated WAV header (fmt chunk cut short)");
      case "chunk":
      case "skip":
        throw bad(this.fmt ? "WAV has no data chunk" : "WAV has no fmt chunk");
      case "data":
      case "done":
        // a partial sample frame (or ADPCM block) at the very end of a truncated file is dropped
        this.carryFill = 0;
        this.state = "done";
        return new Float32Array(0);
    }
  }

  private fill(bytes: Uint8Array, i: number, need: number): number {
    const n = Math.min(need - this.headFill, bytes.length - i);
    this.head.set(bytes.subarray(i, i + n), this.headFill);
    this.headFill += n;
    return i + n;
  }

  private onRiff(): void {
    const h = this.head;
    const id = fourcc(h, 0);
    if (id !== "RIFF" && id !== "RF64") {
      const container = sniffContainer(h.subarray(0, SNIFF_BYTES));
      if (container) throw unsupportedContainer(container);
      if (id === "RIFX") throw new GigasttError("unsupported_format", "big-endian WAV (RIFX) is not supported; convert it first, e.g. ffmpeg -i in.wav -ar 16000 -ac 1 out.wav");
      throw bad("not a WAV file (no RIFF header)");
    }
    const form = fourcc(h, 8);
    if (form !== "WAVE") throw bad(`RIFF file is not WAVE (form type ${JSON.stringify(form)})`);
    this.riffSize = u32(h, 4);
    this.headFill = 0;
    this.state = "chunk";
  }

  /** `end`: absolute offset just after the chunk header. */
  private onChunk(end: number): void {
    const h = this.head;
    const id = fourcc(h, 0);
    const size = u32(h, 4);
    this.headFill = 0;
    if (id === "fmt ") {
      if (this.fmt) {
        this.skip(size);
        return;
      }
      if (size < 16) throw bad(`WAV fmt chunk too short (${size} bytes)`);
      if (size > MAX_FMT_BYTES) throw bad(`WAV fmt chunk too large (${size} bytes)`);
      this.fmtBuf = new Uint8Array(size + (size & 1));
      this.fmtSize = size;
      this.fmtFill = 0;
      this.state = "fmt";
    } else if (id === "data") {
      if (!this.fmt) throw bad("WAV data chunk comes before the fmt chunk");
      // size 0 means "streamed" unless the RIFF size says more chunks follow
      const unknownRiff = this.riffSize === 0 || this.riffSize === 0xffffffff || this.riffSize + 8 <= end;
      const toEnd = size === 0xffffffff || (size === 0 && unknownRiff);
      this.dataLeft = toEnd ? Number.POSITIVE_INFINITY : size;
      this.fmt.dataBytes = toEnd ? null : size;
      this.state = size === 0 && !toEnd ? "done" : "data";
    } else {
      this.skip(size);
    }
  }

  private skip(size: number): void {
    this.skipLeft = size + (size & 1);
    this.state = this.skipLeft === 0 ? "chunk" : "skip";
  }

  private onFmt(): void {
    const b = this.fmtBuf!;
    this.fmtBuf = null;
    let tag = u16(b, 0);
    const channels = u16(b, 2);
    const sampleRate = u32(b, 4);
    const bits = u16(b, 14);
    if (tag === 0xfffe) {
      if (this.fmtSize < 40) throw bad("WAV extensible fmt chunk too short");
      for (let i = 0; i < KSDATAFORMAT_TAIL.length; i++) {
        if (b[26 + i] !== KSDATAFORMAT_TAIL[i]) throw new GigasttError("unsupported_format", "WAV extensible sub-format is not PCM or float; convert it first, e.g. ffmpeg -i in.wav -ar 16000 -ac 1 out.wav");
      }
      tag = u16(b, 24);
    }
    if (channels === 0) throw bad("WAV declares 0 channels");
    if (sampleRate === 0) throw bad("WAV declares a sample rate of 0 Hz");
    this.kind = kindOf(tag, bits);
    if (this.kind === "g722") return this.onG722Fmt(channels);
    if (this.kind === "ima") {
      const blockAlign = u16(b, 12);
      const spb = this.fmtSize >= 20 && u16(b, 16) >= 2 ? u16(b, 18) : imaSamplesPerBlock(blockAlign, channels);
      if (bits !== 4 || blockAlign < 4 * channels + 4 || (blockAlign - 4 * channels) % (4 * channels) !== 0 || spb < 1 || spb > imaSamplesPerBlock(blockAlign, channels)) {
        throw bad(`WAV IMA ADPCM has an impossible layout (${bits} bits, block ${blockAlign} bytes, ${spb} samples per block)`);
      }
      this.spb = spb;
    }
    if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
      throw new GigasttError("unsupported_format", `sample rate ${sampleRate} Hz is not supported (${MIN_SAMPLE_RATE}–${MAX_SAMPLE_RATE} Hz); resample it, e.g. ffmpeg -i in.wav -ar 16000 -ac 1 out.wav`);
    }
    this.bytesPerSample = Math.ceil(bits / 8);
    this.frameBytes = this.kind === "ima" ? u16(b, 12) : this.bytesPerSample * channels;
    this.carry = new Uint8Array(this.frameBytes);
    const encoding = tag === 3 ? "float" : tag === 6 ? "alaw" : tag === 7 ? "mulaw" : tag === 0x11 ? "ima-adpcm" : "pcm";
    this.fmt = { sampleRate, channels, bitsPerSample: this.kind === "ima" ? 4 : this.bytesPerSample * 8, encoding, dataBytes: null };
    this.state = "chunk";
  }

  /** G.722 in WAV (Asterisk, Cisco, Teams exports; ffmpeg -c:a g722): mono, 16 kHz whatever the header says */
  private onG722Fmt(channels: number): void {
    if (channels !== 1) throw new GigasttError("unsupported_format", `WAV G.722 with ${channels} channels is not supported (mono only); convert it first, e.g. ffmpeg -i in.wav -ar 16000 -ac 1 out.wav`);
    this.g722 = new G722Decoder();
    this.bytesPerSample = 1;
    this.frameBytes = 1;
    this.fmt = { sampleRate: 16000, channels: 1, bitsPerSample: 16, encoding: "g722", dataBytes: null };
    this.state = "chunk";
  }

  /** Convert data bytes (any alignment), carrying a partial frame. */
  private decode(bytes: Uint8Array): Float32Array {
    if (this.g722) {
      const pcm = this.g722.decode(bytes);
      const out = new Float32Array(pcm.length);
      for (let k = 0; k < pcm.length; k++) out[k] = pcm[k]! / 32768;
      this.samples += out.length;
      return out;
    }
    if (this.kind === "ima") return this.decodeBlocks(bytes);
    if (this.interleaved) return this.decodeInterleaved(bytes);
    const fb = this.frameBytes;
    let start = 0;
    let first: Float32Array | null = null;
    if (this.carryFill > 0) {
      const n = Math.min(fb - this.carryFill, bytes.length);
      this.carry.set(bytes.subarray(0, n), this.carryFill);
      this.carryFill += n;
      start = n;
      if (this.carryFill < fb) return new Float32Array(0);
      first = new Float32Array(1);
      convert(this.kind as Kind, this.fmt!.channels, this.bytesPerSample, this.carry, 0, 1, first, 0);
      this.carryFill = 0;
    }
    const frames = Math.floor((bytes.length - start) / fb);
    const rest = bytes.length - start - frames * fb;
    if (rest > 0) {
      this.carry.set(bytes.subarray(bytes.length - rest));
      this.carryFill = rest;
    }
    const lead = first ? 1 : 0;
    const out = new Float32Array(lead + frames);
    if (first) out[0] = first[0]!;
    convert(this.kind as Kind, this.fmt!.channels, this.bytesPerSample, bytes, start, frames, out, lead);
    this.samples += out.length;
    return out;
  }

  /** Every sample of whole frames, channels interleaved (a partial frame is carried). */
  private decodeInterleaved(bytes: Uint8Array): Float32Array {
    const fb = this.frameBytes;
    const ch = this.fmt!.channels;
    let src = bytes;
    if (this.carryFill > 0) {
      src = new Uint8Array(this.carryFill + bytes.length);
      src.set(this.carry.subarray(0, this.carryFill));
      src.set(bytes, this.carryFill);
      this.carryFill = 0;
    }
    const frames = Math.floor(src.length / fb);
    const rest = src.length - frames * fb;
    if (rest > 0) {
      this.carry.set(src.subarray(src.length - rest));
      this.carryFill = rest;
    }
    const out = new Float32Array(frames * ch);
    // one sample per "frame" of a single channel: the same conversion, every channel kept
    convert(this.kind as Kind, 1, this.bytesPerSample, src, 0, frames * ch, out, 0);
    this.samples += frames;
    return out;
  }

  /** IMA ADPCM: whole blocks only (a cut-off last block is dropped). */
  private decodeBlocks(bytes: Uint8Array): Float32Array {
    const fb = this.frameBytes;
    const ch = this.fmt!.channels;
    let start = 0;
    const full: { b: Uint8Array; at: number }[] = [];
    if (this.carryFill > 0) {
      const n = Math.min(fb - this.carryFill, bytes.length);
      this.carry.set(bytes.subarray(0, n), this.carryFill);
      this.carryFill += n;
      start = n;
      if (this.carryFill < fb) return new Float32Array(0);
      full.push({ b: this.carry.slice(), at: 0 });
      this.carryFill = 0;
    }
    const blocks = Math.floor((bytes.length - start) / fb);
    for (let k = 0; k < blocks; k++) full.push({ b: bytes, at: start + k * fb });
    const rest = bytes.length - start - blocks * fb;
    if (rest > 0) {
      this.carry.set(bytes.subarray(bytes.length - rest));
      this.carryFill = rest;
    }
    const n = full.length * this.spb;
    if (this.interleaved && ch > 1) {
      const planes = Array.from({ length: ch }, () => new Float32Array(n));
      full.forEach((x, k) => decodeImaBlock(x.b, x.at, fb, ch, this.spb, planes, k * this.spb));
      const out = new Float32Array(n * ch);
      for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) out[i * ch + c] = planes[c]![i]!;
      this.samples += n;
      return out;
    }
    const out = new Float32Array(n);
    full.forEach((x, k) => decodeImaBlock(x.b, x.at, fb, ch, this.spb, [out], k * this.spb));
    this.samples += out.length;
    return out;
  }
}

function kindOf(tag: number, bits: number): Kind | "ima" | "g722" {
  if (tag === 0x11) return "ima";
  if (tag === 0x028f || tag === 0x0064) return "g722";
  if (tag === 1) {
    if (bits < 1 || bits > 32) throw bad(`WAV declares ${bits}-bit PCM`);
    return (["u8", "s16", "s24", "s32"] as const)[Math.ceil(bits / 8) - 1]!;
  }
  if (tag === 3) {
    if (bits === 32) return "f32";
    if (bits === 64) return "f64";
    throw new GigasttError("unsupported_format", `${bits}-bit float WAV is not supported (32 or 64 bit)`);
  }
  if (tag === 6 || tag === 7) {
    if (bits !== 8) throw bad(`WAV declares ${bits}-bit G.711`);
    return tag === 6 ? "alaw" : "mulaw";
  }
  const name = CODEC_NAMES[tag] ?? "codec";
  throw new GigasttError(
    "unsupported_format",
    `WAV ${name} (format tag 0x${tag.toString(16).padStart(4, "0")}) is not supported: PCM or float WAV is required; convert it first, e.g. ffmpeg -i in.wav -ar 16000 -ac 1 out.wav`,
    { details: { formatTag: tag } },
  );
}

/** Joins sample chunks into one buffer (the only chunk itself when there is one). */
export function concatSamples(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
