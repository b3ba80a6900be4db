/**
 * Bun Worker entry: loads the RNN-T model once and decodes segments
 * (samples → log-mel → encoder → greedy RNN-T → words). ONNX runs only here.
 *
 * Started by the pool as `new Worker(new URL("./worker.ts", import.meta.url).href)`;
 * a compiled binary embeds it as a second entrypoint (`src/engine/worker.ts`).
 */
import { LogMelExtractor } from "../frontend/logmel.ts";
import { GigasttError, isGigasttError } from "../errors.ts";
import type { ModelFiles } from "../model/files.ts";
import type { RnntModel } from "../model/rnnt.ts";
import { releaseFreedMemory } from "../runtime/trim.ts";
import type { Word } from "../types.ts";
import { decodeSamples, type DecodeJob } from "./decode-segment.ts";
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

export type { DecodeJob } from "./decode-segment.ts";
export { decodeSamples } from "./decode-segment.ts";

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
