import { describe, expect, test } from "bun:test";
import { GigasttError } from "../errors.ts";
import type { Token } from "../types.ts";
import { type DecoderState, type RnntStep, greedyDecode } from "./greedy.ts";

/** deterministic 32-bit mixing → [0, 1) */
function hash01(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 0) / 2 ** 32;
}

interface Calls {
  decode: { token: number; state: DecoderState; returned: DecoderState }[];
  joint: { count: number; enc: Float32Array }[];
}

/**
 * A scripted transducer. The decoder output encodes the token history as an integer (exact in
 * float32); `logits(frame, history, emittedSoFar)` decides each joint row. Encoder frame t holds
 * the value t in channel 0.
 */
function scripted(
  V: number,
  blankId: number,
  logits: (frame: number, history: number, emitted: number) => Float32Array,
): { step: RnntStep; calls: Calls } {
  const calls: Calls = { decode: [], joint: [] };
  const step: RnntStep = {
    blankId,
    vocabSize: V,
    encDim: 2,
    decDim: 2,
    initialState: () => ({ h: new Float32Array([0]), c: new Float32Array([0]) }),
    async decode(token, state) {
      const history = Math.floor(hash01(state.h[0]!, token) * 2 ** 23);
      // c counts decoder calls: the output made after n emitted tokens carries n
      const returned = { h: new Float32Array([history]), c: new Float32Array([state.c[0]! + 1]) };
      calls.decode.push({ token, state, returned });
      return { out: new Float32Array([history, state.c[0]!]), state: returned };
    },
    async joint(enc, count, dec) {
      calls.joint.push({ count, enc });
      const out = new Float32Array(count * V);
      for (let i = 0; i < count; i++) out.set(logits(enc[i * 2]!, dec[0]!, dec[1]!), i * V);
      return out;
    },
  };
  return { step, calls };
}

function encFrames(n: number): Float32Array {
  const e = new Float32Array(n * 2);
  for (let t = 0; t < n; t++) {
    e[t * 2] = t;
    e[t * 2 + 1] = -t;
  }
  return e;
}

/** log-softmax of a score vector (so exp(row) are probabilities) */
function logSoftmax(s: number[]): Float32Array {
  const m = Math.max(...s);
  const z = Math.log(s.reduce((a, v) => a + Math.exp(v - m), 0)) + m;
  return Float32Array.from(s.map((v) => v - z));
}

/** The textbook frame-by-frame loop of docs/MODEL.md §4.1, one joint call per frame. */
async function reference(step: RnntStep, enc: Float32Array, frames: number, cap = 3): Promise<Token[]> {
  const out: Token[] = [];
  if (frames === 0) return out;
  let g = await step.decode(step.blankId, step.initialState());
  for (let t = 0; t < frames; t++) {
    for (let emitted = 0; emitted < cap; ) {
      const logp = await step.joint(enc.slice(t * step.encDim, (t + 1) * step.encDim), 1, g.out);
      let k = 0;
      for (let i = 1; i < step.vocabSize; i++) if (logp[i]! > logp[k]!) k = i;
      if (k === step.blankId) break;
      out.push({ id: k, frame: t, prob: Math.exp(logp[k]!) });
      g = await step.decode(k, g.state);
      emitted++;
    }
  }
  return out;
}

