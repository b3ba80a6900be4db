/**
 * One segment through the model: samples → log-mel → encoder → greedy RNN-T
 * → words. Used by the inference Worker (src/engine/worker.ts); its own
 * module so other Worker entries (and tests) can use it without starting a
 * Worker's message loop.
 */
import { ContextBias } from "../decode/bias.ts";
import { greedyDecode } from "../decode/greedy.ts";
import { type HotwordList, listKey } from "../decode/hotwords.ts";
import { roundTime, tokensToWords } from "../decode/detok.ts";
import type { LogMelExtractor } from "../frontend/logmel.ts";
import type { RnntModel } from "../model/rnnt.ts";
import { compactPauses, VAD_COMPACT } from "../segment/compact.ts";
import type { Word } from "../types.ts";

export interface DecodeJob {
  /** 16 kHz mono, ≤ 20 s; transferred */
  readonly samples: Float32Array;
  /** seconds added to every word time */
  readonly offsetSeconds: number;
  /** hotwords to bias this segment toward (absent: none) */
  readonly hotwords?: HotwordList;
  /**
   * the VAD's verdict, 1 per 10 ms frame that is not speech: such runs are cut out before the
   * encoder (`VAD_COMPACT`), whatever the compaction setting, and word times mapped back
   */
  readonly nonSpeech?: Uint8Array;
}

/** Compiled hotword lists of one Worker, by list key (the few lists in use stay compiled). */
const BIAS_CACHE_SIZE = 16;
const biasCache = new Map<string, ContextBias | null>();

/** `list` compiled against `model`'s vocabulary, from the cache when it was seen recently. */
export function biasFor(model: Pick<RnntModel, "vocab">, list: HotwordList | undefined): ContextBias | null {
  if (!list || list.phrases.length === 0) return null;
  const key = listKey(list);
  const hit = biasCache.get(key);
  if (hit !== undefined) {
    biasCache.delete(key);
    biasCache.set(key, hit);
    return hit;
  }
  const b = ContextBias.compile(list, model.vocab);
  biasCache.set(key, b);
  if (biasCache.size > BIAS_CACHE_SIZE) biasCache.delete(biasCache.keys().next().value!);
  return b;
}

/**
 * Decodes one segment from a fresh decoder state. With `compact` (default), long pauses are
 * shortened before the encoder (`compactPauses`) and word times mapped back to the segment;
 * with a VAD mask (`nonSpeech`), non-speech is cut out instead.
 */
export async function decodeSamples(model: RnntModel, mel: LogMelExtractor, job: DecodeJob, compact = true): Promise<Word[]> {
  const c = job.nonSpeech ? compactPauses(job.samples, { ...VAD_COMPACT, removable: job.nonSpeech }) : compact ? compactPauses(job.samples) : null;
  const { features, frames } = mel.compute(c ? c.samples : job.samples);
  if (frames === 0) return [];
  const { enc, frames: encFrames } = await model.encode(features, frames);
  const bias = biasFor(model, job.hotwords);
  const tokens = await greedyDecode(model, enc, encFrames, bias ? { bias } : {});
  if (!c || c.removedSeconds === 0) return tokensToWords(tokens, model.vocab, job.offsetSeconds);
  // times in the compacted audio → the segment (a word end at a splice stays before the removed run) → absolute
  return tokensToWords(tokens, model.vocab).map((w) => ({
    ...w,
    start: roundTime(c.toOriginal(w.start) + job.offsetSeconds),
    end: roundTime(c.toOriginal(w.end, "end") + job.offsetSeconds),
  }));
}
