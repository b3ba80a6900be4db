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
import { PRODUCER, readModelHeader, SCHEME_KEY } from "./inspect.ts";
import { RESCALED_SCHEME } from "./rescale.ts";
import { DEFAULT_INT8_SCHEME, type Int8Scheme, QuantizeError, type QuantizeMode, type QuantizeStats, quantizeModel } from "./rewrite.ts";

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
  /** dynamic mode's weight scheme (default DEFAULT_INT8_SCHEME, exact on every CPU) */
  readonly scheme?: Int8Scheme;
}

/**
 * What an existing int8 encoder file is:
 * - `current`: written by gigastt under a scheme that is exact on every CPU (s7, u8, a rescaled
 *   copy, or weight-only, which computes in fp32);
 * - `stale`: written by gigastt under an older scheme (full-range s8, no scheme recorded), which clips
 *   on CPUs without VNNI: rewritten once;
 * - `foreign`: made elsewhere (the published `*.int8.onnx`): inspected before use (./safe.ts);
 * - `invalid`: not an ONNX file.
 */
export type Int8FileKind =
  | { readonly kind: "current"; readonly scheme: string }
  | { readonly kind: "stale"; readonly scheme: string | null }
  | { readonly kind: "foreign"; readonly producer: string }
  | { readonly kind: "invalid"; readonly error: string };

const EXACT_SCHEMES = new Set<string>(["s7", "u8", RESCALED_SCHEME, "weight-only"]);

export function classifyInt8File(path: string): Int8FileKind {
  let h: ReturnType<typeof readModelHeader>;
  try {
    h = readModelHeader(path);
  } catch (e) {
    return { kind: "invalid", error: (e as Error).message };
  }
  if (h.producerName !== PRODUCER) return { kind: "foreign", producer: h.producerName || "unknown" };
  const scheme = h.metadata[SCHEME_KEY] ?? null;
  return scheme !== null && EXACT_SCHEMES.has(scheme) ? { kind: "current", scheme } : { kind: "stale", scheme };
}

/** The one log line for a rewritten stale file. */
export function staleNote(k: { scheme: string | null }): string {
  return `older int8 scheme (${k.scheme ?? "full-range s8, no scheme recorded"}) clips on CPUs without VNNI: rewritten as ${DEFAULT_INT8_SCHEME}`;
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
  /** set when an existing output was rewritten because of its scheme (one log line for the caller) */
  readonly replaced?: string;
  /** set when an existing output made elsewhere was left alone (skipped) */
  readonly foreign?: string;
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
  // an existing output is kept when it is fresh (not older than its source: the fp32 file did not
  // change) and, for the dynamic mode, of an exact scheme; a stale scheme is rewritten once; a file
  // made elsewhere (the published int8 encoder) is never overwritten without --force
  let replaced: string | undefined;
  if (existsSync(out) && !opts.force) {
    const kind = mode === "dynamic" ? classifyInt8File(out) : ({ kind: "current", scheme: "weight-only" } as const);
    if (kind.kind === "foreign") return { source, out, skipped: true, bytesIn, bytesOut: statSync(out).size, seconds: 0, stats: null, foreign: kind.producer };
    if (kind.kind === "stale") replaced = staleNote(kind);
    else if (kind.kind === "current" && statSync(out).mtimeMs >= statSync(source).mtimeMs) {
      return { source, out, skipped: true, bytesIn, bytesOut: statSync(out).size, seconds: 0, stats: null };
    }
  }
  const model = readModelFile(source);
  let result: ReturnType<typeof quantizeModel>;
  try {
    result = quantizeModel(model, mode, opts.scheme ?? DEFAULT_INT8_SCHEME);
  } catch (e) {
    if (e instanceof QuantizeError) throw new GigasttError("model_invalid", `invalid model file ${basename(source)}: ${e.message}`, { cause: e, details: { file: basename(source) } });
    throw e;
  }
  if (result.stats.nodes === 0) {
    throw new GigasttError("model_invalid", `invalid model file ${basename(source)}: no MatMul with a constant weight to quantize`, { details: { file: basename(source) } });
  }
  const bytes = onnx.ModelProto.encode(result.model).finish();
  writeAtomically(out, bytes);
  return { source, out, skipped: false, bytesIn, bytesOut: bytes.length, seconds: (now() - t0) / 1000, stats: result.stats, ...(replaced ? { replaced } : {}) };
}

/** Writes `bytes` to `out` through `<out>.partial` + rename (a crash never leaves a half file under `out`). */
export function writeAtomically(out: string, bytes: Uint8Array): void {
  const partial = `${out}.partial`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, out);
  } catch (e) {
    rmSync(partial, { force: true });
    if ((e as NodeJS.ErrnoException).code === "ENOSPC") throw new GigasttError("disk_full", `not enough disk space to write ${basename(out)}`, { cause: e });
    throw e;
  }
}

/** Decodes an ONNX file; `model_invalid` naming it when it is not one. */
export function readModelFile(path: string): onnx.ModelProto {
  try {
    return onnx.ModelProto.decode(readFileSync(path));
  } catch (e) {
    throw new GigasttError("model_invalid", `invalid model file ${basename(path)}: not an ONNX model (${(e as Error).message})`, { cause: e, details: { file: basename(path) } });
  }
}
