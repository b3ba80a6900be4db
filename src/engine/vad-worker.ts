/**
 * Bun Worker entry of the VAD (Silero, src/model/vad.ts): loads the embedded model once and
 * answers speech probabilities for whole 512-sample windows, with the stream's carried state
 * in and out (so one Worker serves every stream, and a stream can move between Workers).
 * ONNX runs only here, never on the event loop.
 *
 * Started by ./vad.ts's pool; a compiled binary embeds it as the entrypoint `engine/vad-worker.ts`
 * (scripts/compile.ts).
 */
import { GigasttError, isGigasttError } from "../errors.ts";
import type { SileroVad } from "../model/vad.ts";
import { serveWorker } from "./protocol.ts";

export interface VadWorkerInit {
  /** a model file instead of the embedded one (tests) */
  readonly file?: string;
}

export interface VadJob {
  /** whole 512-sample windows at 16 kHz; transferred */
  readonly samples: Float32Array;
  /** the stream's recurrent state [2,1,128] and last 64 samples; transferred and returned advanced */
  readonly state: Float32Array;
  readonly context: Float32Array;
  readonly quiet: Float32Array;
}

export interface VadResult {
  /** one speech probability per window */
  readonly probs: Float32Array;
  readonly state: Float32Array;
  readonly context: Float32Array;
  readonly quiet: Float32Array;
}

if (!Bun.isMainThread) {
  let vad: SileroVad | undefined;
  serveWorker<VadWorkerInit, VadJob, VadResult, { ready: true }>({
    async init({ file }) {
      // onnxruntime loads here (see src/engine/worker.ts): an error keeps its code
      const { SileroVad } = await import("../model/vad.ts");
      vad = await SileroVad.load(file);
      return { ready: true };
    },
    async job({ samples, state, context, quiet }) {
      if (!vad) throw new GigasttError("not_ready");
      try {
        const probs = await vad.run(samples, { state, context, quiet });
        return { result: { probs, state, context, quiet }, transfer: [probs.buffer as ArrayBuffer, state.buffer as ArrayBuffer, context.buffer as ArrayBuffer] };
      } catch (e) {
        throw isGigasttError(e) ? e : new GigasttError("inference_error", undefined, { cause: e });
      }
    },
  });
}
