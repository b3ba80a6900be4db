import { describe, expect, test } from "bun:test";
import { wordsConfidence } from "./confidence.ts";

const w = (start: number, end: number, confidence: number) => ({ start, end, confidence });

describe("wordsConfidence", () => {
  test("duration-weighted mean of the word confidences", () => {
    // 0.2 s at 0.5 and 0.6 s at 0.9: (0.1 + 0.54) / 0.8
    expect(wordsConfidence([w(0, 0.2, 0.5), w(0.3, 0.9, 0.9)])).toBeCloseTo(0.8, 12);
  });

  test("a plain mean when every word lasts zero seconds; undefined for no words", () => {
    expect(wordsConfidence([w(1, 1, 0.2), w(2, 2, 0.6)])).toBeCloseTo(0.4, 12);
    expect(wordsConfidence([])).toBeUndefined();
  });

  test("a zero-length word among others adds no weight; a NaN confidence counts as 0", () => {
    expect(wordsConfidence([w(0, 0.4, 0.75), w(0.4, 0.4, 0.1)])).toBeCloseTo(0.75, 12);
    expect(wordsConfidence([w(0, 0.5, Number.NaN), w(0.5, 1, 1)])).toBeCloseTo(0.5, 12);
  });
});
