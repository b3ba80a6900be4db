/**
 * WebM/Matroska audio, streaming: an EBML reader that walks the Segment, Tracks and
 * Clusters as they arrive (sizes may be "unknown", as a live MediaRecorder writes
 * them: masters are entered, never skipped, so no size is ever needed), takes the
 * first audio track, and hands its frames (SimpleBlock/Block, any lacing) to Opus or
 * Vorbis. Another codec is `unsupported_format` naming it ("AC-3 in Matroska").
 */
import { GigasttError } from "../../errors.ts";
import { EMPTY, type Planar, type PcmDecoder, type StreamInfo, Warnings } from "./types.ts";
import { joinPlanar, OPUS_RATE, OpusPackets, parseOpusHead, VorbisPackets } from "./wasm.ts";

const ID = {
  Segment: 0x18538067,
  Cluster: 0x1f43b675,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  BlockGroup: 0xa0,
  Block: 0xa1,
  SimpleBlock: 0xa3,
  DiscardPadding: 0x75a2,
} as const;

/** masters that are entered: their children are read as if they stood at the top */
const ENTER = new Set<number>([ID.Segment, ID.Cluster, ID.Tracks, ID.TrackEntry, ID.Audio, ID.BlockGroup]);
/** leaves that are read whole */
const READ = new Set<number>([ID.TrackNumber, ID.TrackType, ID.CodecID, ID.CodecPrivate, ID.SamplingFrequency, ID.Channels, ID.Block, ID.SimpleBlock, ID.DiscardPadding]);
/** a leaf larger than this is skipped, not buffered */
const MAX_LEAF = 4 << 20;

const CODEC_NAMES: Record<string, string> = {
  A_AAC: "AAC",
  A_AC3: "AC-3",
  A_EAC3: "E-AC-3",
  A_DTS: "DTS",
  A_TRUEHD: "TrueHD",
  A_FLAC: "FLAC",
  A_ALAC: "ALAC",
  "A_MPEG/L3": "MP3",
  "A_MPEG/L2": "MP2",
  "A_PCM/INT/LIT": "PCM",
  "A_PCM/FLOAT/IEEE": "float PCM",
  A_REAL: "RealAudio",
  A_MS: "ACM audio",
};

interface Track {
  number: number;
  type: number;
  codec: string;
  priv: Uint8Array | null;
  rate: number;
  channels: number;
}

type Vint = { value: number; len: number; unknown: boolean };

/** EBML variable-size integer at `at`; null when more bytes are needed; `keepMarker` for IDs. */
function vint(b: Uint8Array, at: number, keepMarker: boolean): Vint | null | "bad" {
  if (at >= b.length) return null;
  const first = b[at]!;
  if (first === 0) return "bad";
  let len = 1;
  while (!(first & (0x80 >> (len - 1)))) len++;
  if (keepMarker && len > 4) return "bad";
  if (at + len > b.length) return null;
  let value = keepMarker ? first : first & (0xff >> len);
  let allOnes = value === (0xff >> len);
  for (let i = 1; i < len; i++) {
    value = value * 256 + b[at + i]!;
    if (b[at + i] !== 0xff) allOnes = false;
  }
  return { value, len, unknown: !keepMarker && allOnes };
}

export class WebmDecoder implements PcmDecoder {
  info: StreamInfo | null = null;
  private readonly w = new Warnings();
  private buf = new Uint8Array(0);
  private skipLeft = 0;
  private tracks: Track[] = [];
  private cur: Track | null = null;
  private audio: Track | null = null;
  private opus: OpusPackets | null = null;
  private vorbis: VorbisPackets | null = null;
  private sawCluster = false;
  private broken = false;
  /**
   * End padding (DiscardPadding, which ffmpeg writes on the last block): the output of the
   * latest push is held back, because the padding of a block can arrive in the next push.
   */
  private held: Planar = EMPTY;
  /** samples to cut from the end of the held output / of this push's output */
  private trimHeld = 0;
  private trimNow = 0;
  /** the last Block seen was of the audio track */
  private lastBlockAudio = false;

  get warnings(): readonly string[] {
    return this.w.list;
  }

