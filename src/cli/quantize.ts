/**
 * `gigastt quantize`: writes an int8 encoder next to the fp32 one.
 *
 * Default: dynamic quantization (DynamicQuantizeLinear + MatMulInteger, per-channel s8 weights
 * within ±63 on the output axis — exact on every CPU, VNNI or not) → `v3_e2e_rnnt_encoder.int8.onnx`, the file
 * `--precision int8` loads. `--weight-only`: the Rust server's scheme (int8 weights behind
 * DequantizeLinear, fp32 compute) → `v3_e2e_rnnt_encoder_int8.onnx`.
 */
import { defineCommand } from "citty";
import { EXIT } from "../errors.ts";
import { resolveModelDir } from "../model/files.ts";
import { quantizeEncoderFile } from "../quantize/file.ts";

export interface QuantizeCliArgs {
  readonly modelDir?: string;
  readonly force?: boolean;
  readonly weightOnly?: boolean;
  readonly out?: string;
}

export function runQuantize(
  args: QuantizeCliArgs,
  deps: { env?: Record<string, string | undefined>; stderr?: (s: string) => void } = {},
): number {
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const dir = resolveModelDir(args.modelDir, deps.env ?? process.env);
  const mode = args.weightOnly ? "weight-only" : "dynamic";
  const r = quantizeEncoderFile({ modelDir: dir, mode, force: args.force, out: args.out });
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  if (r.skipped) {
    err(
      r.foreign
        ? `${r.out} was not made by gigastt (producer '${r.foreign}'; e.g. the published int8 set) and is kept; use --force to replace it (serve checks it and, where it would clip on this CPU, uses an exact copy)\n`
        : `${r.out} already exists (${mb(r.bytesOut)}); use --force to write it again\n`,
    );
    return EXIT.ok;
  }
  if (r.replaced) err(`${r.out}: ${r.replaced}\n`);
  const s = r.stats!;
  err(
    `quantized (${mode}) ${r.source} (${mb(r.bytesIn)}) → ${r.out} (${mb(r.bytesOut)}) in ${r.seconds.toFixed(1)} s: ` +
      `${s.nodes} nodes, ${s.tensors} weights, ${(s.elements / 1e6).toFixed(1)} M int8 values, ${(s.fp32Elements / 1e6).toFixed(2)} M fp32 values left\n`,
  );
  return EXIT.ok;
}

export default defineCommand({
  meta: { name: "quantize", description: "Write an int8 encoder (dynamic int8 MatMul by default) next to the fp32 model" },
  args: {
    "model-dir": { type: "string", description: "Model directory (default $GIGASTT_MODEL_DIR or ~/.gigastt/models)", valueHint: "DIR" },
    force: { type: "boolean", description: "Rewrite the int8 file if it exists" },
    "weight-only": { type: "boolean", description: "Weight-only int8 (DequantizeLinear → MatMul, like the Rust server) → v3_e2e_rnnt_encoder_int8.onnx" },
    out: { type: "string", description: "Output file (default: next to the fp32 encoder)", valueHint: "FILE" },
  },
  run({ args }) {
    return runQuantize({ modelDir: args["model-dir"], force: args.force, weightOnly: args["weight-only"], out: args.out });
  },
});
