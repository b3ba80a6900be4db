/**
 * Quiet-frame classification on a 10 ms grid by signal energy.
 *
 * Each frame's mean-square energy in dB is compared with an adaptive floor: the tracked noise
 * level (a minimum tracker that follows the energy down at once and creeps up by
 * `RISE_DB_PER_FRAME` while the signal is louder) plus `MARGIN_DB`, clamped to
 * [`ALWAYS_QUIET_DB`, `NEVER_QUIET_DB`]. So digital silence and noise up to ±0.001 (≈ −60 dB)
 * always count as quiet, a steady background up to ≈ −42 dB is learnt as quiet, and a tone or
 * speech at amplitude 0.05 (≈ −29 dB RMS) never does.
 *
 * The classifier is a pure sequential function of the frames it is fed.
 */

/** frames below this are quiet whatever the noise level (RMS ≈ 0.0018; ±0.001 noise reads ≤ −60 dB) */
export const ALWAYS_QUIET_DB = -55;
/**
 * a segment whose frames all stay below this holds nothing to transcribe and skips the encoder
 * (RMS ≈ 0.0001, about 3 LSB of 16-bit audio): far below ALWAYS_QUIET_DB, because low-gain
 * recordings carry whole sentences at −55…−70 dBFS (Golos has one) and must never be dropped
 */
export const SILENCE_DB = -80;
/** frames at or above this are never quiet (RMS ≈ 0.025; a 0.05 sine reads −29 dB) */
export const NEVER_QUIET_DB = -32;
/** a frame is quiet when it is less than this far above the tracked noise */
export const MARGIN_DB = 10;
/** how fast the noise estimate climbs while the signal is louder (5 dB per second) */
export const RISE_DB_PER_FRAME = 0.05;
const FLOOR_DB = -100;

/** Mean-square energy of `x[from..to)` in dB (−120 for digital silence). */
export function frameEnergyDb(x: Float32Array, from: number, to: number): number {
  let acc = 0;
  for (let i = from; i < to; i++) {
    const v = x[i]!;
    acc += v * v;
  }
  const ms = to > from ? acc / (to - from) : 0;
  // NaN/Infinity samples read as loud: never invent a pause out of garbage
  if (!Number.isFinite(ms)) return 0;
  return 10 * Math.log10(ms + 1e-12);
}

export class QuietDetector {
  #noise = Number.NaN;

  /** The threshold the next frame is compared with. */
  get thresholdDb(): number {
    if (Number.isNaN(this.#noise)) return ALWAYS_QUIET_DB;
    return Math.min(NEVER_QUIET_DB, Math.max(ALWAYS_QUIET_DB, this.#noise + MARGIN_DB));
  }

  /** Classifies one frame by its energy (dB) and updates the noise tracker. */
  next(energyDb: number): boolean {
    const quiet = energyDb < this.thresholdDb;
    const e = Math.max(FLOOR_DB, energyDb);
    this.#noise = Number.isNaN(this.#noise) ? e : Math.min(this.#noise + RISE_DB_PER_FRAME, e);
    return quiet;
  }
}
