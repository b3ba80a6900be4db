/**
 * Pause compaction: long quiet runs inside a segment are shortened before the encoder sees it,
 * so its cost (∝ audio length) goes to speech, not silence; word times are mapped back with
 * `toOriginal`. The technique of faster-whisper's `vad_filter`, on energy alone.
 *
 * Safety first: audible speech is never removed. Every threshold is relative to the segment's
 * own background, because recordings differ by tens of dB in gain: in one Golos clip the voice
 * reads −55…−70 dBFS over a −85 dB background, so an absolute "always quiet" level such as
 * `ALWAYS_QUIET_DB` (−55, fine for choosing cut points) would delete most of the utterance.
 * - Energies on the 10 ms grid, each smoothed over ±`SMOOTH_FRAMES` frames (power mean): a frame
 *   is only removable when the 50 ms around it are quiet, and the estimate is steadier.
 * - Two passes, not the streaming `QuietDetector` (which learns soft speech at the very start of
 *   a segment as the noise): the background level is estimated first, as the
 *   `FLOOR_PERCENTILE` of the smoothed energies, then a frame is removable when it is below
 *   floor + `REMOVABLE_MARGIN_DB` (capped at `NEVER_QUIET_DB`): a voice 6 dB or more above the
 *   background keeps every frame.
 * - Energy cannot tell a steady soft sound from a steady background, so when the floor itself
 *   is above `MAX_FLOOR_DB` (a loud background, or no pause at all: the "floor" may be soft
 *   speech) only near-digital silence (< `SILENCE_DB`) is removable.
 * - Only runs of ≥ `minRunMs` removable frames are shortened, to `keepMs` (half kept on each
 *   side, so onsets and offsets keep their context); a run at the very start or end (no splice:
 *   streaming utterances start and end mid-pause) is trimmed once it reaches `edgeMinRunMs`,
 *   keeping `keepMs/2` next to the sound. A segment that is quiet throughout, or has no run long enough,
 *   is returned as is (the same array, `toOriginal` the identity).
 * - Splices fall on the 10 ms grid; the first `crossfadeMs` after each splice blend the removed
 *   audio into the kept audio (lengths are unchanged, there is no click).
 *
 * Pure: typed arrays in, typed arrays out. NaN/Infinity samples read as loud (never removed).
 */
import { GigasttError } from "../errors.ts";
import { SAMPLE_RATE } from "../types.ts";
import { NEVER_QUIET_DB, frameEnergyDb } from "./energy.ts";

/** the background level is this percentile of the segment's smoothed frame energies */
export const FLOOR_PERCENTILE = 5;
/** frames less than this far above the background are removable */
export const REMOVABLE_MARGIN_DB = 6;
/** above this floor (dB) pauses cannot be told from soft speech by energy: only silence is removed */
export const MAX_FLOOR_DB = -52;
/** near-digital silence (≈ 1 LSB of 16-bit PCM): always removable */
export const SILENCE_DB = -90;
/** energies are smoothed over this many frames on each side */
export const SMOOTH_FRAMES = 2;
export const DEFAULT_MIN_RUN_MS = 600;
/** a quiet run at the very start or end needs no splice: one this long is trimmed to keepMs/2 */
export const DEFAULT_EDGE_MIN_RUN_MS = 300;
export const DEFAULT_KEEP_MS = 300;
export const DEFAULT_CROSSFADE_MS = 3;

export interface CompactOptions {
  /** default 16000 */
  readonly sampleRate?: number;
  /** shortest quiet run that is shortened, ms (default 600) */
  readonly minRunMs?: number;
  /** shortest quiet run at the segment's start or end that is trimmed, ms (default 300) */
  readonly edgeMinRunMs?: number;
  /** what is kept of a shortened run, ms (default 300: half on each side) */
  readonly keepMs?: number;
  /** blend at each splice, ms (default 3; 0 for a plain cut) */
  readonly crossfadeMs?: number;
  /**
   * which 10 ms frames are removable, decided outside (a VAD: 1 = non-speech), instead of the
   * energy rule; one entry per frame of the segment
   */
  readonly removable?: Uint8Array;
  /**
   * every removed run is a whole number of these samples (shortened at its end): with 640 (one
   * encoder frame of 40 ms) the encoder's frames inside speech fall where they fell in the
   * original, so what it sees of speech does not move with what was cut out
   */
  readonly removeMultipleOf?: number;
}

