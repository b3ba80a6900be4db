import { describe, expect, test } from "bun:test";
import { ContextBias, PieceSplitter, variants } from "./bias.ts";
import { type RnntStep, greedyDecode } from "./greedy.ts";
import { Vocab } from "./vocab.ts";

const BLANK = 9;
const V = 10;

function bias(seqs: number[][], boost = 5, weights?: number[]): ContextBias {
  const b = ContextBias.fromSequences(
    seqs.map((ids, i) => ({ ids, weight: weights?.[i] ?? 1 })),
    boost,
    BLANK,
  );
  if (!b) throw new Error("no sequence compiled");
  return b;
}

/** candidate tokens of a state, sorted */
function cands(b: ContextBias, state: number): number[] {
  return [...b.candidates(state).keys()].sort((x, y) => x - y);
}

describe("ContextBias: prefix tree and state", () => {
  test("at the root every hotword's first piece is a candidate, nothing else", () => {
    const b = bias([[1, 2], [3]]);
    expect(cands(b, b.root)).toEqual([1, 3]);
    expect(b.candidates(b.root).get(1)).toBe(5);
  });

  test("a live path adds its continuation; a piece off the path falls back to the root", () => {
    const b = bias([[1, 2, 3]]);
    const s1 = b.advance(b.root, 1);
    expect(cands(b, s1)).toEqual([1, 2]); // continuation 2, and a fresh start 1
    const s2 = b.advance(s1, 2);
    expect(cands(b, s2)).toEqual([1, 3]);
    const broken = b.advance(s2, 7);
    expect(broken).toBe(b.root);
    expect(cands(b, broken)).toEqual([1]); // 2 and 3 no longer boosted
  });

  test("shared prefixes keep both branches; a broken path falls back to the longest suffix that is a prefix", () => {
    const b = bias([[1, 2], [1, 3], [2, 4]]);
    const s1 = b.advance(b.root, 1);
    expect(cands(b, s1)).toEqual([1, 2, 3]);
    const s12 = b.advance(s1, 2); // "1 2" completes [1,2] and is the prefix "2" of [2,4]
    expect(cands(b, s12)).toEqual([1, 2, 4]);
    expect(b.advance(s12, 4)).not.toBe(b.root);
  });

  test("a phrase weight scales its boost; the boost of a shared prefix is the largest", () => {
    const b = bias([[1, 2], [1, 3]], 4, [0.5, 2]);
    expect(b.candidates(b.root).get(1)).toBe(8);
    const s1 = b.advance(b.root, 1);
    expect(b.candidates(s1).get(2)).toBe(2);
    expect(b.candidates(s1).get(3)).toBe(8);
  });

  test("blank is never boosted: a sequence holding the blank id is refused", () => {
    expect(ContextBias.fromSequences([{ ids: [BLANK], weight: 1 }], 5, BLANK)).toBeNull();
    expect(ContextBias.fromSequences([], 5, BLANK)).toBeNull();
    const b = bias([[1, BLANK], [2]]);
    expect(cands(b, b.root)).toEqual([2]);
  });

  test("pick: the argmax piece unless a candidate beats it with its boost (strictly)", () => {
    const b = bias([[2]], 1);
    const row = new Float32Array([-5, -0.9, -1.9, -9, -9, -9, -9, -9, -9, -1]);
    expect(b.pick(row, 0, V, BLANK, b.root)).toBe(1); // -1.9 + 1 = -0.9 ties piece 1: the argmax stays
    row[2] = -1.8;
    expect(b.pick(row, 0, V, BLANK, b.root)).toBe(2);
  });

  test("pick: a row the model calls blank stays blank at any boost", () => {
    const b = bias([[2]], 20);
    const row = new Float32Array([-5, -3, -1.5, -9, -9, -9, -9, -9, -9, -0.4]);
    expect(b.pick(row, 0, V, BLANK, b.root)).toBe(BLANK);
    expect(b.pick(row, 0, V, BLANK, b.advance(b.root, 2))).toBe(BLANK);
  });
});

describe("PieceSplitter", () => {
  const vocab = Vocab.parse(
    ["▁при 0", "▁привет 1", "вет 2", "▁мир 3", "и 4", "▁Сбер 5", "банк 6", "<0xD0> 7", "<0xAF> 8", "▁ 9", "▁сбер 10", "<blk> 11"].join("\n"),
  );
  const s = new PieceSplitter(vocab);

  test("greedy longest match, a ▁ word start per word", () => {
    expect(s.split("привет мир")).toEqual([1, 3]);
    expect(s.split("Сбербанк")).toEqual([5, 6]);
    expect(s.split("сбербанк")).toEqual([10, 6]);
  });

  test("a character no piece covers uses the byte pieces; without them the phrase is not representable", () => {
    expect(s.split("мирЯ")).toEqual([3, 7, 8]); // Я = D0 AF
    expect(s.split("мирЖ")).toBeNull(); // Ж = D0 96: no <0x96>
  });

  test("variants: the phrase and its capitalised form", () => {
    expect(variants("сбербанк")).toEqual(["сбербанк", "Сбербанк"]);
    expect(variants("Сбербанк")).toEqual(["Сбербанк"]);
    expect(variants("123")).toEqual(["123"]);
  });

  test("compile: both variants, unrepresentable phrases reported", () => {
    const b = ContextBias.compile({ phrases: [{ text: "сбербанк", weight: 1 }, { text: "Жук", weight: 1 }], boost: 5 }, vocab);
    expect(b).not.toBeNull();
    expect(b!.sequences).toBe(2);
    expect(b!.dropped).toEqual(["Жук"]);
    expect(cands(b!, b!.root)).toEqual([5, 10]);
  });
});

