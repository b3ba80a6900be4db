/**
 * Group words into subtitle cues: a new cue starts after a pause, after a
 * sentence end, or when the cue would grow past its duration, character or
 * word limit (`max_chars_per_line` / `max_words_per_line`, Rust's 80 / 14 by
 * default, 0 = no limit).
 */
import type { SegmentText, Word } from "../types.ts";

export interface CueLimits {
  /** a gap between words of at least this many seconds ends a cue (default 0.5) */
  pauseSeconds?: number;
  /** longest cue, first word start to last word end (default 7 s) */
  maxSeconds?: number;
  /** longest cue text in characters (default 80; 0 = no limit) */
  maxChars?: number;
  /** most words in a cue (default 14; 0 = no limit) */
  maxWords?: number;
}

export const CUE_PAUSE_SECONDS = 0.5;
export const CUE_MAX_SECONDS = 7;
export const CUE_MAX_CHARS = 80;
export const CUE_MAX_WORDS = 14;

/** float slack for times built from 40 ms frames */
const EPS = 1e-6;
/** a word that ends a sentence: . ? ! … optionally followed by closing quotes/brackets */
const SENTENCE_END = /[.?!…]["'»”’)\]]*$/u;

const chars = (s: string) => [...s].length;

/** A cue and the words it was made of. */
export interface Cue {
  readonly segment: SegmentText;
  readonly words: readonly Word[];
}

/**
 * Cues from words in time order. Limits hold for every cue except one made
 * of a single word that alone exceeds them.
 */
export function buildSegments(words: readonly Word[], limits: CueLimits = {}): SegmentText[] {
  return buildCues(words, limits).map((c) => c.segment);
}

/** {@link buildSegments} with each cue's words (blank words are left out). */
export function buildCues(words: readonly Word[], limits: CueLimits = {}): Cue[] {
  const pause = limits.pauseSeconds ?? CUE_PAUSE_SECONDS;
  const maxSeconds = limits.maxSeconds ?? CUE_MAX_SECONDS;
  const maxChars = limits.maxChars ?? CUE_MAX_CHARS;
  const maxWords = limits.maxWords ?? CUE_MAX_WORDS;
  const cues: Cue[] = [];
  let start = 0;
  let end = 0;
  let text = "";
  let last = "";
  let members: Word[] = [];
  for (const w of words) {
    const word = w.word.replace(/\s+/gu, " ").trim();
    if (!word) continue;
    if (text) {
      const split =
        w.start - end >= pause - EPS ||
        SENTENCE_END.test(last) ||
        w.end - start > maxSeconds + EPS ||
        (maxChars > 0 && chars(text) + 1 + chars(word) > maxChars) ||
        (maxWords > 0 && members.length + 1 > maxWords);
      if (split) {
        cues.push({ segment: { start, end, text }, words: members });
        text = "";
        members = [];
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
    members.push(w);
    last = word;
  }
  if (text) cues.push({ segment: { start, end, text }, words: members });
  return cues;
}
