/**
 * Audio for the tone model: `phrase → audio → transcript` in one line.
 * Piece k is a sine at the centre of mel band 4 + 3k (scripts/make-tone-model.ts).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TONE_PIECES, type ToneModelOptions, toneFrequency, writeToneModel } from "../../scripts/make-tone-model.ts";

export { DEFAULT_TONE_PIECES, toneFrequency, writeToneModel };

export interface ToneOptions {
  /** seconds per tone (0.2–0.5 keeps the model's contract); default 0.3 */
  readonly toneSec?: number;
  /** silence between tones; default 0.1 */
  readonly gapSec?: number;
  /** silence before the first tone; default = gapSec */
  readonly leadSec?: number;
  /** silence after the last tone; default 0.3 */
  readonly tailSec?: number;
  /** default 0.5 */
  readonly amplitude?: number;
  /** default 16000 */
  readonly sampleRate?: number;
  /** the tone model's vocabulary (default DEFAULT_TONE_PIECES) */
  readonly vocab?: readonly string[];
}

export interface ToneAudio {
  readonly samples: Float32Array;
  readonly sampleRate: number;
  /** seconds: onset of each piece's tone */
  readonly onsets: number[];
  readonly pieces: string[];
}

/** "привет мир, как дела?" → ["▁привет", "▁мир", ",", "▁как", "▁дела", "?"] given the vocab's pieces. */
export function textToPieces(text: string, vocab: readonly string[] = DEFAULT_TONE_PIECES): string[] {
  const out: string[] = [];
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    let rest = word;
    let first = true;
    while (rest.length > 0) {
      // longest vocab piece matching at this position (with ▁ at a word start)
      let best = "";
      for (const p of vocab) {
        const body = first ? (p.startsWith("▁") ? p.slice(1) : null) : p.startsWith("▁") ? null : p;
        if (body && rest.startsWith(body) && body.length > best.length) best = p;
      }
      if (!best && first) {
        // punctuation directly after a space: a bare piece
        for (const p of vocab) if (!p.startsWith("▁") && rest.startsWith(p) && p.length > best.length) best = p;
      }
      if (!best) throw new Error(`cannot spell ${JSON.stringify(rest)} of ${JSON.stringify(text)} with the tone vocabulary`);
      out.push(best);
      rest = rest.slice(best.startsWith("▁") ? best.length - 1 : best.length);
      first = false;
    }
  }
  return out;
}

/** Synthesizes the tones of a phrase (pieces or text), with silence around them. */
export function phraseToAudio(phrase: readonly string[] | string, opts: ToneOptions = {}): ToneAudio {
  const vocab = opts.vocab ?? DEFAULT_TONE_PIECES;
  const pieces = typeof phrase === "string" ? textToPieces(phrase, vocab) : [...phrase];
  const sr = opts.sampleRate ?? 16000;
  const toneSec = opts.toneSec ?? 0.3;
  const gapSec = opts.gapSec ?? 0.1;
  const leadSec = opts.leadSec ?? gapSec;
  const tailSec = opts.tailSec ?? 0.3;
  const amp = opts.amplitude ?? 0.5;
  const toneN = Math.round(toneSec * sr);
  const gapN = Math.round(gapSec * sr);
  const leadN = Math.round(leadSec * sr);
  const total = leadN + pieces.length * toneN + Math.max(0, pieces.length - 1) * gapN + Math.round(tailSec * sr);
  const samples = new Float32Array(total);
  const onsets: number[] = [];
  let pos = leadN;
  pieces.forEach((p, i) => {
    const k = vocab.indexOf(p);
    if (k < 0) throw new Error(`piece ${JSON.stringify(p)} is not in the tone vocabulary`);
    if (i > 0 && pieces[i - 1] === p) throw new Error(`piece ${JSON.stringify(p)} repeats; the tone model cannot say that`);
    const w = (2 * Math.PI * toneFrequency(k)) / sr;
    for (let n = 0; n < toneN; n++) samples[pos + n] = amp * Math.sin(w * n);
    onsets.push(pos / sr);
    pos += toneN + gapN;
  });
  return { samples, sampleRate: sr, onsets, pieces };
}

/** The text the model should produce for these pieces (SentencePiece decoding: ▁ → space, trimmed). */
export function piecesToText(pieces: readonly string[]): string {
  return pieces.join("").replaceAll("▁", " ").trim();
}

/** Mono PCM16 WAV bytes. */
export function wavBytes(samples: Float32Array, sampleRate = 16000): Uint8Array {
  const dataBytes = samples.length * 2;
  const buf = new ArrayBuffer(44 + dataBytes);
  const v = new DataView(buf);
  const ascii = (off: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i));
  };
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    v.setInt16(44 + 2 * i, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return new Uint8Array(buf);
}

/** A fresh temp dir holding the default tone model (fast: a few ms). */
export function makeToneModelDir(pieces: readonly string[] = DEFAULT_TONE_PIECES, opts: ToneModelOptions = {}): string {
  return writeToneModel(mkdtempSync(join(tmpdir(), "gigastt-tone-")), pieces, opts);
}

/** One step of a {@link chordsToAudio} phrase: a piece's tone, or several tones at once with their amplitudes. */
export type ToneStep = string | readonly (readonly [piece: string, amplitude: number])[];

/**
 * Like {@link phraseToAudio} for pieces, where a step may be a chord: the tones of several pieces
 * summed (an "ambiguous tone" when two rival pieces sound together, see ToneModelOptions.rivals).
 */
export function chordsToAudio(steps: readonly ToneStep[], opts: ToneOptions = {}): Float32Array {
  const vocab = opts.vocab ?? DEFAULT_TONE_PIECES;
  const sr = opts.sampleRate ?? 16000;
  const toneN = Math.round((opts.toneSec ?? 0.3) * sr);
  const gapN = Math.round((opts.gapSec ?? 0.1) * sr);
  const leadN = Math.round((opts.leadSec ?? opts.gapSec ?? 0.1) * sr);
  const total = leadN + steps.length * (toneN + gapN) + Math.round((opts.tailSec ?? 0.3) * sr);
  const samples = new Float32Array(total);
  let pos = leadN;
  for (const step of steps) {
    const parts: readonly (readonly [string, number])[] = typeof step === "string" ? [[step, opts.amplitude ?? 0.5]] : step;
    for (const [piece, amp] of parts) {
      const k = vocab.indexOf(piece);
      if (k < 0) throw new Error(`piece ${JSON.stringify(piece)} is not in the tone vocabulary`);
      const w = (2 * Math.PI * toneFrequency(k)) / sr;
      for (let n = 0; n < toneN; n++) samples[pos + n]! += amp * Math.sin(w * n);
    }
    pos += toneN + gapN;
  }
  return samples;
}
