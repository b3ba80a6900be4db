/**
 * A client's raw PCM16 LE byte stream at its announced rate → 16 kHz mono
 * float samples. Chunk-invariant: any split of the same bytes yields the same
 * samples (the odd byte carries over, the resampler is exact across chunks).
 */
import { Pcm16Decoder } from "../../audio/pcm16.ts";
import { Resampler } from "../../audio/resample.ts";
import { SAMPLE_RATE } from "../../types.ts";

export class PcmInput {
  readonly inputRate: number;
  private readonly pcm = new Pcm16Decoder();
  private readonly resampler: Resampler;
  /** bytes received so far */
  bytes = 0;

  constructor(inputRate: number) {
    this.inputRate = inputRate;
    this.resampler = new Resampler(inputRate, SAMPLE_RATE);
  }

  /** input seconds received (whole samples) */
  get seconds(): number {
    return Math.floor(this.bytes / 2) / this.inputRate;
  }

  push(bytes: Uint8Array): Float32Array {
    this.bytes += bytes.length;
    const x = this.pcm.push(bytes);
    return x.length ? this.resampler.process(x) : x;
  }

  /** end of input: the resampler's tail; reports whether an odd byte was left over (it cannot form a sample) */
  flush(): { samples: Float32Array; danglingByte: boolean } {
    const danglingByte = this.pcm.reset();
    return { samples: this.resampler.flush(), danglingByte };
  }
}
