#!/usr/bin/env bun
/**
 * int8 encoders against fp32 on this CPU, side by side in one process (the int8-on-every-CPU issue):
 * the default dynamic scheme (s7), u8 weights, the old full-range s8 (what earlier gigastt wrote and
 * what clips on AVX2 without VNNI), the same s8 file rescaled without its fp32 source (what serve
 * derives from a published int8 file that would clip here) and weight-only (the Rust scheme).
 * Runs are interleaved (fp32, s7, u8, … per repetition) so load from other processes hits every
 * variant alike; median of the repetitions.
 *
 *   bun scripts/bench/int8.ts [--model-dir .bench/model] [--reps 5] [--seconds 16]
 *
 * `bun run bench` calls measureInt8 for its "Encoder precision" table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { onnx } from "onnx-proto";
import { greedyDecode, type RnntStep } from "../../src/decode/greedy.ts";
import { LogMelExtractor } from "../../src/frontend/logmel.ts";
import { type ModelFiles, selectModelFiles } from "../../src/model/files.ts";
import { RnntModel } from "../../src/model/rnnt.ts";
import { quantizeEncoderFile, readModelFile, writeAtomically } from "../../src/quantize/file.ts";
import { rescaleInt8Model } from "../../src/quantize/rescale.ts";
import { quantizeModel } from "../../src/quantize/rewrite.ts";
import { cpuInt8Features, describeCpuInt8 } from "../../src/runtime/cpu.ts";
import { speechLikeClip } from "./clip.ts";
import { median, round } from "./stats.ts";

export interface Int8Row {
  readonly file: string;
  readonly mb: number;
  readonly encode_ms: number;
  readonly decode_ms: number;
  readonly tokens: number;
  readonly frames: number;
  readonly max_abs_diff?: number;
  /** rms of the difference ÷ rms of the fp32 output */
  readonly rel_rms_diff?: number;
  readonly token_agreement?: number;
  readonly speed_vs_fp32?: number;
}

export const INT8_VARIANTS = ["fp32", "int8_dynamic", "int8_dynamic_u8", "int8_dynamic_s8_legacy", "int8_s8_rescaled", "int8_weight_only"] as const;
export type Int8Variant = (typeof INT8_VARIANTS)[number];

