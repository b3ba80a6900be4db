/**
 * MP4/M4A/MOV (ISO BMFF) audio, streaming: boxes are walked as they arrive; `moov`
 * (the index) is read whole (it is small: ≈ 4 bytes per AAC frame), then the audio
 * track's samples are cut out of `mdat` as its bytes pass, by their absolute offsets.
 * When `mdat` comes before `moov` (ffmpeg's default, a phone's recording), its bytes
 * are spilled to a temporary file (never to memory) up to SPILL_LIMIT and read back
 * once the index has arrived; the file is deleted by `free()`. Fragmented MP4 (`moof`
 * + `mdat`, as Safari's MediaRecorder writes it) is read fragment by fragment.
 *
 * The first audio track is used; its codec must be AAC-LC (MPEG-4 audio, object type
 * 0x40; HE-AAC as its AAC-LC core, see aac.ts) — ALAC, AC-3, Opus in MP4 and others are `unsupported_format` naming
 * them. The encoder's priming samples are dropped as the edit list says.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GigasttError } from "../../errors.ts";
import { AacUnits } from "./aac.ts";
import { EMPTY, type Planar, type PcmDecoder, type StreamInfo, Warnings } from "./types.ts";

/** most bytes of `mdat` spilled to disk while the index is not known */
export const SPILL_LIMIT = 4 * 1024 ** 3;
/** largest `moov`/`moof` read into memory */
const MAX_INDEX = 64 * 1024 * 1024;
/** samples handed to the AAC decoder per drain() call (≈ 1.5 s at 44.1 kHz) */
const DRAIN_SAMPLES = 64;

const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl", "edts", "mvex", "moof", "traf", "dinf", "udta"]);

interface Box {
  type: string;
  /** payload start and end within the buffer */
  at: number;
  end: number;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}
function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}
function u64(b: Uint8Array, at: number): number {
  return u32(b, at) * 2 ** 32 + u32(b, at + 4);
}
function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

function bad(what: string): GigasttError {
  return new GigasttError("invalid_audio", `MP4 index is damaged (${what})`);
}

/** The boxes inside b[at..end). */
function children(b: Uint8Array, at: number, end: number): Box[] {
  const out: Box[] = [];
  while (at + 8 <= end) {
    let size = u32(b, at);
    const type = fourcc(b, at + 4);
    let head = 8;
    if (size === 1) {
      if (at + 16 > end) throw bad(`${type} box`);
      size = u64(b, at + 8);
      head = 16;
    } else if (size === 0) size = end - at;
    if (size < head || at + size > end) throw bad(`${type} box size`);
    out.push({ type, at: at + head, end: at + size });
    at += size;
  }
  return out;
}

function find(b: Uint8Array, box: Box, path: string[]): Box | null {
  let cur: Box | null = box;
  for (const t of path) {
    if (!cur) return null;
    cur = children(b, cur.at, cur.end).find((c) => c.type === t) ?? null;
  }
  return cur;
}

/** Expandable descriptor length (ISO 14496-1). */
function descLen(b: Uint8Array, at: number, end: number): [number, number] {
  let n = 0;
  for (let i = 0; i < 4; i++) {
    if (at >= end) throw bad("esds");
    const x = b[at++]!;
    n = (n << 7) | (x & 0x7f);
    if (!(x & 0x80)) break;
  }
  return [n, at];
}

/** esds → [objectTypeIndication, DecoderSpecificInfo (the AudioSpecificConfig)] */
function parseEsds(b: Uint8Array, box: Box): [number, Uint8Array | null] {
  let at = box.at + 4;
  const end = box.end;
  if (b[at] !== 0x03) throw bad("esds");
  let len: number;
  [len, at] = descLen(b, at + 1, end);
  const flags = b[at + 2]!;
  at += 3;
  if (flags & 0x80) at += 2;
  if (flags & 0x40) at += 1 + b[at]!;
  if (flags & 0x20) at += 2;
  if (b[at] !== 0x04) throw bad("esds decoder config");
  [len, at] = descLen(b, at + 1, end);
  const oti = b[at]!;
  const cfgEnd = Math.min(end, at + len);
  at += 13;
  if (at < cfgEnd && b[at] === 0x05) {
    [len, at] = descLen(b, at + 1, end);
    return [oti, b.slice(at, Math.min(end, at + len))];
  }
  return [oti, null];
}

