/**
 * GigaAM v3 log-mel front end (docs/MODEL.md §3).
 *
 * 16 kHz mono float samples → frames of 320 samples every 160 (no centering, no padding) →
 * periodic Hann(320) rounded to bfloat16 → 320-point real FFT → power |X|² (161 bins) →
 * 64 HTK mel filters (torchaudio `melscale_fbanks`, norm=None, rounded to bfloat16) →
 * ln(clamp(E, 1e-9, 1e9)). Output is mel-major `[64 × frames]`: value (m, t) at `m * frames + t`.
 *
 * Inputs shorter than one window (N < 320) give 0 frames and an empty feature array; the
 * transcriber treats that as too short to transcribe.
 */

import { RealFft } from "./fft.ts";
import { MEL_BANDS, melFiltersBf16, type MelFilter } from "./mel-filters.ts";
import { bf16PeriodicHann } from "./window.ts";

export const N_MELS = 64;
export const N_FFT = 320;
export const HOP = 160;
/** Mel energies are clamped to [LOG_FLOOR, LOG_CEIL] before the natural log. */
export const LOG_FLOOR = 1e-9;
export const LOG_CEIL = 1e9;

if (MEL_BANDS !== N_MELS) throw new Error(`mel table has ${MEL_BANDS} bands, expected ${N_MELS}`);

export interface LogMelFeatures {
  /** `[N_MELS × frames]`, mel-major */
  readonly features: Float32Array;
  readonly frames: number;
}

/** Number of frames for `samples` input samples: floor((N − 320) / 160) + 1, or 0 when N < 320. */
export function melFrameCount(samples: number): number {
  if (!Number.isFinite(samples) || samples < N_FFT) return 0;
  return Math.floor((Math.floor(samples) - N_FFT) / HOP) + 1;
}

/** Log-mel extractor holding its FFT plan, window, filters and work buffers; reuse it across calls. */
export class LogMelExtractor {
  private readonly fft = new RealFft(N_FFT);
  private readonly window = bf16PeriodicHann(N_FFT);
  private readonly power = new Float64Array(N_FFT / 2 + 1);
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly weights: Float64Array;
  private readonly offsets: Int32Array;

  constructor() {
    const filters: MelFilter[] = melFiltersBf16();
    this.starts = new Int32Array(N_MELS);
    this.ends = new Int32Array(N_MELS);
    this.offsets = new Int32Array(N_MELS);
    let total = 0;
    for (const f of filters) total += f.weights.length;
    this.weights = new Float64Array(total);
    let at = 0;
    filters.forEach((f, m) => {
      this.starts[m] = f.start;
      this.ends[m] = f.start + f.weights.length;
      this.offsets[m] = at;
      this.weights.set(f.weights, at);
      at += f.weights.length;
    });
  }

  /** Log-mel features of `samples` (16 kHz mono, float in [−1, 1)). */
  compute(samples: Float32Array): LogMelFeatures {
    const frames = melFrameCount(samples.length);
    const features = new Float32Array(N_MELS * frames);
    const { fft, window, power, starts, ends, weights, offsets } = this;
    for (let t = 0; t < frames; t++) {
      fft.power(samples, power, window, t * HOP);
      for (let m = 0; m < N_MELS; m++) {
        let e = 0;
        let w = offsets[m]!;
        const end = ends[m]!;
        for (let k = starts[m]!; k < end; k++) e += weights[w++]! * power[k]!;
        // NaN input stays NaN (as in torch); everything else is clamped into [1e-9, 1e9].
        const clamped = e < LOG_FLOOR ? LOG_FLOOR : e > LOG_CEIL ? LOG_CEIL : e;
        features[m * frames + t] = Math.log(clamped);
      }
    }
    return { features, frames };
  }
}

let shared: LogMelExtractor | undefined;

/** Log-mel features of `samples` with a module-wide extractor (see {@link LogMelExtractor}). */
export function logMelSpectrogram(samples: Float32Array): LogMelFeatures {
  shared ??= new LogMelExtractor();
  return shared.compute(samples);
}
