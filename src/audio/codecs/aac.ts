/**
 * AAC-LC: symphonia-codec-aac 0.5 (MPL-2.0, unmodified) compiled to WebAssembly
 * (native/aac-wasm; the .wasm is embedded in the executable), and the ADTS framing
 * around it. HE-AAC v1/v2 (explicit signalling, object type 5 or 29 over an AAC-LC
 * core, or implicit: SBR in fill elements) is decoded as its AAC-LC core at the core
 * rate — symphonia 0.5 has no SBR/PS tools and skips their payload; other object
 * types (Main, LTP, LD, ELD, xHE-AAC, …) are refused at configure time, named.
 */
import { GigasttError } from "../../errors.ts";
import { isAdtsFrame } from "../sniff.ts";
import aacWasmPath from "./aac.wasm" with { type: "file" };
import { EMPTY, type Planar, type PcmDecoder, type StreamInfo, Warnings } from "./types.ts";
import { joinPlanar } from "./wasm.ts";

interface AacExports {
  memory: WebAssembly.Memory;
  gst_alloc(n: number): number;
  gst_free(p: number, n: number): void;
  gst_open(p: number, n: number): number;
  gst_decode(p: number, n: number): number;
  gst_out(): number;
  gst_channels(): number;
  gst_rate(): number;
  gst_close(): void;
}

let compiled: Promise<WebAssembly.Module> | null = null;
function aacModule(): Promise<WebAssembly.Module> {
  compiled ??= Bun.file(aacWasmPath)
    .arrayBuffer()
    .then((b) => WebAssembly.compile(b));
  return compiled;
}

/** MPEG-4 audio object types a user may meet, for the refusal message */
const AOT_NAMES: Readonly<Record<number, string>> = { 1: "AAC Main", 3: "AAC SSR", 4: "AAC LTP", 5: "HE-AAC over a non-LC core", 17: "ER AAC-LC", 23: "AAC-LD", 29: "HE-AAC v2 over a non-LC core", 39: "AAC-ELD", 42: "xHE-AAC (USAC)" };

/** the ASC's audio object type (5 bits; 31 escapes to 32 + the next 6) */
function objectType(asc: Uint8Array): number {
  const aot = asc[0]! >> 3;
  return aot === 31 && asc.length > 1 ? 32 + (((asc[0]! & 7) << 3) | (asc[1]! >> 5)) : aot;
}

/** Largest access unit accepted (an AAC frame is at most 6144 bits per channel). */
const MAX_UNIT = 1 << 16;

/** Raw AAC access units → planar PCM. One WASM instance per stream. */
export class AacUnits {
  private x: AacExports | null = null;
  private buf = 0;
  rate = 0;
  channels = 0;
  constructor(private readonly asc: Uint8Array, private readonly w: Warnings) {}

  private async open(): Promise<AacExports> {
    if (this.x) return this.x;
    const inst = await WebAssembly.instantiate(await aacModule(), {});
    const x = inst.exports as unknown as AacExports;
    this.buf = x.gst_alloc(MAX_UNIT);
    new Uint8Array(x.memory.buffer, this.buf, this.asc.length).set(this.asc);
    if (x.gst_open(this.buf, this.asc.length) !== 0) {
      const aot = objectType(this.asc);
      const name = AOT_NAMES[aot] ? `${AOT_NAMES[aot]}, object type ${aot}` : `object type ${aot}`;
      throw new GigasttError("unsupported_format", `this AAC profile (${name}) is not supported (AAC-LC and HE-AAC are); convert it first, e.g. ffmpeg -i in.m4a -ar 16000 -ac 1 out.wav`, {
        details: { container: "AAC", objectType: aot },
      });
    }
    this.x = x;
    return x;
  }