function findDeep(b: Uint8Array, at: number, end: number, type: string): Box | null {
  // children of a sample entry may sit behind a QuickTime 'wave' box; scan for the type
  for (let i = at; i + 8 <= end; i++) {
    if (fourcc(b, i + 4) === type) {
      const size = u32(b, i);
      if (size >= 8 && i + size <= end) return { type, at: i + 8, end: i + size };
    }
  }
  return null;
}

interface Track {
  id: number;
  timescale: number;
  asc: Uint8Array;
  channels: number;
  rate: number;
  /** priming to drop, in media timescale units */
  skip: number;
  offsets: number[];
  sizes: number[];
  /** fragmented: per-fragment defaults */
  defaultSize: number;
}

const CODECS: Record<string, string> = {
  alac: "ALAC",
  "ac-3": "AC-3",
  "ec-3": "E-AC-3",
  Opus: "Opus",
  fLaC: "FLAC",
  ".mp3": "MP3",
  samr: "AMR",
  sawb: "AMR-WB",
  lpcm: "PCM",
  sowt: "PCM",
  twos: "PCM",
  ulaw: "µ-law",
  alaw: "A-law",
  ima4: "IMA ADPCM",
};

function unsupported(what: string): GigasttError {
  return new GigasttError("unsupported_format", `${what} is not supported (AAC-LC in MP4 is); convert it first, e.g. ffmpeg -i in.m4a -vn -ar 16000 -ac 1 out.wav`, {
    details: { container: "MP4" },
  });
}

function parseMoov(b: Uint8Array): Track {
  const moov: Box = { type: "moov", at: 0, end: b.length };
  const traks = children(b, 0, b.length).filter((c) => c.type === "trak");
  const kinds: string[] = [];
  for (const trak of traks) {
    const hdlr = find(b, trak, ["mdia", "hdlr"]);
    const kind = hdlr ? fourcc(b, hdlr.at + 8) : "";
    kinds.push(kind);
    if (kind !== "soun") continue;
    const tkhd = find(b, trak, ["tkhd"]);
    const id = tkhd ? u32(b, tkhd.at + (b[tkhd.at] === 1 ? 20 : 12)) : 0;
    const mdhd = find(b, trak, ["mdia", "mdhd"]);
    const timescale = mdhd ? u32(b, mdhd.at + (b[mdhd.at] === 1 ? 20 : 12)) : 0;
    const stbl = find(b, trak, ["mdia", "minf", "stbl"]);
    const stsd = stbl && find(b, stbl, ["stsd"]);
    if (!stbl || !stsd || u32(b, stsd.at + 4) < 1) throw bad("no sample description");
    const entry = children(b, stsd.at + 8, stsd.end)[0];
    if (!entry) throw bad("no sample description");
    const fmt = entry.type;
    if (fmt !== "mp4a") throw unsupported(`${CODECS[fmt] ?? `'${fmt}'`} in MP4`);
    const version = u16(b, entry.at + 8);
    const channels = u16(b, entry.at + 16);
    const rate = u16(b, entry.at + 24);
    const childAt = entry.at + 28 + (version === 1 ? 16 : version === 2 ? 36 : 0);
    const esds = findDeep(b, childAt, entry.end, "esds");
    if (!esds) throw bad("mp4a without esds");
    const [oti, asc] = parseEsds(b, esds);
    if (oti === 0x69 || oti === 0x6b) throw unsupported("MP3 in MP4");
    if (oti !== 0x40 && oti !== 0x66 && oti !== 0x67 && oti !== 0x68) throw unsupported(`MPEG-4 object type 0x${oti.toString(16)} in MP4`);
    if (!asc || asc.length < 2) throw bad("AAC without an AudioSpecificConfig");
    // edit list: media time of the first presented sample = priming to drop
    let skip = 0;
    const elst = find(b, trak, ["edts", "elst"]);
    if (elst && u32(b, elst.at + 4) > 0) {
      const v1 = b[elst.at] === 1;
      const mt = v1 ? u64(b, elst.at + 16) : u32(b, elst.at + 12);
      if (mt !== 0xffffffff && mt < 2 ** 52) skip = mt;
      // a first "empty" edit (media time −1) delays the track: not handled, rare for audio
    }
    const track: Track = { id, timescale, asc, channels, rate, skip, offsets: [], sizes: [], defaultSize: 0 };
    sampleTable(b, stbl, track);
    return track;
  }
  if (kinds.includes("vide")) throw new GigasttError("unsupported_format", "MP4 video without an audio track", { details: { container: "MP4" } });
  void moov;
  throw new GigasttError("unsupported_format", "MP4 without an audio track", { details: { container: "MP4" } });
}