/** Writes every variant's encoder under `variantsDir` (the default dynamic one in the model dir, as `gigastt quantize` does). */
export function writeInt8Variants(modelDir: string, variantsDir: string, log: (s: string) => void = () => {}): Record<Int8Variant, string> {
  mkdirSync(variantsDir, { recursive: true });
  const fp32 = join(modelDir, "v3_e2e_rnnt_encoder.onnx");
  const t0 = performance.now();
  const dyn = quantizeEncoderFile({ modelDir, mode: "dynamic", force: true });
  log(`int8 dynamic (s7) written in ${dyn.seconds.toFixed(1)} s`);
  const wo = join(variantsDir, "v3_e2e_rnnt_encoder.weight-only.onnx");
  quantizeEncoderFile({ modelDir, mode: "weight-only", out: wo, force: true });
  const src = readModelFile(fp32);
  const write = (name: string, m: onnx.IModelProto) => {
    const p = join(variantsDir, name);
    writeAtomically(p, onnx.ModelProto.encode(m).finish());
    return p;
  };
  const u8 = write("v3_e2e_rnnt_encoder.int8-u8.onnx", quantizeModel(src, "dynamic", "u8").model);
  const s8Model = quantizeModel(src, "dynamic", "s8").model;
  const s8 = write("v3_e2e_rnnt_encoder.int8-s8.onnx", s8Model);
  const rescaled = write("v3_e2e_rnnt_encoder.int8-s8-rescaled.onnx", rescaleInt8Model(onnx.ModelProto.decode(onnx.ModelProto.encode(s8Model).finish())).model);
  log(`int8 variants written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { fp32, int8_dynamic: dyn.out, int8_dynamic_u8: u8, int8_dynamic_s8_legacy: s8, int8_s8_rescaled: rescaled, int8_weight_only: wo };
}

function editDistance(a: readonly number[], b: readonly number[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Encodes `samples` with every variant, interleaved, `reps` times; rows relative to fp32. */
export async function measureInt8(
  fp32Files: ModelFiles,
  encoders: Record<Int8Variant, string>,
  samples: Float32Array,
  reps: number,
  log: (s: string) => void = () => {},
): Promise<Record<string, unknown>> {
  const feats = new LogMelExtractor().compute(samples);
  const models = new Map<Int8Variant, RnntModel>();
  for (const v of INT8_VARIANTS) {
    const files: ModelFiles = { ...fp32Files, encoder: encoders[v], precision: v === "fp32" ? "fp32" : "int8" };
    const m = await RnntModel.load(files, { intraOpThreads: 1 });
    await m.encode(feats.features, feats.frames);
    models.set(v, m);
  }
  const enc = new Map<Int8Variant, number[]>(INT8_VARIANTS.map((v) => [v, []]));
  const dec = new Map<Int8Variant, number[]>(INT8_VARIANTS.map((v) => [v, []]));
  const last = new Map<Int8Variant, { enc: Float32Array; frames: number; tokens: number[] }>();
  for (let i = 0; i < reps; i++) {
    for (const v of INT8_VARIANTS) {
      const m = models.get(v)!;
      let t = performance.now();
      const e = await m.encode(feats.features, feats.frames);
      enc.get(v)!.push(performance.now() - t);
      t = performance.now();
      const tokens = (await greedyDecode(m as RnntStep, e.enc, e.frames)).map((x) => x.id);
      dec.get(v)!.push(performance.now() - t);
      last.set(v, { enc: e.enc, frames: e.frames, tokens });
    }
  }
  for (const m of models.values()) await m.release();
  const ref = last.get("fp32")!;
  let refSq = 0;
  for (const x of ref.enc) refSq += x * x;
  const out: Record<string, unknown> = { cpu_int8: describeCpuInt8(cpuInt8Features()), u8s8_saturates: cpuInt8Features().u8s8Saturates, audio_s: round(samples.length / 16000, 1), reps };
  const fp32Ms = median(enc.get("fp32")!);
  for (const v of INT8_VARIANTS) {
    const l = last.get(v)!;
    const row: Record<string, unknown> = {
      file: encoders[v].split("/").slice(-2).join("/"),
      mb: round(Bun.file(encoders[v]).size / 1e6, 0),
      encode_ms: round(median(enc.get(v)!), 0),
      decode_ms: round(median(dec.get(v)!), 1),
      tokens: l.tokens.length,
      frames: l.frames,
    };
    if (v !== "fp32") {
      let maxDiff = 0;
      let sq = 0;
      for (let i = 0; i < ref.enc.length; i++) {
        const d = Math.abs(ref.enc[i]! - l.enc[i]!);
        maxDiff = Math.max(maxDiff, d);
        sq += d * d;
      }
      row.max_abs_diff = round(maxDiff, 4);
      row.rel_rms_diff = round(Math.sqrt(sq / refSq), 4);
      row.token_agreement = round(1 - editDistance(ref.tokens, l.tokens) / Math.max(1, ref.tokens.length, l.tokens.length), 4);
      row.speed_vs_fp32 = round(fp32Ms / (row.encode_ms as number), 3);
    }
    out[v] = row;
    log(`${v}: encoder ${row.encode_ms} ms${row.max_abs_diff !== undefined ? `, ${row.speed_vs_fp32}× fp32, max |Δ| ${row.max_abs_diff}, rel rms ${row.rel_rms_diff}, tokens agree ${row.token_agreement}` : ""}`);
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Bun.argv.slice(2), options: { "model-dir": { type: "string" }, reps: { type: "string" }, seconds: { type: "string" }, json: { type: "string" } }, strict: true });
  const root = resolve(import.meta.dir, "../..");
  const dir = resolve(values["model-dir"] ?? join(root, ".bench/model"));
  const log = (s: string) => console.error(`[int8 ${new Date().toISOString().slice(11, 19)}] ${s}`);
  log(`CPU: ${describeCpuInt8(cpuInt8Features())}`);
  const encoders = writeInt8Variants(dir, join(root, ".bench", "variants"), log);
  const r = await measureInt8(selectModelFiles(dir, "fp32"), encoders, speechLikeClip(Number(values.seconds ?? 16)).samples, Number(values.reps ?? 5), log);
  const json = JSON.stringify(r, null, 2);
  if (values.json) writeFileSync(values.json, json);
  else console.log(json);
}
