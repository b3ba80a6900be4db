/**
 * Audio for the VAD benchmark (scripts/bench/vad.ts): the Golos clips, each with lead and tail
 * stretches of non-speech, clean or mixed with white noise or babble (three other clips summed)
 * at a given SNR, and the reference speech frames of each clean clip.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readAudio } from "../../src/audio/load.ts";
import { frameEnergyDb } from "../../src/segment/energy.ts";
import { rng } from "./clip.ts";

export const HOP = 160;
export const LEAD_S = 1.0;
export const TAIL_S = 1.5;

export interface GolosClip {
  readonly name: string;
  readonly samples: Float32Array;
  /** 1 per 10 ms frame that carries speech (reference, from the clean clip) */
  readonly speech: Uint8Array;
}

/**
 * Word-bearing frames of a clean clip: energy above both the clip's background (its 10th
 * percentile + 12 dB) and its loudest frame − 40 dB, in runs of at least 50 ms (a click is not a
 * word), dilated by 50 ms (onsets, offsets). Breaths and lip noise above that still count: the
 * reference errs on the side of calling sound speech.
 */
export function referenceSpeech(x: Float32Array): Uint8Array {
  const n = Math.floor(x.length / HOP);
  const e = Float64Array.from({ length: n }, (_, f) => frameEnergyDb(x, f * HOP, (f + 1) * HOP));
  const sorted = Float64Array.from(e).sort();
  const floor = sorted[Math.floor(n * 0.1)]!;
  const thr = Math.max(floor + 12, sorted[n - 1]! - 40);
  const m = new Uint8Array(n);
  for (let f = 0; f < n; ) {
    if (!(e[f]! > thr)) {
      f++;
      continue;
    }
    const a = f;
    while (f < n && e[f]! > thr) f++;
    if (f - a >= 5) for (let k = Math.max(0, a - 5); k < Math.min(n, f + 5); k++) m[k] = 1;
  }
  return m;
}

export async function loadGolos(dir: string): Promise<GolosClip[]> {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { filename: string }[];
  const out: GolosClip[] = [];
  for (const { filename } of manifest) {
    const samples = await readAudio(join(dir, filename));
    out.push({ name: filename.replace(/\.wav$/, ""), samples, speech: referenceSpeech(samples) });
  }
  return out;
}

export type NoiseKind = "clean" | "white" | "babble";

export interface Mix {
  readonly samples: Float32Array;
  /** reference speech per 10 ms frame of the mix (0 in the lead and tail) */
  readonly speech: Uint8Array;
}

function power(x: Float32Array, mask?: Uint8Array): number {
  let acc = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask && !mask[Math.floor(i / HOP)]) continue;
    acc += x[i]! * x[i]!;
    n++;
  }
  return n ? acc / n : 0;
}

/** white noise (Gaussian, seeded) or babble (three other clips, looped and summed) of `length` samples */
export function noise(kind: "white" | "babble", length: number, others: readonly GolosClip[], seed: number): Float32Array {
  const y = new Float32Array(length);
  if (kind === "white") {
    const r = rng(seed);
    for (let i = 0; i < length; i++) y[i] = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    return y;
  }
  for (const [k, o] of others.slice(0, 3).entries()) {
    const g = 1 / Math.sqrt(power(o.samples, o.speech) || 1);
    const shift = Math.floor(o.samples.length * (0.13 + 0.29 * k));
    for (let i = 0; i < length; i++) y[i]! += g * o.samples[(i + shift) % o.samples.length]!;
  }
  return y;
}

/** the clip between `LEAD_S` and `TAIL_S` of non-speech, the noise scaled to `snrDb` against the clip's speech frames */
export function mix(clip: GolosClip, kind: NoiseKind, snrDb: number, others: readonly GolosClip[], seed: number): Mix {
  const lead = Math.round(LEAD_S * 16000);
  const len = lead + clip.samples.length + Math.round(TAIL_S * 16000);
  const y = new Float32Array(len);
  y.set(clip.samples, lead);
  const speech = new Uint8Array(Math.ceil(len / HOP));
  speech.set(clip.speech, lead / HOP);
  if (kind === "clean") return { samples: y, speech };
  const n = noise(kind, len, others, seed);
  const g = Math.sqrt(power(clip.samples, clip.speech) / (power(n) * 10 ** (snrDb / 10)));
  for (let i = 0; i < len; i++) y[i]! += g * n[i]!;
  return { samples: y, speech };
}