function sampleTable(b: Uint8Array, stbl: Box, t: Track): void {
  const stsz = find(b, stbl, ["stsz"]);
  const stsc = find(b, stbl, ["stsc"]);
  const stco = find(b, stbl, ["stco"]);
  const co64 = find(b, stbl, ["co64"]);
  if (!stsz || !stsc || (!stco && !co64)) {
    if (find(b, stbl, ["stz2"])) throw unsupported("an MP4 with compact sample sizes (stz2)");
    throw bad("no sample table");
  }
  const fixed = u32(b, stsz.at + 4);
  const count = u32(b, stsz.at + 8);
  if (!fixed && stsz.at + 12 + 4 * count > stsz.end) throw bad("stsz");
  const size = (i: number) => (fixed ? fixed : u32(b, stsz.at + 12 + 4 * i));
  const chunks: number[] = [];
  const co = (stco ?? co64)!;
  const nChunks = u32(b, co.at + 4);
  const w = stco ? 4 : 8;
  if (co.at + 8 + w * nChunks > co.end) throw bad("chunk offsets");
  for (let i = 0; i < nChunks; i++) chunks.push(stco ? u32(b, co.at + 8 + 4 * i) : u64(b, co.at + 8 + 8 * i));
  const nRuns = u32(b, stsc.at + 4);
  if (stsc.at + 8 + 12 * nRuns > stsc.end) throw bad("stsc");
  let s = 0;
  for (let r = 0; r < nRuns && s < count; r++) {
    const first = u32(b, stsc.at + 8 + 12 * r);
    const per = u32(b, stsc.at + 12 + 12 * r);
    const next = r + 1 < nRuns ? u32(b, stsc.at + 8 + 12 * (r + 1)) : nChunks + 1;
    if (first < 1 || next < first || per > 1 << 20) throw bad("stsc");
    for (let c = first; c < next && c <= nChunks && s < count; c++) {
      let off = chunks[c - 1]!;
      for (let k = 0; k < per && s < count; k++, s++) {
        const n = size(s);
        t.offsets.push(off);
        t.sizes.push(n);
        off += n;
      }
    }
  }
}

/** A fragment: moof → the audio track's samples (absolute offsets). */
function parseMoof(b: Uint8Array, moofStart: number, t: Track, offsets: number[], sizes: number[]): void {
  for (const traf of children(b, 0, b.length).filter((c) => c.type === "traf")) {
    const tfhd = find(b, traf, ["tfhd"]);
    if (!tfhd || u32(b, tfhd.at + 4) !== t.id) continue;
    const flags = u32(b, tfhd.at) & 0xffffff;
    let at = tfhd.at + 8;
    let base = moofStart;
    if (flags & 0x01) {
      base = u64(b, at);
      at += 8;
    }
    if (flags & 0x02) at += 4;
    if (flags & 0x08) at += 4;
    let defSize = t.defaultSize;
    if (flags & 0x10) defSize = u32(b, at);
    for (const trun of children(b, traf.at, traf.end).filter((c) => c.type === "trun")) {
      const tf = u32(b, trun.at) & 0xffffff;
      const n = u32(b, trun.at + 4);
      let p = trun.at + 8;
      let off = base;
      if (tf & 0x01) {
        off = base + (u32(b, p) | 0);
        p += 4;
      }
      if (tf & 0x04) p += 4;
      const per = (tf & 0x100 ? 4 : 0) + (tf & 0x200 ? 4 : 0) + (tf & 0x400 ? 4 : 0) + (tf & 0x800 ? 4 : 0);
      if (p + per * n > trun.end || n > 1 << 20) throw bad("trun");
      for (let i = 0; i < n; i++) {
        let q = p + (tf & 0x100 ? 4 : 0);
        const sz = tf & 0x200 ? u32(b, q) : defSize;
        q += 4;
        offsets.push(off);
        sizes.push(sz);
        off += sz;
        p += per;
      }
    }
  }
}

function trexDefault(moov: Uint8Array, id: number): number {
  const mvex = children(moov, 0, moov.length).find((c) => c.type === "mvex");
  if (!mvex) return 0;
  for (const trex of children(moov, mvex.at, mvex.end).filter((c) => c.type === "trex")) {
    if (u32(moov, trex.at + 4) === id) return u32(moov, trex.at + 16);
  }
  return 0;
}

type State = "head" | "index" | "mdat" | "skip" | "end";

