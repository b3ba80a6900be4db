/**
 * Bun Worker entry: loads the RNN-T model once and decodes segments
 * (samples → log-mel → encoder → greedy RNN-T → words). ONNX runs only here.
 *
 * Started by the pool as `new Worker(new URL("./worker.ts", import.meta.url).href)`;
 * a compiled binary embeds it as a second entrypoint (`src/engine/worker.ts`).
 */
import { greedyDecode } from "../decode/greedy.ts";
import { roundTime, tokensToWords } from "../decode/detok.ts";
import { LogMelExtractor } from "../frontend/logmel.ts";
import { GigasttError, isGigasttError } from "../errors.ts";
import type { ModelFiles } from "../model/files.ts";
import type { RnntModel } from "../model/rnnt.ts";
import { releaseFreedMemory } from "../runtime/trim.ts";
import { compactPauses } from "../segment/compact.ts";
import type { Word } from "../types.ts";
import { serveWorker } from "./protocol.ts";

export interface ModelWorkerInit {
  readonly files: ModelFiles;
  readonly intraOpThreads: number;
  /** idle intra-op threads spin-wait (default true); off where the Worker shares cores with others */
  readonly allowSpinning?: boolean;
  /** shorten long pauses before the encoder (src/segment/compact.ts); default true */
  readonly compactPauses?: boolean;
  /** prepacked weights (faster, private per Worker) instead of the mapped file's shared pages; default false */
  readonly prepack?: boolean;
}

export interface ModelWorkerInfo {
  readonly vocabSize: number;
  readonly blankId: number;
}

export interface DecodeJob {
  /** 16 kHz mono, ≤ 20 s; transferred */
  readonly samples: Float32Array;
  /** seconds added to every word time */
  readonly offsetSeconds: number;
}

/**
 * Decodes one segment from a fresh decoder state. With `compact` (default), long pauses are
 * shortened before the encoder (`compactPauses`) and word times mapped back to the segment.
 */
export async function decodeSamples(model: RnntModel, mel: LogMelExtractor, job: DecodeJob, compact = true): Promise<Word[]> {
  const c = compact ? compactPauses(job.samples) : null;
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

if (!Bun.isMainThread) {
  let model: RnntModel | undefined;
  let compact = true;
  const mel = new LogMelExtractor();
  serveWorker<ModelWorkerInit, DecodeJob, Word[], ModelWorkerInfo>({
    async init({ files, intraOpThreads, allowSpinning, compactPauses: compactOn = true, prepack }) {
      compact = compactOn;
      // onnxruntime loads here, not while this module loads: in the executable that can fail
      // (runtime_unavailable: no folder to extract its library to), and only an error thrown
      // inside init reaches the pool with its code
      const { RnntModel } = await import("../model/rnnt.ts");
      model = await RnntModel.load(files, { intraOpThreads, ...(allowSpinning === false ? { allowSpinning } : {}), ...(prepack ? { prepack } : {}) });
      // the load's transient buffers (the parsed file, weight copies) are free now: give them back
      releaseFreedMemory();
      return { vocabSize: model.vocabSize, blankId: model.blankId };
    },
    async job(payload) {
      if (!model) throw new GigasttError("not_ready");
      try {
        return { result: await decodeSamples(model, mel, payload, compact) };
      } catch (e) {
        // onnxruntime failures arrive as plain Errors: report them as inference errors
        throw isGigasttError(e) ? e : new GigasttError("inference_error", undefined, { cause: e });
      }
    },
  });
}
