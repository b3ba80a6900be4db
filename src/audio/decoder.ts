/**
 * One streaming decoder for every supported file: the container is sniffed from the
 * first bytes, then a codec decoder takes over. Push byte chunks, get planar float PCM
 * at the source rate; `info` says what was found.
 *
 * Decoded: WAV (PCM, float, µ-law, A-law, IMA ADPCM), MP3, FLAC (native and in Ogg),
 * Ogg Vorbis, Ogg Opus, WebM/Matroska Opus or Vorbis, MP4/M4A/MOV and ADTS AAC-LC. Recognised but refused with
 * `unsupported_format` naming what was found: AIFF, CAF, AMR, AU, big-endian WAV,
 * Speex or Theora in Ogg, other codecs in Matroska or MP4. Unrecognised bytes: `invalid_audio`.
 *
 * WAV is decoded in-process (plain arithmetic, in slices); every compressed codec runs in
 * a decode Worker (remote.ts), so WASM loading, codec setup and decoding never hold the
 * event loop. `inProcess` decodes them here instead (benchmarks, tests of the codecs).
 */
import { GigasttError } from "../errors.ts";
import { codecFor } from "./codecs/select.ts";
import { EMPTY, type Planar, type PcmDecoder, type StreamInfo } from "./codecs/types.ts";
import { RemoteDecoder } from "./remote.ts";
import { type Detected, detect, SNIFF_BYTES } from "./sniff.ts";
import { WavStreamDecoder } from "./wav.ts";

export type { Planar, PcmDecoder, StreamInfo } from "./codecs/types.ts";

/** WAV through the PcmDecoder contract (mono: the WAV reader mixes channels itself). */
class WavDecoder implements PcmDecoder {
  private readonly dec: WavStreamDecoder;
  constructor(private readonly split: boolean) {
    this.dec = new WavStreamDecoder({ interleaved: split });
  }
  readonly warnings: readonly string[] = [];
  get info(): StreamInfo | null {
    const f = this.dec.format;
    if (!f) return null;
    const codec = { pcm: "PCM", float: "float PCM", alaw: "A-law", mulaw: "µ-law", "ima-adpcm": "IMA ADPCM", g722: "G.722" }[f.encoding];
    return { container: "WAV", codec, sampleRate: f.sampleRate, channels: f.channels };
  }
  /** the WAV reader's own format record */
  get wavFormat() {
    return this.dec.format;
  }
  async push(bytes: Uint8Array): Promise<Planar> {
    return this.planes(this.dec.push(bytes));
  }
  async finish(): Promise<Planar> {
    return this.planes(this.dec.finish());
  }
  free(): void {}
  private planes(y: Float32Array): Planar {
    if (y.length === 0) return EMPTY;
    const ch = this.split ? this.dec.format!.channels : 1;
    if (ch === 1) return [y];
    const n = y.length / ch;
    const out: Planar = Array.from({ length: ch }, () => new Float32Array(n));
    for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) out[c]![i] = y[i * ch + c]!;
    return out;
  }
}

/**
 * Sniffs, then decodes. Errors: `invalid_audio` (nothing decodable), `unsupported_format`
 * (a known container or codec that is not decoded, naming it).
 */
export class AudioDecoder {
  private head: Uint8Array[] = [];
  private headBytes = 0;
  private dec: PcmDecoder | null = null;
  private produced = 0;
  private failed: string | null = null;
  /** the container as sniffed (null until enough bytes arrived) */
  detected: Detected | null = null;

  /**
   * `split`: every channel is returned (WAV too); otherwise WAV comes mixed to mono.
   * `inProcess`: compressed codecs decode on this thread, not in a decode Worker.
   */
  constructor(
    private readonly split = false,
    private readonly inProcess = false,
  ) {}

