/**
 * The real model Worker (tone model in tests) with two faults on cue, for the
 * fault suites: a segment holding a sample above 0.95 (the tone model's audio
 * stays at 0.5) kills the Worker thread mid-job (`process.exit`, like a native
 * crash); one above 0.9 (and ≤ 0.95) makes the "runtime" throw a plain Error,
 * as onnxruntime does; one above 0.8 (and ≤ 0.9) never answers (a decode
 * stuck in native code, for the inference timeout). Anything else decodes normally. While a file
 * `FAIL_INIT_MARKER` exists next to the encoder, a (replacement) Worker fails
 * to load.
 */
import { decodeSamples, type DecodeJob } from "../../src/engine/decode-segment.ts";
import type { ModelWorkerInfo, ModelWorkerInit } from "../../src/engine/worker.ts";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { serveWorker } from "../../src/engine/protocol.ts";
import { GigasttError } from "../../src/errors.ts";
import { LogMelExtractor } from "../../src/frontend/logmel.ts";
import type { RnntModel } from "../../src/model/rnnt.ts";
import type { Word } from "../../src/types.ts";

export const FAIL_INIT_MARKER = ".fail-worker-init";
/** while this file exists next to the encoder, the first Worker to load fails (the others load) */
export const FAIL_FIRST_INIT_MARKER = ".fail-first-worker-init";

let model: RnntModel | undefined;
const mel = new LogMelExtractor();
serveWorker<ModelWorkerInit, DecodeJob, Word[], ModelWorkerInfo>({
  async init({ files, intraOpThreads }) {
    if (existsSync(join(dirname(files.encoder), FAIL_INIT_MARKER))) throw new GigasttError("model_invalid", "scripted: this Worker cannot load the model");
    if (existsSync(join(dirname(files.encoder), FAIL_FIRST_INIT_MARKER)) && firstToCreate(join(dirname(files.encoder), `${FAIL_FIRST_INIT_MARKER}.taken`)))
      throw new GigasttError("model_invalid", "scripted: the first Worker cannot load the model");
    const { RnntModel } = await import("../../src/model/rnnt.ts");
    model = await RnntModel.load(files, { intraOpThreads });
    return { vocabSize: model.vocabSize, blankId: model.blankId };
  },
  async job(payload) {
    if (!model) throw new GigasttError("not_ready");
    let peak = 0;
    for (const x of payload.samples) peak = Math.max(peak, Math.abs(x));
    if (peak > 0.95) process.exit(9);
    if (peak > 0.8 && peak <= 0.9) return new Promise(() => {});
    try {
      if (peak > 0.9) throw new Error("onnxruntime: Non-zero status code returned while running Conv node");
      return { result: await decodeSamples(model, mel, payload) };
    } catch (e) {
      throw new GigasttError("inference_error", undefined, { cause: e });
    }
  },
});

function firstToCreate(path: string): boolean {
  try {
    writeFileSync(path, "", { flag: "wx" });
    return true;
  } catch {
    return false;
  }
}
