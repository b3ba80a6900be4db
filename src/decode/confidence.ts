/**
 * One confidence for a run of words (a WebSocket/SSE result, a transcript): the mean of the
 * words' confidences (each the mean probability of its tokens, see detok.ts) weighted by the
 * words' durations, so a long word counts more than a one-frame particle; a plain mean when
 * every word lasts zero seconds; undefined for no words. It is an average of the decoder's
 * softmax scores, not a calibrated probability that the text is right (the Rust server's
 * definition of `confidence`).
 */
import type { Word } from "../types.ts";

export function wordsConfidence(words: readonly Pick<Word, "start" | "end" | "confidence">[]): number | undefined {
  if (words.length === 0) return undefined;
  let weighted = 0;
  let weight = 0;
  let plain = 0;
  for (const w of words) {
    const c = Number.isFinite(w.confidence) ? w.confidence : 0;
    const d = Math.max(0, w.end - w.start);
    weighted += c * d;
    weight += d;
    plain += c;
  }
  return weight > 0 ? weighted / weight : plain / words.length;
}
