/**
 * Greedy RNN-T decoding over the `RnntStep` seam (docs/MODEL.md §4.1), with the joint batched over
 * runs of frames that share one decoder output (docs/MODEL.md §4.2).
 *
 * Reference loop: start token = blank with zero state, decoder run once; for each frame t:
 * joint → argmax (first max wins); blank → next frame, state and cached decoder output untouched;
 * non-blank → emit (id, t, exp(logp)), take the state returned by the call that produced the
 * cached output, re-run the decoder on the new token, and repeat on the same frame until blank
 * or `maxSymbolsPerFrame` emissions.
 *
 * Batching: the decoder output only changes when a token is emitted, so the joint rows of the
 * next K frames (starting at the current frame, which may already have emitted) are evaluated in
 * one call and scanned for the first non-blank. The rows are independent, so the token sequence
 * is the one the frame-by-frame loop produces. K adapts: it doubles while whole blocks are blank
 * (up to 64) and follows the length of the last blank run otherwise.
 *
 * Hotwords (`opts.bias`): on a row whose argmax is a piece, the boosted candidates of the bias
 * state compete too (see `./bias.ts`); the state changes only on an emission, so batching stays
 * exact.
 */
import { GigasttError } from "../errors.ts";
import type { Token } from "../types.ts";
import type { ContextBias } from "./bias.ts";

export interface DecoderState {
  readonly h: Float32Array;
  readonly c: Float32Array;
}

export interface RnntStep {
  readonly blankId: number;
  readonly vocabSize: number;
  readonly encDim: number;
  readonly decDim: number;
  initialState(): DecoderState;
  decode(token: number, state: DecoderState): Promise<{ out: Float32Array; state: DecoderState }>;
  /** enc: `count` frames, frame-major [count × encDim]; returns [count × vocabSize] log-probs */
  joint(enc: Float32Array, count: number, dec: Float32Array): Promise<Float32Array>;
}

export interface GreedyOptions {
  /** emissions allowed on one encoder frame (docs/MODEL.md §4.1: 3) */
  maxSymbolsPerFrame?: number;
  /** first joint block size (default 8) */
  initialBlock?: number;
  /** largest joint block (default 64); 1 gives the plain frame-by-frame loop */
  maxBlock?: number;
  /**
   * hotwords (`./bias.ts`): pieces that continue a hotword compete with a boost; absent or null
   * runs the plain argmax loop (token-identical to no biasing at all)
   */
  bias?: ContextBias | null;
}

export const MAX_SYMBOLS_PER_FRAME = 3;
const MIN_BLOCK = 4;

/** Index of the largest of `n` values at `row[off..]`; first max wins; `fallback` if none is > −∞ (NaN rows). */
export function argmax(row: Float32Array, off: number, n: number, fallback: number): number {
  let best = fallback;
  let bestVal = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = row[off + i]!;
    if (v > bestVal) {
      bestVal = v;
      best = i;
    }
  }
  return best;
}

export async function greedyDecode(step: RnntStep, enc: Float32Array, frames: number, opts: GreedyOptions = {}): Promise<Token[]> {
  const cap = opts.maxSymbolsPerFrame ?? MAX_SYMBOLS_PER_FRAME;
  const maxBlock = opts.maxBlock ?? 64;
  const minBlock = Math.min(MIN_BLOCK, maxBlock);
  let block = Math.min(opts.initialBlock ?? 8, maxBlock);
  const { blankId: blank, vocabSize: V, encDim: D } = step;
  if (!Number.isInteger(cap) || cap < 1) throw new GigasttError("internal", `maxSymbolsPerFrame must be a positive integer, got ${cap}`);
  if (!Number.isInteger(maxBlock) || maxBlock < 1 || !Number.isInteger(block) || block < 1) {
    throw new GigasttError("internal", "joint block sizes must be positive integers");
  }
  if (!Number.isInteger(frames) || frames < 0) throw new GigasttError("inference_error", `invalid encoder frame count ${frames}`);
  if (enc.length < frames * D) {
    throw new GigasttError("inference_error", `encoder output holds ${enc.length} values, ${frames} frames × ${D} need more`);
  }
  const tokens: Token[] = [];
  if (frames === 0) return tokens;
  const bias = opts.bias ?? null;
  let state = bias ? bias.root : 0;

  let dec = await step.decode(blank, step.initialState());
  let t = 0; // current frame
  let emitted = 0; // emissions already made on frame t
  while (t < frames) {
    const count = Math.min(block, frames - t);
    const logp = await step.joint(enc.subarray(t * D, (t + count) * D), count, dec.out);
    if (logp.length < count * V) {
      throw new GigasttError("inference_error", `joint returned ${logp.length} values for ${count} frames × ${V} classes`);
    }
    let hit = -1;
    let k = blank;
    for (let i = 0; i < count; i++) {
      k = bias ? bias.pick(logp, i * V, V, blank, state) : argmax(logp, i * V, V, blank);
      if (k !== blank) {
        hit = i;
        break;
      }
    }
    if (hit < 0) {
      t += count;
      emitted = 0;
      block = Math.min(maxBlock, block * 2);
      continue;
    }
    if (hit > 0) {
      t += hit;
      emitted = 0;
    }
    tokens.push({ id: k, frame: t, prob: Math.exp(logp[hit * V + k]!) });
    if (bias) state = bias.advance(state, k);
    dec = await step.decode(k, dec.state);
    emitted += 1;
    if (emitted >= cap) {
      t += 1;
      emitted = 0;
    }
    // the next blank run is likely about as long as the one just seen
    block = Math.max(minBlock, Math.min(maxBlock, 2 * (hit + 1)));
  }
  return tokens;
}
