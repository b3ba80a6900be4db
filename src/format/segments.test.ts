import { describe, expect, test } from "bun:test";
import { lay, randomWords } from "../../test/helpers/words.ts";
import { buildCues, buildSegments } from "./segments.ts";

describe("buildSegments", () => {
  test("splits at pauses of 0.5 s or more, not at shorter ones", () => {
    const words = lay([
      ["раз", 0.2],
      ["два", 0.2, 0.48],
      ["три", 0.2, 0.5],
      ["четыре", 0.3, 0.12],
    ]);
    expect(buildSegments(words).map((s) => s.text)).toEqual(["раз два", "три четыре"]);
  });

  test("splits after sentence ends (. ? ! …) even without a pause", () => {
    const words = lay([
      ["Привет.", 0.3],
      ["Как", 0.2],
      ["дела?", 0.3],
      ["Отлично!", 0.4],
      ["Ну…", 0.2],
      ["«да.»", 0.2],
      ["нет", 0.2],
      ["т,", 0.1],
      ["к", 0.1],
    ]);
    expect(buildSegments(words).map((s) => s.text)).toEqual(["Привет.", "Как дела?", "Отлично!", "Ну…", "«да.»", "нет т, к"]);
  });

  test("cue times are the first word's start and the last word's end", () => {
    const words = lay([
      ["а", 0.2, 1],
      ["б", 0.2],
      ["в", 0.2, 2],
    ]);
    const segs = buildSegments(words);
    expect(segs).toEqual([
      { start: words[0]!.start, end: words[1]!.end, text: "а б" },
      { start: words[2]!.start, end: words[2]!.end, text: "в" },
    ]);
  });

  test("continuous speech is cut into cues of at most 7 s, 80 characters and 14 words", () => {
    const long = lay(Array.from({ length: 200 }, (_, i): [string, number] => [i % 3 ? "слово" : "ещё", 0.2]));
    const segs = buildSegments(long);
    expect(segs.length).toBeGreaterThan(5);
    for (const s of segs) {
      expect(s.end - s.start).toBeLessThanOrEqual(7 + 1e-9);
      expect([...s.text].length).toBeLessThanOrEqual(80);
      expect(s.text.split(" ").length).toBeLessThanOrEqual(14);
    }
    // nothing lost, order kept
    expect(segs.map((s) => s.text).join(" ")).toBe(long.map((w) => w.word).join(" "));
  });

  test("limits hold on random speech; every word appears exactly once, in order", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const words = randomWords(seed, 300);
      const segs = buildSegments(words);
      for (const s of segs) {
        expect(s.end - s.start).toBeLessThanOrEqual(7 + 1e-9);
        expect([...s.text].length).toBeLessThanOrEqual(80);
        expect(s.text.split(" ").length).toBeLessThanOrEqual(14);
        expect(s.end).toBeGreaterThan(s.start);
      }
      for (let i = 1; i < segs.length; i++) expect(segs[i]!.start).toBeGreaterThanOrEqual(segs[i - 1]!.end);
      expect(segs.map((s) => s.text).join(" ")).toBe(words.map((w) => w.word).join(" "));
    }
  });

  test("a single over-long word stays whole in its own cue; blank words are skipped", () => {
    const giant = "а".repeat(100);
    const segs = buildSegments(lay([["до", 0.2], [giant, 8], ["  ", 0.1], ["после", 0.2]]));
    expect(segs.map((s) => s.text)).toEqual(["до", giant, "после"]);
    expect(buildSegments([])).toEqual([]);
  });

  test("limits are configurable", () => {
    const words = lay(Array.from({ length: 10 }, (): [string, number] => ["ab", 0.2]));
    expect(buildSegments(words, { maxChars: 5 }).map((s) => s.text)).toEqual(Array(5).fill("ab ab"));
    expect(buildSegments(words, { maxWords: 3 }).map((s) => s.text)).toEqual(["ab ab ab", "ab ab ab", "ab ab ab", "ab"]);
  });

  test("0 means no limit for characters and words; pauses, sentence ends and 7 s still cut", () => {
    const words = lay(Array.from({ length: 25 }, (): [string, number] => ["слово", 0.2]));
    expect(buildSegments(words, { maxChars: 0, maxWords: 0 }).length).toBe(1);
    const long = lay(Array.from({ length: 60 }, (): [string, number] => ["да", 0.2]));
    expect(buildSegments(long, { maxChars: 0, maxWords: 0 }).length).toBeGreaterThan(1);
  });

  test("buildCues keeps each cue's words, in order, blanks left out", () => {
    const words = lay([["раз", 0.2], [" ", 0.1], ["два.", 0.2], ["три", 0.2]]);
    expect(buildCues(words).map((c) => c.words.map((w) => w.word))).toEqual([["раз", "два."], ["три"]]);
  });
});