export class Mp4Decoder implements PcmDecoder {
  /** `tmpDir`: where the spill folder goes (default the OS temporary folder) */
  constructor(private readonly tmpDir: string = tmpdir()) {}
  info: StreamInfo | null = null;
  private readonly w = new Warnings();
  private state: State = "head";
  private pos = 0;
  private head = new Uint8Array(16);
  private headFill = 0;
  private boxLeft = 0;
  private boxType = "";
  private boxStart = 0;
  private index: Uint8Array | null = null;
  private indexFill = 0;
  private track: Track | null = null;
  private aac: AacUnits | null = null;
  /** pending samples (absolute offsets), in decode order, from `next` on */
  private offsets: number[] = [];
  private sizes: number[] = [];
  private next = 0;
  private part: Uint8Array | null = null;
  private partFill = 0;
  private ready: Uint8Array[] = [];
  /** priming samples still to drop (−1: not computed yet) */
  private skipOut = -1;
  // spill: mdat bytes [spillFrom, spillFrom + spillLen) are in the temp file
  private spillDir: string | null = null;
  private spillFd: number | null = null;
  private spillFrom = -1;
  private spillLen = 0;

  get warnings(): readonly string[] {
    return this.w.list;
  }

  async push(bytes: Uint8Array): Promise<Planar> {
    let i = 0;
    while (i < bytes.length && this.state !== "end") {
      if (this.state === "head") {
        const need = this.headFill >= 8 && u32(this.head, 0) === 1 ? 16 : 8;
        const n = Math.min(need - this.headFill, bytes.length - i);
        this.head.set(bytes.subarray(i, i + n), this.headFill);
        this.headFill += n;
        i += n;
        this.pos += n;
        if (this.headFill === 8 && u32(this.head, 0) === 1) continue;
        if (this.headFill === need) this.onBox();
        continue;
      }
      const n = Math.min(this.boxLeft, bytes.length - i);
      const slice = bytes.subarray(i, i + n);
      if (this.state === "index") {
        this.index!.set(slice, this.indexFill);
        this.indexFill += n;
      } else if (this.state === "mdat") {
        this.onMdat(slice, this.pos);
      }
      i += n;
      this.pos += n;
      this.boxLeft -= n;
      if (this.boxLeft === 0) this.endBox();
    }
    return this.decodeReady();
  }

  async drain(): Promise<Planar | null> {
    if (!this.track || this.spillFd === null || this.next >= this.offsets.length) return null;
    // samples that lie in the spilled range: read them back from the file
    let taken = 0;
    while (taken < DRAIN_SAMPLES && this.next < this.offsets.length) {
      const off = this.offsets[this.next]!;
      const size = this.sizes[this.next]!;
      if (off < this.spillFrom || off + size > this.spillFrom + this.spillLen) break;
      const buf = new Uint8Array(size);
      readSync(this.spillFd, buf, 0, size, off - this.spillFrom);
      this.ready.push(buf);
      this.next++;
      taken++;
    }
    if (taken === 0) return null;
    return this.decodeReady();
  }

  async finish(): Promise<Planar> {
    if (this.state === "index") throw bad(`${this.boxType} cut short`);
    if (!this.track) {
      if (this.spillFrom >= 0) throw new GigasttError("invalid_audio", "MP4 file ends without its index (moov): the recording was not finished");
      throw new GigasttError("invalid_audio", "MP4 file has no index (moov)");
    }
    if (this.part) this.w.add("MP4: the last audio frame was cut short");
    return EMPTY;
  }

  free(): void {
    this.aac?.free();
    this.aac = null;
    if (this.spillFd !== null) closeSync(this.spillFd);
    this.spillFd = null;
    if (this.spillDir) rmSync(this.spillDir, { recursive: true, force: true });
    this.spillDir = null;
  }

  private onBox(): void {
    const h = this.head;
    let size = u32(h, 0);
    const headLen = this.headFill;
    this.headFill = 0;
    this.boxType = fourcc(h, 4);
    this.boxStart = this.pos - headLen;
    if (size === 1) size = u64(h, 8);
    const toEnd = size === 0;
    if (!toEnd && size < headLen) throw bad(`${this.boxType} box size`);
    this.boxLeft = toEnd ? Number.POSITIVE_INFINITY : size - headLen;
    const t = this.boxType;
    if (t === "moov" || t === "moof") {
      if (toEnd || this.boxLeft > MAX_INDEX) throw bad(`${t} too large`);
      this.index = new Uint8Array(this.boxLeft);
      this.indexFill = 0;
      this.state = this.boxLeft === 0 ? "head" : "index";
      if (this.boxLeft === 0) this.endBox();
    } else if (t === "mdat") {
      this.state = this.boxLeft === 0 ? "head" : "mdat";
    } else {
      if (!/^[\x20-\x7e]{4}$/.test(t)) throw bad("not a box");
      this.state = this.boxLeft === 0 ? "head" : "skip";
    }
  }

