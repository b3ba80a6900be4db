/**
 * Which int8 encoder files `serve` runs, each made exact on this CPU (../quantize/safe.ts).
 *
 * Streaming partials are provisional (every final re-decodes its utterance with the main encoder),
 * are asked for at least once per second of speech, and dominate a real-time stream's compute. So by
 * default they run on the dynamic int8 encoder (`v3_e2e_rnnt_encoder.int8.onnx`, ¼ the size and faster:
 * BENCHMARKS.md gives the ratio per CPU kind), while finals and files keep the main (fp32) encoder.
 *
 * `preparePartialEncoder`:
 * - partial precision fp32, or a main model that is already int8: no second encoder.
 * - the int8 file is ours, of the current scheme and not older than the fp32 one: use it (read
 *   on this thread: a header scan, milliseconds).
 * - else, in a Worker (the event loop keeps answering /health): create it once, rewrite one of
 *   an older scheme, or check one made elsewhere and derive an exact copy where it would clip —
 *   like the Rust server's `ensure_int8_encoder`. `--skip-quantize` writes nothing. A failure
 *   (read-only folder, full disk) is logged and partials use the main encoder: it costs speed,
 *   never the server.
 * `prepareMainInt8Encoder`: the same check for the encoder `--precision int8` loads.
 */
import { join } from "node:path";
import { MODEL_FILE_NAMES, type ModelFiles, regularFile } from "../model/files.ts";
import { classifyInt8File, INT8_ENCODER } from "../quantize/file.ts";
import { exactInt8InWorker } from "../quantize/in-worker.ts";
import type { ExactInt8Options, ExactInt8Result } from "../quantize/safe.ts";
import { cpuInt8Features } from "../runtime/cpu.ts";
import type { Precision } from "../types.ts";

export interface PartialEncoderLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface Int8EncoderOptions {
  readonly files: ModelFiles;
  readonly skipQuantize: boolean;
  readonly log: PartialEncoderLog;
  /** default: this CPU's (../runtime/cpu.ts) */
  readonly saturates?: boolean;
  /** default: exactInt8InWorker */
  readonly exact?: (opts: ExactInt8Options) => Promise<ExactInt8Result>;
}

export interface PartialEncoderOptions extends Int8EncoderOptions {
  readonly partialPrecision: Precision;
  /** `--optimized-cache-dir`: a missing int8 encoder is created here (one already in the model folder is still used) */
  readonly cacheDir?: string;
}

/** Ours, of an exact scheme, not older than `source`: usable without a Worker. */
function readyAsIs(path: string, source: string): boolean {
  const have = regularFile(path);
  if (!have) return false;
  const src = regularFile(source);
  return (src === null || have.mtimeMs >= src.mtimeMs) && classifyInt8File(path).kind === "current";
}

/** The int8 encoder file for partials, or undefined when partials use the main encoder. */
export async function preparePartialEncoder(opts: PartialEncoderOptions): Promise<string | undefined> {
  const { files, log } = opts;
  if (opts.partialPrecision === "fp32" || files.precision === "int8") return undefined;
  const inModelDir = join(files.dir, INT8_ENCODER.dynamic);
  if (opts.cacheDir && readyAsIs(inModelDir, files.encoder)) return inModelDir;
  const path = opts.cacheDir ? join(opts.cacheDir, INT8_ENCODER.dynamic) : inModelDir;
  if (readyAsIs(path, files.encoder)) return path;
  const exists = regularFile(path) !== null;
  if (!exists && opts.skipQuantize) {
    log.info("streaming partials use the fp32 encoder (--skip-quantize: no int8 encoder is created)");
    return undefined;
  }
  const started = performance.now();
  if (!exists) log.info("creating the int8 encoder for streaming partials (one-time)", { file: path });
  try {
    const r = await (opts.exact ?? exactInt8InWorker)({ path, fp32Source: files.encoder, saturates: opts.saturates ?? cpuInt8Features().u8s8Saturates, create: !opts.skipQuantize });
    if (r.note) (r.path ? log.info : log.warn)(r.note);
    if (!r.path) {
      log.info("streaming partials use the fp32 encoder");
      return undefined;
    }
    if (r.action !== "used") log.info("int8 encoder for partials ready", { file: r.path, seconds: Math.round((performance.now() - started) / 100) / 10 });
    return r.path;
  } catch (e) {
    log.warn("could not create the int8 encoder: streaming partials use the fp32 encoder", { error: e instanceof Error ? e.message : String(e) });
    return undefined;
  }
}

/**
 * `--precision int8`: the encoder it selected, checked (and where it would clip here, replaced by an
 * exact copy). When no exact int8 encoder can be had (--skip-quantize), the fp32 encoder is used if
 * the folder has it; failing that, the selected file with a warning.
 */
export async function prepareMainInt8Encoder(opts: Int8EncoderOptions): Promise<ModelFiles> {
  const { files, log } = opts;
  if (files.precision !== "int8") return files;
  const fp32 = join(files.dir, MODEL_FILE_NAMES.encoder);
  if (classifyInt8File(files.encoder).kind === "current") return files;
  const r = await (opts.exact ?? exactInt8InWorker)({
    path: files.encoder,
    fp32Source: regularFile(fp32) ? fp32 : undefined,
    saturates: opts.saturates ?? cpuInt8Features().u8s8Saturates,
    create: !opts.skipQuantize,
  });
  if (r.path) {
    if (r.note) log.info(r.note);
    return r.path === files.encoder ? files : { ...files, encoder: r.path };
  }
  if (regularFile(fp32)) {
    log.warn(`${r.note ?? "no exact int8 encoder"}: the encoder runs in fp32`);
    return { ...files, encoder: fp32, precision: "fp32" };
  }
  log.warn(`${r.note ?? "no exact int8 encoder"}: running it anyway (results may be degraded)`);
  return files;
}