  async push(bytes: Uint8Array): Promise<Planar> {
    if (this.broken) return EMPTY;
    let b = bytes;
    if (this.skipLeft > 0) {
      const n = Math.min(this.skipLeft, b.length);
      this.skipLeft -= n;
      b = b.subarray(n);
    }
    if (this.buf.length) {
      const j = new Uint8Array(this.buf.length + b.length);
      j.set(this.buf);
      j.set(b, this.buf.length);
      b = j;
    }
    const frames: Uint8Array[] = [];
    let at = 0;
    while (at < b.length && this.skipLeft === 0) {
      const id = vint(b, at, true);
      if (id === null) break;
      const size = id === "bad" ? "bad" : vint(b, at + id.len, false);
      if (size === null) break;
      if (id === "bad" || size === "bad") {
        this.damage("broken EBML element");
        break;
      }
      const head = id.len + size.len;
      if (ENTER.has(id.value)) {
        if (id.value === ID.TrackEntry) this.beginTrack();
        if (id.value === ID.Cluster) this.onCluster();
        at += head;
        continue;
      }
      if (size.unknown) {
        this.damage("Matroska element of unknown size");
        break;
      }
      if (!READ.has(id.value) || size.value > MAX_LEAF) {
        const avail = b.length - at - head;
        if (avail >= size.value) {
          at += head + size.value;
        } else {
          this.skipLeft = size.value - avail;
          at = b.length;
        }
        continue;
      }
      if (b.length - at - head < size.value) break;
      this.leaf(id.value, b.subarray(at + head, at + head + size.value), frames);
      at += head + size.value;
    }
    this.buf = this.broken ? new Uint8Array(0) : b.slice(at);
    const now = cutEnd(await this.decode(frames), this.trimNow);
    const out = cutEnd(this.held, this.trimHeld);
    this.trimNow = this.trimHeld = 0;
    this.held = now;
    return out;
  }

  async finish(): Promise<Planar> {
    if (!this.audio && !this.broken) {
      if (this.tracks.length > 0) throw new GigasttError("unsupported_format", "WebM/Matroska file has no audio track", { details: { container: "WebM" } });
      throw new GigasttError("invalid_audio", "WebM/Matroska file ends before its track list");
    }
    const out = this.held;
    this.held = EMPTY;
    return out;
  }

  free(): void {
    this.opus?.free();
    this.vorbis?.free();
  }

  private damage(what: string): void {
    if (!this.sawCluster) throw new GigasttError("invalid_audio", `WebM/Matroska header is damaged (${what})`);
    this.w.add(`WebM: ${what}; decoding stopped there`);
    this.broken = true;
  }

  private beginTrack(): void {
    this.cur = { number: 0, type: 0, codec: "", priv: null, rate: 0, channels: 0 };
    this.tracks.push(this.cur);
  }

  private onCluster(): void {
    if (this.sawCluster) return;
    this.sawCluster = true;
    const t = this.tracks.find((x) => x.type === 2);
    if (!t) {
      const video = this.tracks.some((x) => x.type === 1);
      throw new GigasttError("unsupported_format", `${video ? "WebM/Matroska video without an audio track" : "WebM/Matroska file without an audio track"}`, {
        details: { container: "WebM" },
      });
    }
    if (t.codec === "A_OPUS") {
      const head = t.priv ? parseOpusHead(t.priv) : null;
      const channels = head?.channels ?? (t.channels || 1);
      this.opus = new OpusPackets(
        head ?? { channels, preSkip: 0, streamCount: 1, coupledStreamCount: channels > 1 ? 1 : 0, mapping: channels > 1 ? [0, 1] : [0] },
        this.w,
      );
      this.info = { container: "WebM", codec: "Opus", sampleRate: OPUS_RATE, channels };
    } else if (t.codec === "A_VORBIS") {
      const h = t.priv ? xiphHeaders(t.priv) : null;
      if (!h) throw new GigasttError("invalid_audio", "WebM Vorbis track has broken codec headers");
      this.vorbis = new VorbisPackets(h[0]!, h[2]!, this.w);
      this.info = { container: "WebM", codec: "Vorbis", sampleRate: Math.round(t.rate) || 48000, channels: t.channels || 1 };
    } else {
      const name = CODEC_NAMES[t.codec] ?? (t.codec || "an unknown codec");
      throw new GigasttError("unsupported_format", `${name} in Matroska is not supported (Opus or Vorbis is); convert it first, e.g. ffmpeg -i in.mkv -vn -ar 16000 -ac 1 out.wav`, {
        details: { container: "Matroska", codec: t.codec },
      });
    }
    this.audio = t;
  }

