/** A transcript's overall confidence: the duration-weighted mean of its words' (as Rust's top-level `confidence`). */
import { wordsConfidence } from "../decode/confidence.ts";
import type { Word } from "../types.ts";

/**
 * Mean of `words[].confidence` weighted by each word's duration (a plain mean when no word has a
 * duration); null when there are no words. The one definition is decode/confidence.ts, so REST,
 * SSE and the WebSocket results agree. Each word's confidence is the mean probability of its
 * tokens, so this is an average of softmax scores, not a calibrated probability.
 */
export function transcriptConfidence(words: readonly Word[]): number | null {
  return wordsConfidence(words) ?? null;
}
