import { expect, test } from "bun:test";
import type { Word } from "../types.ts";
import { checkpointDecoder, segmentKey } from "./resume.ts";
import { WorkerShare } from "./share.ts";

const seg = (n: number, v: number) => new Float32Array(n).fill(v);
const word = (w: string, start: number): Word => ({ word: w, start, end: start + 0.1, confidence: 1 }) as unknown as Word;

test("segmentKey names the first sample, the length and the samples", () => {
  expect(segmentKey(seg(160, 0.1), 1)).toBe(segmentKey(seg(160, 0.1), 1));
  expect(segmentKey(seg(160, 0.1), 1)).not.toBe(segmentKey(seg(160, 0.2), 1));
  expect(segmentKey(seg(160, 0.1), 1)).not.toBe(segmentKey(seg(160, 0.1), 2));
  expect(segmentKey(seg(160, 0.1), 1)).toStartWith("16000:160:");
});

test("a committed segment is answered from the checkpoint; a new one is decoded and committed before its words are used", async () => {
  const a = seg(320, 0.3);
  const b = seg(320, 0.4);
  const calls: number[] = [];
  const commits: Array<[string, number]> = [];
  const dec = checkpointDecoder({
    decoder: { decodeSegment: async (_s, off) => (calls.push(off), [word("новое", off)]) },
    share: new WorkerShare(1),
    done: new Map([[segmentKey(a, 0), JSON.stringify([word("старое", 0)])]]),
    commit: (key, words, end) => commits.push([key, end]),
  });
  expect((await dec.decodeSegment(a, 0)).map((w) => w.word)).toEqual(["старое"]);
  expect(calls).toEqual([]);
  expect((await dec.decodeSegment(b, 1)).map((w) => w.word)).toEqual(["новое"]);
  expect(calls).toEqual([1]);
  expect(commits).toEqual([[segmentKey(b, 1), 1 + 320 / 16000]]);
  expect([dec.reused, dec.decoded]).toEqual([1, 1]);
});

test("an aborted decode is never committed", async () => {
  const ctl = new AbortController();
  let committed = 0;
  const dec = checkpointDecoder({
    decoder: { decodeSegment: async () => (ctl.abort(), [word("x", 0)]) },
    share: new WorkerShare(1),
    done: new Map(),
    commit: () => committed++,
  });
  await dec.decodeSegment(seg(160, 0.5), 0, { signal: ctl.signal });
  expect(committed).toBe(0);
});