  private leaf(id: number, body: Uint8Array, frames: Uint8Array[]): void {
    const t = this.cur;
    switch (id) {
      case ID.TrackNumber:
        if (t && !this.sawCluster) t.number = uint(body);
        return;
      case ID.TrackType:
        if (t && !this.sawCluster) t.type = uint(body);
        return;
      case ID.CodecID:
        if (t && !this.sawCluster) t.codec = new TextDecoder().decode(body).replace(/\0+$/, "");
        return;
      case ID.CodecPrivate:
        if (t && !this.sawCluster) t.priv = body.slice();
        return;
      case ID.Channels:
        if (t && !this.sawCluster) t.channels = uint(body);
        return;
      case ID.SamplingFrequency:
        if (t && !this.sawCluster) t.rate = float(body);
        return;
      case ID.SimpleBlock:
      case ID.Block:
        this.lastBlockAudio = false;
        if (this.audio) this.block(body, frames);
        return;
      case ID.DiscardPadding: {
        // signed nanoseconds to drop from the end of the block just before it (its BlockGroup's)
        if (!this.lastBlockAudio || !this.info || body.length === 0 || body.length > 8) return;
        const ns = int(body);
        if (ns <= 0) return;
        const n = Math.round((ns * this.info.sampleRate) / 1e9);
        if (frames.length > 0) this.trimNow += n;
        else this.trimHeld += n;
        return;
      }
    }
  }

  private block(b: Uint8Array, frames: Uint8Array[]): void {
    const tn = vint(b, 0, false);
    if (tn === null || tn === "bad" || b.length < tn.len + 3) {
      this.w.add("WebM: a damaged block was skipped");
      return;
    }
    if (tn.value !== this.audio!.number) return;
    this.lastBlockAudio = true;
    const flags = b[tn.len + 2]!;
    const data = b.subarray(tn.len + 3);
    const lacing = (flags >> 1) & 3;
    if (lacing === 0) {
      frames.push(data.slice());
      return;
    }
    const laced = unlace(data, lacing);
    if (!laced) this.w.add("WebM: a block with broken lacing was skipped");
    else for (const f of laced) frames.push(f.slice());
  }

  private async decode(frames: Uint8Array[]): Promise<Planar> {
    if (frames.length === 0) return EMPTY;
    if (this.opus) return this.opus.decode(frames);
    if (this.vorbis) return joinPlanar([await this.vorbis.decode(frames)].filter((p) => p.length > 0));
    return EMPTY;
  }
}

/** Drops the last `n` samples (every channel). */
function cutEnd(p: Planar, n: number): Planar {
  if (n <= 0 || p.length === 0) return p;
  const keep = Math.max(0, p[0]!.length - n);
  return keep === 0 ? EMPTY : p.map((c) => c.subarray(0, keep));
}

/** big-endian two's-complement integer of 1–8 bytes */
function int(b: Uint8Array): number {
  let v = b[0]! & 0x80 ? -1 : 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

function uint(b: Uint8Array): number {
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

function float(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length === 4) return dv.getFloat32(0);
  if (b.length === 8) return dv.getFloat64(0);
  return 0;
}

/** Frames of a laced block (1 Xiph, 2 fixed, 3 EBML); null when the lacing is broken. */
function unlace(d: Uint8Array, lacing: number): Uint8Array[] | null {
  if (d.length < 1) return null;
  const count = d[0]! + 1;
  let at = 1;
  const sizes: number[] = [];
  if (lacing === 2) {
    const each = Math.floor((d.length - 1) / count);
    if (each * count !== d.length - 1) return null;
    for (let i = 0; i < count; i++) sizes.push(each);
  } else if (lacing === 1) {
    for (let i = 0; i < count - 1; i++) {
      let s = 0;
      for (;;) {
        if (at >= d.length) return null;
        const x = d[at++]!;
        s += x;
        if (x < 255) break;
      }
      sizes.push(s);
    }
  } else {
    const first = vint(d, at, false);
    if (first === null || first === "bad") return null;
    at += first.len;
    let s = first.value;
    sizes.push(s);
    for (let i = 1; i < count - 1; i++) {
      const r = vint(d, at, false);
      if (r === null || r === "bad") return null;
      at += r.len;
      s += r.value - (2 ** (7 * r.len - 1) - 1); // signed: value − bias
      if (s < 0) return null;
      sizes.push(s);
    }
  }
  if (lacing !== 2) {
    const used = sizes.reduce((a, x) => a + x, 0);
    if (at + used > d.length) return null;
    sizes.push(d.length - at - used);
  }
  const out: Uint8Array[] = [];
  for (const s of sizes) {
    out.push(d.subarray(at, at + s));
    at += s;
  }
  return at === d.length ? out : null;
}

/** Vorbis CodecPrivate: 3 Xiph-laced headers (identification, comment, setup). */
function xiphHeaders(p: Uint8Array): Uint8Array[] | null {
  if (p.length < 1 || p[0] !== 2) return null;
  const h = unlace(p, 1);
  return h && h.length === 3 ? h : null;
}
