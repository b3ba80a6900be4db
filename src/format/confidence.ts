/** A transcript's overall confidence: the duration-weighted mean of its words' (as Rust's top-level `confidence`). */
import type { Word } from "../types.ts";

/**
 * Mean of `words[].confidence` weighted by each word's duration (a word with no
 * duration counts as 1 ms); null when there are no words. Each word's
 * confidence is the mean probability of its tokens, so this is an average of
 * softmax scores, not a calibrated probability.
 */
export function transcriptConfidence(words: readonly Word[]): number | null {
  let sum = 0;
  let weight = 0;
  for (const w of words) {
    if (!Number.isFinite(w.confidence)) continue;
    const d = Math.max(0.001, w.end - w.start);
    sum += w.confidence * d;
    weight += d;
  }
  return weight > 0 ? sum / weight : null;
}
