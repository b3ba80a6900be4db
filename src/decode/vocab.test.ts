import { describe, expect, test } from "bun:test";
import { GigasttError } from "../errors.ts";
import { PieceKind, Vocab } from "./vocab.ts";

function errorOf(fn: () => unknown): GigasttError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GigasttError) return e;
    throw e;
  }
  throw new Error("expected a GigasttError");
}

describe("Vocab.parse", () => {
  test("space- or tab-separated lines, punctuation pieces, blank = id of <blk>", () => {
    const v = Vocab.parse("<unk> 0\n▁привет\t1\n, 2\n. 3\n? 4\n<blk> 5\n");
    expect(v.size).toBe(6);
    expect(v.blankId).toBe(5);
    expect([0, 1, 2, 3, 4, 5].map((i) => v.piece(i))).toEqual(["<unk>", "▁привет", ",", ".", "?", "<blk>"]);
  });

  test("tolerates CRLF, a BOM, a missing final newline and blank lines", () => {
    const v = Vocab.parse("\uFEFF▁а 0\r\n\r\nб 1\r\n<blk> 2");
    expect(v.size).toBe(3);
    expect(v.piece(0)).toBe("▁а");
    expect(v.piece(1)).toBe("б");
    expect(v.blankId).toBe(2);
  });

  test("blank need not be last", () => {
    expect(Vocab.parse("<blk> 0\n▁а 1\n").blankId).toBe(0);
  });

  test("classifies control and byte-fallback pieces", () => {
    const v = Vocab.parse("<unk> 0\n<s> 1\n</s> 2\n<pad> 3\n<0xD0> 4\n<0x9f> 5\n<foo> 6\n▁а 7\n<blk> 8\n");
    expect([0, 1, 2, 3, 8].map((i) => v.kind(i))).toEqual(Array(5).fill(PieceKind.control));
    expect(v.kind(4)).toBe(PieceKind.byte);
    expect(v.byteValue(4)).toBe(0xd0);
    expect(v.byteValue(5)).toBe(0x9f);
    expect(v.kind(6)).toBe(PieceKind.text); // unknown <…> pieces render literally
    expect(v.kind(7)).toBe(PieceKind.text);
    expect(v.byteValue(7)).toBe(-1);
  });

  test("ids out of order or with gaps are rejected, naming the line", () => {
    const gap = errorOf(() => Vocab.parse("▁а 0\n▁б 2\n<blk> 3\n"));
    expect(gap.code).toBe("model_invalid");
    expect(gap.message).toContain("line 2");
    const dup = errorOf(() => Vocab.parse("▁а 0\n▁б 0\n<blk> 1\n"));
    expect(dup.message).toContain("line 2");
    const start = errorOf(() => Vocab.parse("▁а 1\n<blk> 2\n"));
    expect(start.message).toContain("line 1");
  });

  test("malformed lines are rejected, naming the line", () => {
    for (const [text, line] of [
      ["▁а 0\nб\n<blk> 2\n", 2],
      ["▁а 0\n5\n<blk> 2\n", 2],
      ["▁а 0\n<blk> x\n", 2],
      ["▁а 0\r\n\r\n б -1\r\n", 3],
    ] as const) {
      const e = errorOf(() => Vocab.parse(text));
      expect(e.code).toBe("model_invalid");
      expect(e.message).toContain(`line ${line}`);
    }
  });

  test("missing or duplicate <blk> and empty files are model_invalid", () => {
    expect(errorOf(() => Vocab.parse("▁а 0\n▁б 1\n")).message).toContain("<blk>");
    expect(errorOf(() => Vocab.parse("<blk> 0\n<blk> 1\n")).message).toContain("second <blk>");
    expect(errorOf(() => Vocab.parse("")).code).toBe("model_invalid");
    expect(errorOf(() => Vocab.parse("\uFEFF\r\n")).code).toBe("model_invalid");
  });

  test("piece ids outside the vocabulary are model_invalid", () => {
    const v = Vocab.parse("▁а 0\n<blk> 1\n");
    expect(errorOf(() => v.piece(2)).code).toBe("model_invalid");
    expect(errorOf(() => v.kind(-1)).code).toBe("model_invalid");
  });
});
