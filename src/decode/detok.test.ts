import { describe, expect, test } from "bun:test";
import type { Token } from "../types.ts";
import { roundTime, tokensToWords, wordsToText } from "./detok.ts";
import { Vocab } from "./vocab.ts";

const PIECES = [
  "<unk>", // 0
  "▁привет", // 1
  ",", // 2
  "▁мир", // 3
  ".", // 4
  "?", // 5
  "ствуй", // 6
  "▁", // 7
  "<0xD0>", // 8
  "<0x9F>", // 9
  "<0xD1>", // 10
  "<0x80>", // 11
  "<s>", // 12
  "</s>", // 13
  "<pad>", // 14
  "▁New▁York", // 15
  "<0xFF>", // 16
  "ёж", // 17
];
const vocab = Vocab.parse(`${[...PIECES, "<blk>"].map((p, i) => `${p} ${i}`).join("\n")}\n`);

/** tokens on consecutive frames starting at `frame0`, prob 0.5 unless given */
function toks(ids: number[], frame0 = 0, probs?: number[]): Token[] {
  return ids.map((id, i) => ({ id, frame: frame0 + i, prob: probs?.[i] ?? 0.5 }));
}

describe("tokensToWords", () => {
  test("▁ starts words, punctuation glues, times and confidences", () => {
    const words = tokensToWords(
      [
        { id: 1, frame: 2, prob: 0.9 },
        { id: 2, frame: 3, prob: 0.7 },
        { id: 3, frame: 10, prob: 0.8 },
        { id: 4, frame: 12, prob: 0.6 },
      ],
      vocab,
    );
    expect(words.map((w) => w.word)).toEqual(["привет,", "мир."]);
    expect(words[0]).toMatchObject({ start: 0.08, end: 0.16 });
    expect(words[0]!.confidence).toBeCloseTo(0.8, 12);
    expect(words[1]).toMatchObject({ start: 0.4, end: 0.52 });
    expect(words[1]!.confidence).toBeCloseTo(0.7, 12);
    expect(wordsToText(words)).toBe("привет, мир.");
  });

  test("times are offset and rounded to the microsecond", () => {
    const [w] = tokensToWords(toks([3], 3), vocab, 20.5);
    expect(w!.start).toBe(20.62);
    expect(w!.end).toBe(20.66);
    expect(roundTime(3 * 0.04)).toBe(0.12);
    for (let f = 0; f < 2000; f++) {
      const [x] = tokensToWords(toks([3], f), vocab, 1234.56);
      expect(x!.start).toBe(Number((f * 0.04 + 1234.56).toFixed(6)));
    }
  });

  test("a first piece without ▁ starts a word; later ones glue", () => {
    const words = tokensToWords(toks([6, 5, 1, 6]), vocab);
    expect(words.map((w) => w.word)).toEqual(["ствуй?", "приветствуй"]);
    expect(words[0]).toMatchObject({ start: 0, end: 0.08 });
  });

  test("a bare ▁ piece is a word boundary", () => {
    const words = tokensToWords(toks([1, 7, 17, 7, 4]), vocab);
    expect(words.map((w) => w.word)).toEqual(["привет", "ёж", "."]);
    expect(words[1]).toMatchObject({ start: 0.04, end: 0.12 }); // the ▁ token starts the word
  });

  test("▁ inside a piece splits words", () => {
    expect(wordsToText(tokensToWords(toks([15, 4]), vocab))).toBe("New York.");
  });

  test("control pieces render as nothing and never make words", () => {
    expect(tokensToWords(toks([0, 12, 13, 14, 18]), vocab)).toEqual([]);
    const words = tokensToWords(toks([12, 1, 0, 2, 13]), vocab);
    expect(words.map((w) => w.word)).toEqual(["привет,"]);
    // control tokens do not stretch times or dilute confidence
    expect(words[0]).toMatchObject({ start: 0.04, end: 0.16, confidence: 0.5 });
  });

  test("byte fallback: a Cyrillic letter split over <0xD0><0x9F> decodes", () => {
    const words = tokensToWords(toks([7, 8, 9, 6, 3]), vocab);
    expect(words.map((w) => w.word)).toEqual(["Пствуй", "мир"]);
    expect(wordsToText(tokensToWords(toks([1, 10, 11]), vocab))).toBe("приветр");
    // a byte run as the very first piece starts a word
    expect(wordsToText(tokensToWords(toks([8, 9, 2]), vocab))).toBe("П,");
    // control pieces inside a byte run do not break it
    expect(wordsToText(tokensToWords(toks([8, 0, 9]), vocab))).toBe("П");
  });

  test("invalid byte sequences become U+FFFD, never throw", () => {
    expect(wordsToText(tokensToWords(toks([1, 16]), vocab))).toBe("привет\uFFFD");
    expect(wordsToText(tokensToWords(toks([8, 3]), vocab))).toBe("\uFFFD мир"); // truncated sequence before a new word
    expect(wordsToText(tokensToWords(toks([9, 9]), vocab))).toBe("\uFFFD\uFFFD");
  });

  test("empty input gives no words and empty text", () => {
    expect(tokensToWords([], vocab)).toEqual([]);
    expect(wordsToText([])).toBe("");
  });
});
