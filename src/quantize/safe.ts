/**
 * `ensureExactInt8Encoder`: the int8 encoder file to run, made exact on this CPU.
 *
 * Our own files use a scheme that is exact on every CPU (s7: ./rewrite.ts), so a model folder shared
 * between machines never needs per-CPU files of ours. What can clip is a file written under an older
 * scheme (full-range s8) or made elsewhere (the published `v3_e2e_rnnt_encoder.int8.onnx`):
 *
 * - missing → created from the fp32 encoder (when `create`), else none;
 * - ours, current scheme → used (rewritten when older than the fp32 encoder, as before);
 * - ours, older scheme → rewritten once (from fp32, or by rescaling itself without it) with one
 *   note; without `create` it is used only where it computes exactly (the CPU does not saturate);
 * - made elsewhere → its integer GEMMs are inspected: if their s8 weights exceed ±64 and this CPU's
 *   u8×s8 kernel saturates (AVX2 without VNNI), a derived exact copy `…encoder.int8-s7.onnx` is used
 *   (made from fp32 when present, else by rescaling the file); the original is never touched, so the
 *   lock file and `models verify` still hold. Elsewhere (VNNI, arm64) it is used as published.
 *
 * Synchronous file work (seconds for a large model): `serve` runs it in the quantize Worker.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { onnx } from "onnx-proto";
import { GigasttError } from "../errors.ts";
import { classifyInt8File, quantizeEncoderFile, readModelFile, staleNote, writeAtomically } from "./file.ts";
import { clipsWhereU8S8Saturates, int8WeightProfile } from "./inspect.ts";
import { rescaleInt8Model } from "./rescale.ts";

/** The derived exact copy of a published int8 encoder that would clip here. */
export const DERIVED_INT8_ENCODER = "v3_e2e_rnnt_encoder.int8-s7.onnx";

export interface ExactInt8Options {
  /** the int8 encoder to run (it may not exist yet) */
  readonly path: string;
  /** the fp32 encoder, when the folder has one */
  readonly fp32Source?: string;
  /** this CPU's u8×s8 kernel saturates (../runtime/cpu.ts) */
  readonly saturates: boolean;
  /** files may be created or rewritten (false under --skip-quantize) */
  readonly create: boolean;
}

export interface ExactInt8Result {
  /** the file to load, or null: no exact int8 encoder can be had (use fp32) */
  readonly path: string | null;
  readonly action: "used" | "created" | "rewritten" | "derived" | "none";
  /** one line for the log when something was decided that a user should know */
  readonly note?: string;
  readonly seconds: number;
}

const fresh = (file: string, source: string | undefined) => !source || !existsSync(source) || statSync(file).mtimeMs >= statSync(source).mtimeMs;

function rescaleFile(source: string, out: string): void {
  const r = rescaleInt8Model(readModelFile(source));
  writeAtomically(out, onnx.ModelProto.encode(r.model).finish());
}

export function ensureExactInt8Encoder(opts: ExactInt8Options, now: () => number = () => performance.now()): ExactInt8Result {
  const t0 = now();
  const done = (r: Omit<ExactInt8Result, "seconds">): ExactInt8Result => ({ ...r, seconds: (now() - t0) / 1000 });
  const { path, create } = opts;
  const fp32 = opts.fp32Source && existsSync(opts.fp32Source) ? opts.fp32Source : undefined;
  const fromFp32 = (out: string) => quantizeEncoderFile({ modelDir: dirname(out), source: fp32!, out, mode: "dynamic", force: true });

  if (!existsSync(path)) {
    if (!create || !fp32) return done({ path: null, action: "none" });
    fromFp32(path);
    return done({ path, action: "created" });
  }
  const kind = classifyInt8File(path);
  if (kind.kind === "invalid") {
    throw new GigasttError("model_invalid", `invalid model file ${basename(path)}: not an ONNX model (${kind.error})`, { details: { file: basename(path) } });
  }
  if (kind.kind === "current") {
    if (fresh(path, fp32) || !create || kind.scheme === "weight-only") return done({ path, action: "used" });
    fromFp32(path);
    return done({ path, action: "created", note: `${basename(path)} was older than ${basename(fp32!)}: rewritten` });
  }
  if (kind.kind === "stale") {
    if (!create) {
      return opts.saturates
        ? done({ path: null, action: "none", note: `${basename(path)} has an older int8 scheme that clips on this CPU (no VNNI) and --skip-quantize forbids rewriting it` })
        : done({ path, action: "used" });
    }
    if (fp32) fromFp32(path);
    else rescaleFile(path, path);
    return done({ path, action: "rewritten", note: `${basename(path)}: ${staleNote(kind)}` });
  }
  // made elsewhere: does it clip here?
  if (!opts.saturates) return done({ path, action: "used" });
  const profile = int8WeightProfile(readModelFile(path));
  if (!clipsWhereU8S8Saturates(profile)) return done({ path, action: "used" });
  const derived = join(dirname(path), DERIVED_INT8_ENCODER);
  const why = `${basename(path)} (by ${kind.producer}) has s8 weights up to ±${profile.maxS8}, which clip on this CPU (u8×s8 without VNNI)`;
  if (existsSync(derived)) {
    const d = classifyInt8File(derived);
    if (d.kind === "current" && fresh(derived, path) && fresh(derived, fp32)) return done({ path: derived, action: "derived", note: `${why}: using ${DERIVED_INT8_ENCODER}` });
  }
  if (!create) return done({ path: null, action: "none", note: `${why}, and --skip-quantize forbids writing ${DERIVED_INT8_ENCODER}` });
  if (fp32) fromFp32(derived);
  else rescaleFile(path, derived);
  return done({ path: derived, action: "derived", note: `${why}: wrote and use ${DERIVED_INT8_ENCODER} (${fp32 ? `quantized from ${basename(fp32)}` : "its weights rescaled to ±64"})` });
}