  /** bytes worth passing to push() at once: small until the container is known, large for WAV, 16 KiB (about 1 s of a 128k MP3) for the Worker */
  get sliceBytes(): number {
    if (!this.dec) return 4096;
    // G.722 costs about 1 µs a byte to decode: 4 KiB keeps a slice to a few milliseconds
    if (this.dec instanceof WavDecoder) return this.dec.wavFormat?.encoding === "g722" ? 4096 : 256 * 1024;
    return this.dec instanceof RemoteDecoder ? 16 * 1024 : 4096;
  }

  get info(): StreamInfo | null {
    return this.dec?.info ?? null;
  }

  get warnings(): readonly string[] {
    const w = this.dec?.warnings ?? [];
    return this.failed ? [...w, this.failed] : w;
  }

  /** samples (per channel) decoded so far */
  get frames(): number {
    return this.produced;
  }

  async push(bytes: Uint8Array): Promise<Planar> {
    if (this.failed) return EMPTY;
    if (!this.dec) {
      this.head.push(bytes);
      this.headBytes += bytes.length;
      if (this.headBytes < SNIFF_BYTES) return EMPTY;
      return this.start();
    }
    return this.run(() => this.dec!.push(bytes));
  }

  /** output that needs no more input (see PcmDecoder.drain); null when there is none */
  async drain(): Promise<Planar | null> {
    if (this.failed || !this.dec?.drain) return null;
    let out: Planar | null = null;
    await this.run(async () => {
      out = await this.dec!.drain!();
      return out ?? EMPTY;
    });
    return this.failed ? null : out;
  }

  async finish(): Promise<Planar> {
    if (this.failed) return EMPTY;
    let first: Planar = EMPTY;
    if (!this.dec) first = await this.start();
    if (this.failed) return first;
    const rest = await this.run(() => this.dec!.finish());
    return first.length ? concatPlanar(first, rest) : rest;
  }

  /** After finish() and the last drain(): `invalid_audio` when nothing at all was decoded. */
  end(): void {
    if (this.failed === null && this.produced === 0 && this.dec && this.detected?.container !== "WAV") {
      this.free();
      const what = this.dec!.info ? `${this.dec!.info.container} ${this.dec!.info.codec}` : (this.detected?.container ?? "audio");
      throw new GigasttError("invalid_audio", `no decodable audio in the ${what} stream${this.warnings.length ? ` (${this.warnings[0]})` : ""}`);
    }
  }

  free(): void {
    this.dec?.free();
  }

  /** free(), resolved once the codec has released everything (the decode Worker included) */
  async close(): Promise<void> {
    if (this.dec instanceof RemoteDecoder) await this.dec.close();
    else this.dec?.free();
  }

  private async start(): Promise<Planar> {
    const all = new Uint8Array(this.headBytes);
    let o = 0;
    for (const h of this.head) {
      all.set(h, o);
      o += h.length;
    }
    this.head = [];
    this.detected = detect(all.subarray(0, SNIFF_BYTES));
    const kind = codecFor(this.detected, all);
    if (kind === "wav") this.dec = new WavDecoder(this.split);
    else if (this.inProcess) this.dec = (await import("./codecs/make.ts")).makeDecoder(kind);
    else this.dec = new RemoteDecoder(kind);
    return this.run(() => this.dec!.push(all));
  }

  /** A decoder that throws after audio came out has met damage: keep what came, stop there. */
  private async run(step: () => Promise<Planar>): Promise<Planar> {
    try {
      const p = await step();
      if (p.length) this.produced += p[0]!.length;
      return p;
    } catch (e) {
      if (this.produced === 0 || (e instanceof GigasttError && e.code !== "invalid_audio")) {
        this.free();
        if (e instanceof GigasttError) throw e;
        throw new GigasttError("invalid_audio", `damaged ${this.detected?.container ?? "audio"} stream: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      this.failed = `${this.detected?.container ?? "audio"}: damaged after ${this.produced} samples; the rest was not decoded`;
      return EMPTY;
    }
  }
}

function concatPlanar(a: Planar, b: Planar): Planar {
  if (!b.length) return a;
  return a.map((x, c) => {
    const y = b[c] ?? b[0]!;
    const out = new Float32Array(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  });
}
