/**
 * De-duplication of words across a hard cut. Two segments share the overlap
 * [overlapStart, overlapStart + overlap): each side keeps the words that start in its own half,
 * so a word spoken in the overlap is kept once, from the side that heard it whole.
 */
import type { Word } from "../types.ts";
import { DEFAULT_OVERLAP_SECONDS } from "./segmenter.ts";

/**
 * Joins the words of two segments that overlap from `overlapStartSec` (the later segment's
 * start, absolute seconds) for `overlapSec` (default 1 s): drops words of `next` that start
 * before the overlap midpoint and words of `prev` that start at or after it.
 */
export function stitchWords(prev: readonly Word[], next: readonly Word[], overlapStartSec: number, overlapSec = DEFAULT_OVERLAP_SECONDS): Word[] {
  const mid = overlapStartSec + overlapSec / 2;
  return [...prev.filter((w) => w.start < mid), ...next.filter((w) => w.start >= mid)];
}
