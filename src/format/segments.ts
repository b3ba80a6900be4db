/**
 * Group words into subtitle cues: a new cue starts after a pause, after a
 * sentence end, or when the cue would grow past its duration or length limit.
 */
import type { SegmentText, Word } from "../types.ts";

export interface CueLimits {
  /** a gap between words of at least this many seconds ends a cue (default 0.5) */
  pauseSeconds?: number;
  /** longest cue, first word start to last word end (default 7 s) */
  maxSeconds?: number;
  /** longest cue text in characters (default 84: two lines of 42) */
  maxChars?: number;
}

export const CUE_PAUSE_SECONDS = 0.5;
export const CUE_MAX_SECONDS = 7;
export const CUE_MAX_CHARS = 84;

/** float slack for times built from 40 ms frames */
const EPS = 1e-6;
/** a word that ends a sentence: . ? ! … optionally followed by closing quotes/brackets */
const SENTENCE_END = /[.?!…]["'»”’)\]]*$/u;

const chars = (s: string) => [...s].length;

/**
 * Cues from words in time order. Limits hold for every cue except one made
 * of a single word that alone exceeds them.
 */
export function buildSegments(words: readonly Word[], limits: CueLimits = {}): SegmentText[] {
  const pause = limits.pauseSeconds ?? CUE_PAUSE_SECONDS;
  const maxSeconds = limits.maxSeconds ?? CUE_MAX_SECONDS;
  const maxChars = limits.maxChars ?? CUE_MAX_CHARS;
  const cues: SegmentText[] = [];
  let start = 0;
  let end = 0;
  let text = "";
  let last = "";
  for (const w of words) {
    const word = w.word.replace(/\s+/gu, " ").trim();
    if (!word) continue;
    if (text) {
      const split =
        w.start - end >= pause - EPS ||
        SENTENCE_END.test(last) ||
        w.end - start > maxSeconds + EPS ||
        chars(text) + 1 + chars(word) > maxChars;
      if (split) {
        cues.push({ start, end, text });
        text = "";
      }
    }
    if (!text) {
      start = w.start;
      end = w.end;
      text = word;
    } else {
      end = Math.max(end, w.end);
      text += ` ${word}`;
    }
    last = word;
  }
  if (text) cues.push({ start, end, text });
  return cues;
}