  async decode(units: readonly Uint8Array[]): Promise<Planar> {
    const x = await this.open();
    const parts: Planar[] = [];
    for (const u of units) {
      if (u.length === 0 || u.length > MAX_UNIT) continue;
      new Uint8Array(x.memory.buffer, this.buf, u.length).set(u);
      const n = x.gst_decode(this.buf, u.length);
      if (n < 0) {
        this.w.add("AAC: a damaged frame was skipped");
        continue;
      }
      if (n === 0) continue;
      const ch = x.gst_channels();
      this.channels = ch;
      this.rate = x.gst_rate();
      const all = new Float32Array(x.memory.buffer, x.gst_out(), n * ch);
      const p: Planar = [];
      for (let c = 0; c < ch; c++) p.push(all.slice(c * n, (c + 1) * n));
      parts.push(p);
    }
    return joinPlanar(parts);
  }

  free(): void {
    this.x?.gst_close();
    this.x = null;
  }
}

/** ADTS rates by sampling-frequency index */
export const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** The 2-byte AudioSpecificConfig an ADTS header stands for. */
function ascOf(h: Uint8Array, at: number): Uint8Array {
  const aot = (h[at + 2]! >> 6) + 1;
  const sfi = (h[at + 2]! >> 2) & 0x0f;
  const cc = ((h[at + 2]! & 1) << 2) | (h[at + 3]! >> 6);
  return Uint8Array.of((aot << 3) | (sfi >> 1), ((sfi & 1) << 7) | (cc << 3));
}

/** ADTS: a run of self-describing frames; resynchronises on damage. */
/** encoder priming of AAC-LC (ffmpeg's and most encoders' initial padding), in core-rate samples */
const ADTS_PRIMING = 1024;

export class AdtsDecoder implements PcmDecoder {
  info: StreamInfo | null = null;
  private readonly w = new Warnings();
  private buf = new Uint8Array(0);
  private aac: AacUnits | null = null;
  private lost = 0;
  /** priming samples still to drop (−1: the decoder's rate is not known yet) */
  private skipOut = -1;

  get warnings(): readonly string[] {
    return this.w.list;
  }

  async push(bytes: Uint8Array): Promise<Planar> {
    const b = new Uint8Array(this.buf.length + bytes.length);
    b.set(this.buf);
    b.set(bytes, this.buf.length);
    const units: Uint8Array[] = [];
    let at = 0;
    while (at + 7 <= b.length) {
      if (!isAdtsFrame(b, at)) {
        at++;
        this.lost++;
        continue;
      }
      const len = ((b[at + 3]! & 3) << 11) | (b[at + 4]! << 3) | (b[at + 5]! >> 5);
      const head = b[at + 1]! & 1 ? 7 : 9;
      if (len <= head) {
        at++;
        this.lost++;
        continue;
      }
      if (at + len > b.length) break;
      if (!this.aac) {
        const asc = ascOf(b, at);
        this.aac = new AacUnits(asc, this.w);
        const sfi = (b[at + 2]! >> 2) & 0x0f;
        const cc = ((b[at + 2]! & 1) << 2) | (b[at + 3]! >> 6);
        this.info = { container: "ADTS", codec: "AAC", sampleRate: AAC_RATES[sfi]!, channels: cc || 1 };
      }
      // frames with several raw data blocks are passed whole (rare; the decoder reads the first)
      units.push(b.subarray(at + head, at + len));
      at += len;
    }
    if (this.lost > 0 && this.info) {
      this.w.add("ADTS: damaged bytes were skipped");
      this.lost = 0;
    }
    this.buf = b.slice(at);
    if (!this.aac || units.length === 0) return EMPTY;
    let pcm = await this.aac.decode(units);
    if (!pcm.length) return EMPTY;
    // ADTS cannot signal the encoder's priming: the AAC-LC norm of 1024 samples (at the core
    // rate; twice that at an SBR output rate) is dropped, as MP4's edit list would say
    if (this.skipOut < 0) this.skipOut = Math.round((ADTS_PRIMING * this.aac.rate) / this.info!.sampleRate);
    if (this.skipOut > 0) {
      const drop = Math.min(pcm[0]!.length, this.skipOut);
      pcm = pcm.map((c) => c.subarray(drop));
      this.skipOut -= drop;
    }
    return pcm[0]!.length ? pcm : EMPTY;
  }

  async finish(): Promise<Planar> {
    return EMPTY;
  }

  free(): void {
    this.aac?.free();
  }
}
