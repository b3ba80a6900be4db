/**
 * The one PCM input of every live transport (WebSocket, Wyoming, and the next one): interleaved
 * little-endian PCM16 at any rate and channel count → 16 kHz mono float samples (channel mean,
 * then the streaming resampler). Chunk-invariant: a frame split across chunks (an odd byte, half
 * a stereo frame) is carried over, so any split of the same bytes yields the same samples.
 */
import { Resampler } from "../audio/resample.ts";
import { SAMPLE_RATE } from "../types.ts";

export class PcmInput {
  readonly rate: number;
  readonly channels: number;
  readonly #frameBytes: number;
  readonly #resampler: Resampler;
  /** bytes of an incomplete frame */
  readonly #carry: Uint8Array;
  #carried = 0;
  /** whole frames received */
  #frames = 0;
  /** bytes received so far */
  bytes = 0;

  constructor(rate: number, channels = 1) {
    this.rate = rate;
    this.channels = channels;
    this.#frameBytes = 2 * channels;
    this.#carry = new Uint8Array(this.#frameBytes);
    this.#resampler = new Resampler(rate, SAMPLE_RATE);
  }

  /** seconds of input audio received (whole frames) */
  get seconds(): number {
    return this.#frames / this.rate;
  }

  push(bytes: Uint8Array): Float32Array {
    this.bytes += bytes.length;
    const fb = this.#frameBytes;
    const n = Math.floor((this.#carried + bytes.length) / fb);
    const mono = new Float32Array(n);
    let src = 0;
    let f = 0;
    if (this.#carried > 0 && n > 0) {
      const need = fb - this.#carried;
      this.#carry.set(bytes.subarray(0, need), this.#carried);
      mono[f++] = this.#frame(this.#carry, 0);
      src = need;
      this.#carried = 0;
    }
    for (; f < n; f++, src += fb) mono[f] = this.#frame(bytes, src);
    const rest = bytes.length - src;
    if (rest > 0) {
      this.#carry.set(bytes.subarray(src), this.#carried);
      this.#carried += rest;
    }
    this.#frames += n;
    return n > 0 ? this.#resampler.process(mono) : mono;
  }

  /** end of input: the resampler's tail, and how many bytes of an incomplete frame were dropped */
  flush(): { samples: Float32Array; droppedBytes: number } {
    const droppedBytes = this.#carried;
    this.#carried = 0;
    return { samples: this.#resampler.flush(), droppedBytes };
  }

  /** mean of the frame's channels at byte offset `o` */
  #frame(b: Uint8Array, o: number): number {
    const c = this.channels;
    let sum = 0;
    for (let k = 0; k < c; k++, o += 2) sum += ((b[o]! | (b[o + 1]! << 8)) << 16) >> 16;
    return sum / (c * 32768);
  }
}
