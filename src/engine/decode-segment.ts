/**
 * One segment through the model: samples → log-mel → encoder → greedy RNN-T
 * → words. Used by the inference Worker (src/engine/worker.ts); its own
 * module so other Worker entries (and tests) can use it without starting a
 * Worker's message loop.
 */
import { greedyDecode } from "../decode/greedy.ts";
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
  /**
   * the VAD's verdict, 1 per 10 ms frame that is not speech: such runs are cut out before the
   * encoder (`VAD_COMPACT`), whatever the compaction setting, and word times mapped back
   */
  readonly nonSpeech?: Uint8Array;
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
  const tokens = await greedyDecode(model, enc, encFrames);
  if (!c || c.removedSeconds === 0) return tokensToWords(tokens, model.vocab, job.offsetSeconds);
  // times in the compacted audio → the segment (a word end at a splice stays before the removed run) → absolute
  return tokensToWords(tokens, model.vocab).map((w) => ({
    ...w,
    start: roundTime(c.toOriginal(w.start) + job.offsetSeconds),
    end: roundTime(c.toOriginal(w.end, "end") + job.offsetSeconds),
  }));
}