  private endBox(): void {
    const t = this.boxType;
    this.state = "head";
    if (t === "moov") this.onMoov(this.index!);
    else if (t === "moof" && this.track) {
      parseMoof(this.index!, this.boxStart, this.track, this.offsets, this.sizes);
    }
    this.index = null;
  }

  private onMoov(b: Uint8Array): void {
    const track = parseMoov(b);
    track.defaultSize = trexDefault(b, track.id);
    this.track = track;
    this.offsets = track.offsets;
    this.sizes = track.sizes;
    this.aac = new AacUnits(track.asc, this.w);
    this.info = { container: "MP4", codec: "AAC", sampleRate: track.rate || track.timescale, channels: track.channels || 1 };
    this.skipOut = -1;
    // samples before the index that were never spilled (cannot happen for files written in order)
  }

  /** mdat payload bytes at absolute offset `at` */
  private onMdat(slice: Uint8Array, at: number): void {
    if (!this.track) {
      this.spill(slice, at);
      return;
    }
    const end = at + slice.length;
    while (this.next < this.offsets.length) {
      const off = this.offsets[this.next]!;
      const size = this.sizes[this.next]!;
      if (this.spillFd !== null && off >= this.spillFrom && off + size <= this.spillFrom + this.spillLen) return; // drain() reads those
      if (off >= end) return;
      if (off + size <= at && !this.part) {
        // already passed (out of order or overlapping): lost
        this.w.add("MP4: audio samples out of order were skipped");
        this.next++;
        continue;
      }
      if (!this.part) {
        if (size === 0 || size > 1 << 20) {
          this.next++;
          continue;
        }
        this.part = new Uint8Array(size);
        this.partFill = Math.max(0, at - off);
      }
      const from = off + this.partFill;
      const n = Math.min(size - this.partFill, end - from);
      if (n <= 0) return;
      this.part.set(slice.subarray(from - at, from - at + n), this.partFill);
      this.partFill += n;
      if (this.partFill < size) return;
      this.ready.push(this.part);
      this.part = null;
      this.next++;
    }
  }

  private spill(slice: Uint8Array, at: number): void {
    if (this.spillFd === null) {
      if (this.spillFrom >= 0) return; // a second mdat before the index: not supported, dropped
      this.spillDir = mkdtempSync(join(this.tmpDir, "gigastt-mp4-"));
      this.spillFd = openSync(join(this.spillDir, "mdat"), "w+", 0o600);
      this.spillFrom = at;
    }
    if (at !== this.spillFrom + this.spillLen) return;
    if (this.spillLen + slice.length > SPILL_LIMIT) {
      throw new GigasttError("unsupported_format", `MP4 with its index at the end and more than ${SPILL_LIMIT / 1024 ** 3} GiB of media; move the index first, e.g. ffmpeg -i in.m4a -c copy -movflags +faststart out.m4a`, {
        details: { container: "MP4" },
      });
    }
    writeSync(this.spillFd, slice, 0, slice.length, this.spillLen);
    this.spillLen += slice.length;
  }

  private async decodeReady(): Promise<Planar> {
    if (!this.aac || this.ready.length === 0) return EMPTY;
    const units = this.ready;
    this.ready = [];
    let pcm = await this.aac.decode(units);
    if (!pcm.length) return EMPTY;
    if (this.skipOut < 0) {
      // priming in output samples, once the decoder's rate is known
      this.skipOut = Math.round((this.track!.skip * this.aac.rate) / (this.track!.timescale || this.aac.rate));
    }
    if (this.skipOut > 0) {
      const drop = Math.min(pcm[0]!.length, this.skipOut);
      pcm = pcm.map((c) => c.subarray(drop));
      this.skipOut -= drop;
    }
    if (this.info && (this.info.sampleRate !== this.aac.rate || this.info.channels !== this.aac.channels)) {
      this.info = { ...this.info, sampleRate: this.aac.rate, channels: this.aac.channels };
    }
    return pcm.length && pcm[0]!.length ? pcm : EMPTY;
  }
}