describe("greedyDecode", () => {
  test("a frame that would emit 5 symbols emits 3, then decoding moves on", async () => {
    // frame 2 always says token 1 (never blank); every other frame says blank
    const { step, calls } = scripted(4, 3, (frame) => logSoftmax(frame === 2 ? [0, 5, 0, 0] : [0, 0, 0, 5]));
    const tokens = await greedyDecode(step, encFrames(6), 6);
    expect(tokens.map((t) => [t.id, t.frame])).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    expect(calls.decode.length).toBe(4);
    const capped = await greedyDecode(scripted(4, 3, (f) => logSoftmax(f === 2 ? [0, 5, 0, 0] : [0, 0, 0, 5])).step, encFrames(6), 6, {
      maxSymbolsPerFrame: 5,
    });
    expect(capped.length).toBe(5);
  });

  test("decoder output is cached across blank frames: one decode per token + 1", async () => {
    // the n-th emission is scheduled on frame emitAt[n]; every other row is blank
    const emitAt = [10, 50, 51, 51, 99];
    const { step, calls } = scripted(5, 4, (frame, _h, n) => logSoftmax(emitAt[n] === frame ? [0, 0, 3, 0, 1] : [0, 0, 0, 0, 1]));
    const tokens = await greedyDecode(step, encFrames(100), 100);
    expect(tokens.map((t) => t.frame)).toEqual(emitAt);
    expect(tokens.every((t) => t.id === 2)).toBe(true);
    expect(calls.decode.length).toBe(tokens.length + 1);
    expect(calls.decode[0]!.token).toBe(4); // start symbol = blank
    // batched: far fewer joint calls than the 100 frames + 5 re-checks of the reference loop
    expect(calls.joint.length).toBeLessThan(20);
  });

  test("state passed to the decoder is the one returned by the call that produced the cached output", async () => {
    const { step, calls } = scripted(6, 0, (frame, history) => logSoftmax([1, ...[1, 2, 3, 4, 5].map((k) => (hash01(frame, history, k) < 0.3 ? 3 : 0))]));
    const init = step.initialState();
    step.initialState = () => init;
    const tokens = await greedyDecode(step, encFrames(40), 40);
    expect(tokens.length).toBeGreaterThan(3);
    expect(calls.decode[0]!.state).toBe(init);
    for (let i = 1; i < calls.decode.length; i++) {
      expect(calls.decode[i]!.state).toBe(calls.decode[i - 1]!.returned);
      expect(calls.decode[i]!.token).toBe(tokens[i - 1]!.id);
    }
  });

  test("argmax ties: the first maximum wins", async () => {
    // blank last: tie between token 0 and blank → token 0 (once; then blank wins)
    let first = true;
    const a = scripted(3, 2, () => {
      const r = first ? [2, 1, 2] : [0, 0, 2];
      first = false;
      return Float32Array.from(r);
    });
    expect((await greedyDecode(a.step, encFrames(1), 1, { maxBlock: 1 })).map((t) => t.id)).toEqual([0]);
    // blank first: tie between blank and token 2 → blank
    const b = scripted(3, 0, () => Float32Array.from([2, 1, 2]));
    expect(await greedyDecode(b.step, encFrames(5), 5)).toEqual([]);
    // tie between two tokens → the lower id
    const c = scripted(6, 5, (frame, history) => Float32Array.from(history === 0 || frame !== 0 ? [0, 0, 0, 0, 0, 9] : [0, 3, 0, 3, 0, 1]));
    c.step.initialState = () => ({ h: new Float32Array([7]), c: new Float32Array([0]) });
    const tokensC = await greedyDecode(c.step, encFrames(2), 2, { maxSymbolsPerFrame: 1 });
    expect(tokensC.map((t) => t.id)).toEqual([1]);
  });

  test("token prob is exp(logp) of the chosen class", async () => {
    let calls = 0;
    const { step } = scripted(3, 2, () => logSoftmax(calls++ === 0 ? [0, 2, 1] : [0, 0, 5]));
    const [tok] = await greedyDecode(step, encFrames(1), 1, { maxBlock: 1 });
    const expected = Math.exp(2) / (1 + Math.exp(2) + Math.exp(1));
    expect(tok!.prob).toBeCloseTo(expected, 6);
  });

  test("empty output and zero frames", async () => {
    const { step, calls } = scripted(4, 3, () => logSoftmax([0, 0, 0, 4]));
    expect(await greedyDecode(step, encFrames(300), 300)).toEqual([]);
    expect(calls.decode.length).toBe(1);
    // blocks grow 8, 16, 32, 64, 64, … → 300 frames in 8 calls
    expect(calls.joint.map((c) => c.count)).toEqual([8, 16, 32, 64, 64, 64, 52]);
    const z = scripted(4, 3, () => logSoftmax([0, 0, 0, 4]));
    expect(await greedyDecode(z.step, new Float32Array(0), 0)).toEqual([]);
    expect(z.calls.decode.length + z.calls.joint.length).toBe(0);
  });

  test("the joint sees views of the encoder buffer, never copies", async () => {
    const { step, calls } = scripted(4, 3, (f) => logSoftmax(f % 7 === 3 ? [5, 0, 0, 0] : [0, 0, 0, 4]));
    const enc = encFrames(50);
    await greedyDecode(step, enc, 50);
    for (const c of calls.joint) {
      expect(c.enc.buffer).toBe(enc.buffer);
      expect(c.enc.length).toBe(c.count * 2);
    }
  });

  test("batched decoding yields exactly the frame-by-frame token sequence (random scripts)", async () => {
    let batchedJoint = 0;
    let referenceJoint = 0;
    for (let seed = 0; seed < 300; seed++) {
      const V = 2 + Math.floor(hash01(seed, 1) * 12);
      const blankId = hash01(seed, 2) < 0.5 ? V - 1 : Math.floor(hash01(seed, 3) * V);
      const frames = Math.floor(hash01(seed, 4) * 160);
      const pEmit = [0.02, 0.1, 0.3, 0.6, 0.95][seed % 5]!;
      const levels = seed % 3 === 0 ? 3 : 1000; // few levels → many ties
      const logits = (frame: number, history: number): Float32Array => {
        const s = Array.from({ length: V }, (_, k) => Math.floor(hash01(seed, frame, history, k) * levels));
        s[blankId] = hash01(seed, frame, history) < pEmit ? -1 : levels + 1;
        return Float32Array.from(s);
      };
      const cap = 1 + (seed % 4);
      const a = scripted(V, blankId, logits);
      const b = scripted(V, blankId, logits);
      const enc = encFrames(frames);
      const got = await greedyDecode(a.step, enc, frames, { maxSymbolsPerFrame: cap });
      const want = await reference(b.step, enc, frames, cap);
      expect(got).toEqual(want);
      expect(a.calls.decode.length).toBe(b.calls.decode.length);
      // unbatched path of the same function agrees too
      const c = scripted(V, blankId, logits);
      expect(await greedyDecode(c.step, enc, frames, { maxSymbolsPerFrame: cap, maxBlock: 1 })).toEqual(want);
      // never more joint calls than the frame-by-frame loop
      expect(a.calls.joint.length).toBeLessThanOrEqual(b.calls.joint.length);
      if (pEmit <= 0.1) {
        batchedJoint += a.calls.joint.length;
        referenceJoint += b.calls.joint.length;
      }
    }
    // sparse emissions (speech-like blank runs): several times fewer joint calls
    expect(batchedJoint).toBeLessThan(referenceJoint / 4);
  });

  test("malformed inputs give typed errors", async () => {
    const { step } = scripted(4, 3, () => logSoftmax([0, 0, 0, 4]));
    const err = await greedyDecode(step, new Float32Array(10), 6).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GigasttError);
    expect((err as GigasttError).code).toBe("inference_error");
    const short = { ...step, joint: async () => new Float32Array(3) };
    expect(((await greedyDecode(short, encFrames(4), 4).catch((e: unknown) => e)) as GigasttError).code).toBe("inference_error");
  });
});
