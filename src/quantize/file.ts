/**
 * `gigastt quantize` on disk: reads the fp32 encoder of a model directory, rewrites it
 * (./rewrite.ts) and writes the int8 file next to it through `<out>.partial` + rename,
 * so a crash never leaves a half-written file under the name the loader picks.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { onnx } from "onnx-proto";
import { GigasttError } from "../errors.ts";
import { MODEL_FILE_NAMES } from "../model/files.ts";
import { QuantizeError, type QuantizeMode, type QuantizeStats, quantizeModel } from "./rewrite.ts";

/** int8 encoder file names: the one `--precision int8` prefers, and the Rust server's weight-only name. */
export const INT8_ENCODER = {
  dynamic: "v3_e2e_rnnt_encoder.int8.onnx",
  "weight-only": "v3_e2e_rnnt_encoder_int8.onnx",
} as const satisfies Record<QuantizeMode, string>;

export interface QuantizeFileOptions {
  readonly modelDir: string;
  readonly mode?: QuantizeMode;
  /** output path (default: the mode's name in `modelDir`) */
  readonly out?: string;
  /** rewrite an existing output even when it is newer than the source */
  readonly force?: boolean;
  /** fp32 source (default `modelDir`/v3_e2e_rnnt_encoder.onnx) */
  readonly source?: string;
}

export interface QuantizeFileResult {
  readonly source: string;
  readonly out: string;
  /** true when the output already existed and nothing was written */
  readonly skipped: boolean;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly seconds: number;
  readonly stats: QuantizeStats | null;
}

export function quantizeEncoderFile(opts: QuantizeFileOptions, now: () => number = () => performance.now()): QuantizeFileResult {
  const mode = opts.mode ?? "dynamic";
  const source = opts.source ?? join(opts.modelDir, MODEL_FILE_NAMES.encoder);
  const out = opts.out ?? join(opts.modelDir, INT8_ENCODER[mode]);
  const t0 = now();
  if (!existsSync(source)) {
    throw new GigasttError("model_missing", `model files missing: ${basename(source)} in ${opts.modelDir}`, { details: { dir: opts.modelDir, missing: [basename(source)] } });
  }
  const bytesIn = statSync(source).size;
  // an existing output older than its source is stale (the fp32 file changed): rewrite it
  if (existsSync(out) && !opts.force && statSync(out).mtimeMs >= statSync(source).mtimeMs) {
    return { source, out, skipped: true, bytesIn, bytesOut: statSync(out).size, seconds: 0, stats: null };
  }
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(readFileSync(source));
  } catch (e) {
    throw new GigasttError("model_invalid", `invalid model file ${basename(source)}: not an ONNX model (${(e as Error).message})`, { cause: e, details: { file: basename(source) } });
  }
  let result: ReturnType<typeof quantizeModel>;
  try {
    result = quantizeModel(model, mode);
  } catch (e) {
    if (e instanceof QuantizeError) throw new GigasttError("model_invalid", `invalid model file ${basename(source)}: ${e.message}`, { cause: e, details: { file: basename(source) } });
    throw e;
  }
  if (result.stats.nodes === 0) {
    throw new GigasttError("model_invalid", `invalid model file ${basename(source)}: no MatMul with a constant weight to quantize`, { details: { file: basename(source) } });
  }
  const bytes = onnx.ModelProto.encode(result.model).finish();
  const partial = `${out}.partial`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, out);
  } catch (e) {
    rmSync(partial, { force: true });
    if ((e as NodeJS.ErrnoException).code === "ENOSPC") throw new GigasttError("disk_full", `not enough disk space to write ${basename(out)}`, { cause: e });
    throw e;
  }
  return { source, out, skipped: false, bytesIn, bytesOut: bytes.length, seconds: (now() - t0) / 1000, stats: result.stats };
}
