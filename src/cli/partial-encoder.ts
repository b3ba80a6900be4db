/**
 * Which encoder `serve` gives streaming partials.
 *
 * Partials are provisional (every final re-decodes its utterance with the main encoder), are
 * asked for at least once per second of speech, and dominate a real-time stream's compute. So
 * by default they run on the dynamic int8 encoder (`v3_e2e_rnnt_encoder.int8.onnx`, ≈ 3× faster
 * on x64, ¼ the size), while finals and files keep the main (fp32) encoder.
 *
 * - partial precision fp32, or a main model that is already int8: no second encoder.
 * - the int8 file exists and is not older than the fp32 one: use it.
 * - else, unless `--skip-quantize`: create it once with `gigastt quantize`'s rewrite, in a
 *   Worker (seconds per GB; the event loop keeps answering /health), like the Rust server's
 *   `ensure_int8_encoder`. A failure (read-only folder, full disk) is logged and partials use
 *   the main encoder: it costs speed, never the server.
 */
import { join } from "node:path";
import { type ModelFiles, regularFile } from "../model/files.ts";
import { INT8_ENCODER, type QuantizeFileOptions, type QuantizeFileResult } from "../quantize/file.ts";
import { quantizeInWorker } from "../quantize/in-worker.ts";
import type { Precision } from "../types.ts";

export interface PartialEncoderLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface PartialEncoderOptions {
  readonly files: ModelFiles;
  readonly partialPrecision: Precision;
  readonly skipQuantize: boolean;
  readonly log: PartialEncoderLog;
  /** default: quantizeInWorker */
  readonly quantize?: (opts: QuantizeFileOptions) => Promise<QuantizeFileResult>;
}

/** The int8 encoder file for partials, or undefined when partials use the main encoder. */
export async function preparePartialEncoder(opts: PartialEncoderOptions): Promise<string | undefined> {
  const { files, log } = opts;
  if (opts.partialPrecision === "fp32" || files.precision === "int8") return undefined;
  const path = join(files.dir, INT8_ENCODER.dynamic);
  const have = regularFile(path)?.mtimeMs ?? null;
  const source = regularFile(files.encoder)?.mtimeMs ?? null;
  if (have !== null && (source === null || have >= source)) return path;
  if (opts.skipQuantize) {
    if (have !== null) return path; // older than the fp32 file, but the user asked not to rewrite it
    log.info("streaming partials use the fp32 encoder (--skip-quantize: no int8 encoder is created)");
    return undefined;
  }
  const started = performance.now();
  log.info("creating the int8 encoder for streaming partials (one-time)", { file: path });
  try {
    const r = await (opts.quantize ?? quantizeInWorker)({ modelDir: files.dir, mode: "dynamic", source: files.encoder, out: path });
    log.info("int8 encoder for partials ready", { file: r.out, mb: Math.round(r.bytesOut / 1e6), seconds: Math.round((performance.now() - started) / 100) / 10 });
    return r.out;
  } catch (e) {
    log.warn("could not create the int8 encoder: streaming partials use the fp32 encoder", { error: e instanceof Error ? e.message : String(e) });
    return undefined;
  }
}