/**
 * the shortening used with a VAD's mask: non-speech runs ≥ 500 ms keep 200 ms next to each side's
 * speech (a soft onset or word end the VAD called non-speech stays); measured against 100 ms on the
 * Golos clips in BENCHMARKS.md (VAD)
 */
export const VAD_COMPACT = Object.freeze({ minRunMs: 500, keepMs: 400, edgeMinRunMs: 250, removeMultipleOf: 640 });

/** Where an original span of samples lies in the compacted audio. */
export interface KeptSpan {
  /** first sample in the original */
  readonly start: number;
  readonly length: number;
  /** first sample in the compacted audio */
  readonly outStart: number;
}

export interface Compacted {
  /** the compacted audio (the input itself when nothing was removed) */
  readonly samples: Float32Array;
  /**
   * Maps a time in the compacted audio (seconds from its start) to the original. Monotone,
   * linear inside each kept span. At a splice point, `edge: "start"` (default) gives where the
   * audio resumes after the removed run and `edge: "end"` where it stopped before it: use "end"
   * for word ends.
   */
  toOriginal(seconds: number, edge?: "start" | "end"): number;
  /** seconds removed */
  readonly removedSeconds: number;
  /** the kept spans, in order */
  readonly kept: readonly KeptSpan[];
}

export function compactPauses(samples: Float32Array, opts: CompactOptions = {}): Compacted {
  const sr = opts.sampleRate ?? SAMPLE_RATE;
  const minRunMs = opts.minRunMs ?? DEFAULT_MIN_RUN_MS;
  const keepMs = opts.keepMs ?? DEFAULT_KEEP_MS;
  const crossfadeMs = opts.crossfadeMs ?? DEFAULT_CROSSFADE_MS;
  const edgeMinRunMs = opts.edgeMinRunMs ?? Math.min(DEFAULT_EDGE_MIN_RUN_MS, minRunMs);
  if (!Number.isInteger(sr) || sr < 100) throw bad(`sampleRate must be an integer ≥ 100, got ${sr}`);
  if (!(Number.isFinite(keepMs) && keepMs >= 20)) throw bad(`keepMs must be ≥ 20, got ${keepMs}`);
  if (!(Number.isFinite(minRunMs) && minRunMs >= keepMs + 10)) throw bad(`minRunMs must be at least keepMs + 10, got ${minRunMs}`);
  if (!(Number.isFinite(edgeMinRunMs) && edgeMinRunMs >= keepMs / 2 + 10 && edgeMinRunMs <= minRunMs)) {
    throw bad(`edgeMinRunMs must be between keepMs / 2 + 10 and minRunMs, got ${edgeMinRunMs}`);
  }
  if (!(Number.isFinite(crossfadeMs) && crossfadeMs >= 0 && crossfadeMs * 2 <= keepMs)) {
    throw bad(`crossfadeMs must be between 0 and keepMs / 2, got ${crossfadeMs}`);
  }
  const hop = Math.round(sr / 100);
  const minRunFrames = Math.round(minRunMs / 10);
  const edgeMinRunFrames = Math.round(edgeMinRunMs / 10);
  const keepFrames = Math.round(keepMs / 10);
  const headKeep = Math.floor(keepFrames / 2); // kept after the sound that precedes a run
  const tailKeep = keepFrames - headKeep; // kept before the sound that follows a run
  const n = samples.length;
  const frames = Math.ceil(n / hop);
  if (frames < edgeMinRunFrames) return identity(samples, sr);

  const removable = removableFrames(samples, hop, frames, opts.removable);

  // pass 2: removable quiet runs → sample ranges to drop
  const cuts: [number, number][] = [];
  for (let f = 0; f < frames; ) {
    if (!removable(f)) {
      f++;
      continue;
    }
    const a = f;
    while (f < frames && removable(f)) f++;
    const b = f;
    if (a === 0 && b === frames) return identity(samples, sr); // quiet throughout
    // inside: a splice needs a long pause; at an edge (a streaming utterance starts and ends mid-pause) it does not
    if (b - a < (a === 0 || b === frames ? edgeMinRunFrames : minRunFrames)) continue;
    const from = (a === 0 ? 0 : a + headKeep) * hop;
    let to = Math.min(n, (b === frames ? frames : b - tailKeep) * hop);
    const unit = opts.removeMultipleOf;
    if (unit && unit > 0) to = from + Math.floor((to - from) / unit) * unit;
    if (to > from) cuts.push([from, to]);
  }
  if (cuts.length === 0) return identity(samples, sr);

  // the kept spans and the compacted audio
  const kept: KeptSpan[] = [];
  let pos = 0;
  let out = 0;
  for (const [from, to] of cuts) {
    if (from > pos) {
      kept.push({ start: pos, length: from - pos, outStart: out });
      out += from - pos;
    }
    pos = to;
  }
  if (pos < n) {
    kept.push({ start: pos, length: n - pos, outStart: out });
    out += n - pos;
  }
  const y = new Float32Array(out);
  const fade = Math.round((crossfadeMs * sr) / 1000);
  let prevEnd = -1;
  for (const s of kept) {
    y.set(samples.subarray(s.start, s.start + s.length), s.outStart);
    if (prevEnd >= 0 && fade > 0) {
      // fade the removed audio that followed the previous span out while this span fades in
      const m = Math.min(fade, s.length, s.start - prevEnd);
      for (let i = 0; i < m; i++) {
        const w = (i + 1) / (m + 1);
        const a = samples[prevEnd + i]!;
        const b = samples[s.start + i]!;
        y[s.outStart + i] = Number.isFinite(a) && Number.isFinite(b) ? (1 - w) * a + w * b : b;
      }
    }
    prevEnd = s.start + s.length;
  }
  return {
    samples: y,
    removedSeconds: (n - out) / sr,
    kept,
    toOriginal: (seconds, edge = "start") => mapTime(kept, sr, seconds, edge),
  };
}

