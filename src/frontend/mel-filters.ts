import { f32FromBits, roundToBf16 } from "./bf16.ts";
import { MEL_FILTER_BITS } from "./mel-filters.generated.ts";

/** One triangular mel filter over FFT power bins: `weights[j]` applies to bin `start + j`. */
export interface MelFilter {
  readonly start: number;
  readonly weights: Float64Array;
}

/** Number of mel bands (GigaAM v3 `features_size`). */
export const MEL_BANDS = MEL_FILTER_BITS.length;

/** The committed torchaudio filterbank in float32 (no bfloat16 rounding). */
export function melFiltersF32(): MelFilter[] {
  return MEL_FILTER_BITS.map(({ start, bits }) => ({
    start,
    weights: Float64Array.from(bits, f32FromBits),
  }));
}

/** The filterbank the model expects: every float32 weight rounded through bfloat16. */
export function melFiltersBf16(): MelFilter[] {
  return melFiltersF32().map(({ start, weights }) => ({
    start,
    weights: weights.map(roundToBf16),
  }));
}
