/**
 * Deterministic speech-like audio for the benchmark (no external tools): utterances
 * of 1.5–4 s made of 100–260 ms "syllables" (voiced harmonics shaped by two moving
 * formants, some with a noise burst), separated by 0.7–1.1 s near-silent pauses, so
 * the segmenter and the endpointing see speech and pauses like in real use.
 *
 * The stand-in model's weights are random, so the transcript is meaningless; the
 * audio only has to exercise every path with realistic timing.
 */

export const CLIP_RATE = 16000;

export interface Utterance {
  /** seconds */
  readonly start: number;
  readonly end: number;
}

export interface Clip {
  readonly samples: Float32Array;
  readonly utterances: readonly Utterance[];
}

/** xorshift32 → [0, 1) */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** `seconds` of speech-like audio at 16 kHz; the same seed gives the same samples. */
export function speechLikeClip(seconds: number, seed = 7): Clip {
  const n = Math.round(seconds * CLIP_RATE);
  const out = new Float32Array(n);
  const r = rng(seed);
  const utterances: Utterance[] = [];
  // background: very low noise everywhere
  for (let i = 0; i < n; i++) out[i] = (r() - 0.5) * 0.0006;
  let t = 0.15 + r() * 0.2;
  while (t < seconds - 0.5) {
    const uttLen = Math.min(1.5 + r() * 2.5, seconds - t - 0.3);
    if (uttLen < 0.4) break;
    const uStart = t;
    const uEnd = t + uttLen;
    let f0 = 110 + r() * 100;
    while (t < uEnd - 0.08) {
      const syl = Math.min(0.1 + r() * 0.16, uEnd - t);
      const i0 = Math.round(t * CLIP_RATE);
      const len = Math.round(syl * CLIP_RATE);
      const f1a = 300 + r() * 500;
      const f1b = 300 + r() * 500;
      const f2a = 900 + r() * 1500;
      const f2b = 900 + r() * 1500;
      const burst = r() < 0.35;
      const amp = 0.12 + r() * 0.18;
      f0 = Math.max(85, Math.min(240, f0 + (r() - 0.5) * 30));
      let phase = 0;
      for (let k = 0; k < len && i0 + k < n; k++) {
        const x = k / len;
        const env = Math.sin(Math.PI * x) ** 0.6;
        const f1 = f1a + (f1b - f1a) * x;
        const f2 = f2a + (f2b - f2a) * x;
        phase += (2 * Math.PI * f0 * (1 + 0.03 * Math.sin(2 * Math.PI * 5 * x))) / CLIP_RATE;
        let v = 0;
        for (let h = 1; h * f0 < 4000; h++) {
          const fh = h * f0;
          const g = 1 / (1 + ((fh - f1) / 120) ** 2) + 0.5 / (1 + ((fh - f2) / 180) ** 2) + 0.02;
          v += g * Math.sin(h * phase);
        }
        let s = 0.35 * v * env;
        if (burst && x < 0.25) s += (r() - 0.5) * 0.6 * (1 - x * 4);
        out[i0 + k] = out[i0 + k]! + amp * s;
      }
      t += syl + r() * 0.03;
    }
    utterances.push({ start: uStart, end: Math.min(t, seconds) });
    t += 0.7 + r() * 0.4;
  }
  for (let i = 0; i < n; i++) out[i] = Math.max(-0.99, Math.min(0.99, out[i]!));
  return { samples: out, utterances };
}

/** float samples → PCM16 little-endian bytes */
export function toPcm16(samples: Float32Array): Uint8Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768)));
  return new Uint8Array(out.buffer);
}

/** A 16-bit mono WAV file of `samples`. */
export function toWav(samples: Float32Array, rate = CLIP_RATE): Uint8Array {
  const pcm = toPcm16(samples);
  const buf = new Uint8Array(44 + pcm.length);
  const v = new DataView(buf.buffer);
  const str = (o: number, s: string) => {
    for (let i = 0; i < s.length; i++) buf[o + i] = s.charCodeAt(i);
  };
  str(0, "RIFF");
  v.setUint32(4, 36 + pcm.length, true);
  str(8, "WAVE");
  str(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, "data");
  v.setUint32(40, pcm.length, true);
  buf.set(pcm, 44);
  return buf;
}
