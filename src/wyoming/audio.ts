/**
 * Wyoming audio: interleaved little-endian PCM16 at the announced rate and
 * channel count → 16 kHz mono float samples (channel mean, then the shared
 * streaming resampler). Chunk-invariant: a frame split across chunks is
 * carried over, so any split of the same bytes yields the same samples.
 */
import { Resampler } from "../audio/resample.ts";
import { GigasttError } from "../errors.ts";
import { SAMPLE_RATE } from "../types.ts";

export interface AudioFormat {
  readonly rate: number;
  /** bytes per sample */
  readonly width: number;
  readonly channels: number;
}

export const MIN_RATE = 8000;
export const MAX_RATE = 192_000;
export const MAX_CHANNELS = 16;

/**
 * The format fields of `audio-start` / `audio-chunk` data, validated:
 * `invalid_sample_rate` for a rate outside 8–192 kHz, `unsupported_format`
 * for a width other than 2 bytes or a bad channel count, `bad_message` for
 * missing or non-integer fields.
 */
export function parseAudioFormat(data: Readonly<Record<string, unknown>>): AudioFormat {
  const { rate, width, channels } = data;
  for (const [name, v] of [
    ["rate", rate],
    ["width", width],
    ["channels", channels],
  ] as const) {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new GigasttError("bad_message", `Audio '${name}' must be an integer`);
  }
  const f = { rate: rate as number, width: width as number, channels: channels as number };
  if (f.rate < MIN_RATE || f.rate > MAX_RATE) {
    throw new GigasttError("invalid_sample_rate", `Unsupported sample rate ${f.rate}: expected ${MIN_RATE}..${MAX_RATE} Hz`);
  }
  if (f.width !== 2) throw new GigasttError("unsupported_format", `Unsupported sample width ${f.width}: only 16-bit PCM (width 2) is accepted`);
  if (f.channels < 1 || f.channels > MAX_CHANNELS) {
    throw new GigasttError("unsupported_format", `Unsupported channel count ${f.channels}: expected 1..${MAX_CHANNELS}`);
  }
  return f;
}

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.rate === b.rate && a.width === b.width && a.channels === b.channels;
}

export class WyomingAudioInput {
  readonly format: AudioFormat;
  private readonly frameBytes: number;
  private readonly resampler: Resampler;
  /** bytes of an incomplete frame */
  private readonly carry: Uint8Array;
  private carried = 0;
  /** whole frames received */
  private frames = 0;

  constructor(format: AudioFormat) {
    this.format = format;
    this.frameBytes = format.width * format.channels;
    this.carry = new Uint8Array(this.frameBytes);
    this.resampler = new Resampler(format.rate, SAMPLE_RATE);
  }

  /** seconds of input audio received (whole frames) */
  get seconds(): number {
    return this.frames / this.format.rate;
  }

  push(bytes: Uint8Array): Float32Array {
    const fb = this.frameBytes;
    const total = this.carried + bytes.length;
    const n = Math.floor(total / fb);
    const mono = new Float32Array(n);
    let src = 0; // index into bytes
    let f = 0;
    if (this.carried > 0 && n > 0) {
      const need = fb - this.carried;
      this.carry.set(bytes.subarray(0, need), this.carried);
      mono[f++] = this.frame(this.carry, 0);
      src = need;
      this.carried = 0;
    }
    for (; f < n; f++, src += fb) mono[f] = this.frame(bytes, src);
    const rest = bytes.length - src;
    if (rest > 0) {
      this.carry.set(bytes.subarray(src), this.carried);
      this.carried += rest;
    }
    this.frames += n;
    return n > 0 ? this.resampler.process(mono) : mono;
  }

  /** end of input: the resampler's tail; says whether an incomplete frame was dropped */
  flush(): { samples: Float32Array; droppedBytes: number } {
    const droppedBytes = this.carried;
    this.carried = 0;
    return { samples: this.resampler.flush(), droppedBytes };
  }

  /** mean of the frame's channels at byte offset `o` */
  private frame(b: Uint8Array, o: number): number {
    const c = this.format.channels;
    let sum = 0;
    for (let k = 0; k < c; k++, o += 2) {
      const v = b[o]! | (b[o + 1]! << 8);
      sum += (v << 16) >> 16;
    }
    return sum / (c * 32768);
  }
}