/**
 * A fake transducer: the decoder output is the last emitted token (−1 at the start), and
 * `row(frame, last)` scripts each joint row as log-probabilities.
 */
function fakeStep(row: (frame: number, last: number) => number[]): RnntStep {
  return {
    blankId: BLANK,
    vocabSize: V,
    encDim: 1,
    decDim: 1,
    initialState: () => ({ h: new Float32Array([-1]), c: new Float32Array([0]) }),
    async decode(token, state) {
      const last = token === BLANK ? state.h[0]! : token;
      return { out: new Float32Array([last]), state: { h: new Float32Array([last]), c: new Float32Array([0]) } };
    },
    async joint(enc, count, dec) {
      const out = new Float32Array(count * V);
      for (let i = 0; i < count; i++) out.set(row(enc[i]!, dec[0]!), i * V);
      return out;
    },
  };
}

function frames(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, t) => t);
}

/** a row: blank at `blank`, every other class very unlikely, then the given overrides */
function rowOf(over: Record<number, number>, blank = -0.01): number[] {
  const r = new Array<number>(V).fill(-20);
  r[BLANK] = blank;
  for (const [k, v] of Object.entries(over)) r[Number(k)] = v;
  return r;
}

async function ids(step: RnntStep, n: number, b: ContextBias | null): Promise<number[]> {
  return (await greedyDecode(step, frames(n), n, { bias: b })).map((t) => t.id);
}

describe("greedyDecode with hotwords", () => {
  // frame 3: piece 1 clearly; frame 6: the ambiguous row (4 a little above 5); frame 9: piece 2
  const script = (f: number, last: number): number[] => {
    if (f === 3 && last !== 1) return rowOf({ 1: -0.1 }, -4);
    if (f === 6 && last === 1) return rowOf({ 4: -1.0, 5: -1.3 }, -3);
    if (f === 9 && last !== 2) return rowOf({ 2: -0.1 }, -4);
    return rowOf({});
  };

  test("an ambiguous row decodes to A without hotwords and to the hotword's piece B with them", async () => {
    expect(await ids(fakeStep(script), 12, null)).toEqual([1, 4, 2]);
    expect(await ids(fakeStep(script), 12, bias([[5]]))).toEqual([1, 5, 2]);
  });

  test("the emitted token reports the model's own probability, not the boosted one", async () => {
    const tokens = await greedyDecode(fakeStep(script), frames(12), 12, { bias: bias([[5]]) });
    expect(tokens[1]!.prob).toBeCloseTo(Math.exp(-1.3), 5);
  });

  test("a continuation is boosted only on a live path", async () => {
    // hotword [1, 5]: after 1 the row at frame 6 prefers 5
    expect(await ids(fakeStep(script), 12, bias([[1, 5]]))).toEqual([1, 5, 2]);
    // hotword [7, 5]: 1 is not its start, so 5 is not a continuation here
    expect(await ids(fakeStep(script), 12, bias([[7, 5]]))).toEqual([1, 4, 2]);
  });

  test("a half-matched hotword leaves no bias: after the path breaks the ambiguous row is decided as without hotwords", async () => {
    // hotword [1, 3, 5]: 1 matches, then 8 breaks the path, then the row where 5 would have been its continuation
    const broken = (f: number, last: number): number[] => {
      if (f === 3 && last !== 1) return rowOf({ 1: -0.1 }, -4);
      if (f === 4 && last === 1) return rowOf({ 8: -0.1 }, -4);
      if (f === 6 && last === 8) return rowOf({ 4: -1.0, 5: -1.3 }, -3);
      return rowOf({});
    };
    const live = (f: number, last: number): number[] => {
      if (f === 3 && last !== 1) return rowOf({ 1: -0.1 }, -4);
      if (f === 4 && last === 1) return rowOf({ 3: -0.1 }, -4);
      if (f === 6 && last === 3) return rowOf({ 4: -1.0, 5: -1.3 }, -3);
      return rowOf({});
    };
    const hw = bias([[1, 3, 5]]);
    expect(await ids(fakeStep(broken), 10, null)).toEqual([1, 8, 4]);
    expect(await ids(fakeStep(broken), 10, hw)).toEqual([1, 8, 4]);
    expect(await ids(fakeStep(live), 10, hw)).toEqual([1, 3, 5]);
  });

  test("the boost never inserts a hotword into silence (blank ≈ 1, pieces ≈ e^-20)", async () => {
    const silent = fakeStep(() => rowOf({}));
    expect(await ids(silent, 200, bias([[1], [2, 3], [5]], 5))).toEqual([]);
  });

  test("a hotword start is not repeated on the frame where it was just emitted", async () => {
    // frame 2 emits 1; on the same frame the model then says blank with 1 at -3 (1 + 5 would beat blank)
    const step = fakeStep((f, last) => (f === 2 ? (last === 1 ? rowOf({ 1: -3 }, -0.1) : rowOf({ 1: -0.1 }, -4)) : rowOf({})));
    expect(await ids(step, 6, bias([[1]]))).toEqual([1]);
  });

  test("batched and frame-by-frame decoding agree with hotwords", async () => {
    const hw = bias([[1, 5], [2]]);
    const a = await greedyDecode(fakeStep(script), frames(40), 40, { bias: hw });
    const b = await greedyDecode(fakeStep(script), frames(40), 40, { bias: hw, maxBlock: 1 });
    expect(a).toEqual(b);
  });
});
