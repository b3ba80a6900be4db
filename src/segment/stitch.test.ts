import { describe, expect, test } from "bun:test";
import type { Word } from "../types.ts";
import { stitchWords } from "./stitch.ts";

const w = (word: string, start: number, end = start + 0.3): Word => ({ word, start, end, confidence: 0.9 });

describe("stitchWords", () => {
  test("keeps each word of the overlap once, from the side that holds its start half", () => {
    // hard cut at 20 s, next segment starts at 19 s: overlap [19, 20), midpoint 19.5
    const prev = [w("один", 17.2), w("два", 18.9), w("три", 19.4), w("четы", 19.8, 20)];
    const next = [w("два", 19.0), w("три", 19.44), w("четыре", 19.8), w("пять", 20.6)];
    expect(stitchWords(prev, next, 19).map((x) => x.word)).toEqual(["один", "два", "три", "четыре", "пять"]);
  });

  test("a word starting exactly at the midpoint belongs to the next segment", () => {
    expect(stitchWords([w("а", 19.5)], [w("а", 19.5)], 19).map((x) => [x.word, x.start])).toEqual([["а", 19.5]]);
  });

  test("the overlap length is a parameter", () => {
    const prev = [w("а", 9.1), w("б", 9.3)];
    const next = [w("а", 9.12), w("б", 9.31)];
    expect(stitchWords(prev, next, 9, 0.5).map((x) => [x.word, x.start])).toEqual([
      ["а", 9.1],
      ["б", 9.31],
    ]);
  });

  test("empty sides", () => {
    expect(stitchWords([], [], 19)).toEqual([]);
    expect(stitchWords([w("а", 1)], [], 19).length).toBe(1);
    expect(stitchWords([], [w("б", 19.2), w("в", 21)], 19).map((x) => x.word)).toEqual(["в"]);
  });
});