/** pass 1: the outside mask, else smoothed frame energies against the segment's background level */
function removableFrames(samples: Float32Array, hop: number, frames: number, mask: Uint8Array | undefined): (f: number) => boolean {
  if (mask) return (f) => mask[f] === 1;
  const energy = smoothedEnergyDb(samples, hop, frames);
  const threshold = removableBelowDb(percentile(energy, FLOOR_PERCENTILE));
  return (f) => energy[f]! < threshold;
}

function mapTime(kept: readonly KeptSpan[], sr: number, seconds: number, edge: "start" | "end"): number {
  let p = seconds * sr;
  if (!Number.isFinite(p)) return seconds;
  const snapped = Math.round(p);
  if (Math.abs(p - snapped) < 1e-3) p = snapped; // word times are rounded to 1 µs
  // the last span starting at or before p ("start"), or before p ("end": a splice point maps to the earlier edge)
  let lo = 0;
  let hi = kept.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const o = kept[mid]!.outStart;
    if (edge === "start" ? o <= p : o < p) lo = mid;
    else hi = mid - 1;
  }
  const s = kept[lo]!;
  return (s.start + (p - s.outStart)) / sr;
}

/** Energy (dB) below which a frame is removable, given the segment's background level. */
export function removableBelowDb(floorDb: number): number {
  if (floorDb > MAX_FLOOR_DB) return SILENCE_DB;
  return Math.max(SILENCE_DB, Math.min(NEVER_QUIET_DB, floorDb + REMOVABLE_MARGIN_DB));
}

/** Frame energies in dB, each the power mean over ±SMOOTH_FRAMES frames (non-finite samples read 0 dB). */
function smoothedEnergyDb(samples: Float32Array, hop: number, frames: number): Float64Array {
  const n = samples.length;
  const power = new Float64Array(frames);
  for (let f = 0; f < frames; f++) power[f] = 10 ** (frameEnergyDb(samples, f * hop, Math.min(n, (f + 1) * hop)) / 10);
  const out = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    const lo = Math.max(0, f - SMOOTH_FRAMES);
    const hi = Math.min(frames - 1, f + SMOOTH_FRAMES);
    let acc = 0;
    for (let j = lo; j <= hi; j++) acc += power[j]!;
    out[f] = 10 * Math.log10(acc / (hi - lo + 1));
  }
  return out;
}

function identity(samples: Float32Array, sr: number): Compacted {
  return {
    samples,
    removedSeconds: 0,
    kept: samples.length > 0 ? [{ start: 0, length: samples.length, outStart: 0 }] : [],
    toOriginal: (seconds) => seconds,
  };
}

/** The p-th percentile (nearest rank) of finite values. */
function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[rank]!;
}

function bad(message: string): GigasttError {
  return new GigasttError("invalid_config", message);
}
