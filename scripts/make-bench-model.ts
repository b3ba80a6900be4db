#!/usr/bin/env bun
/**
 * Generates the full-size GigaAM v3 e2e_rnnt stand-in for benchmarks (docs/MODEL.md §7.2):
 * ≈221 M encoder parameters (≈0.88 GB fp32), real file names and I/O contract, random
 * weights from a seed, joint biased so about one frame in four emits a token.
 *
 *   bun scripts/make-bench-model.ts [--out DIR] [--layers 16] [--d-ff 3072] [--seed 1] [--force]
 *
 * Cached: when DIR already holds a stand-in made with the same parameters (bench-model.json),
 * nothing is written. Never committed, never generated in CI.
 */
import { parseArgs } from "node:util";
import { writeStandIn } from "./bench/standin.ts";

export const DEFAULT_BENCH_MODEL_DIR = ".bench/model";

export { writeStandIn };

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      out: { type: "string" },
      layers: { type: "string" },
      "d-ff": { type: "string" },
      seed: { type: "string" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.error("usage: bun scripts/make-bench-model.ts [--out DIR] [--layers 16] [--d-ff 3072] [--seed 1] [--force]");
    process.exit(0);
  }
  const int = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--${name} must be a positive integer`);
      process.exit(2);
    }
    return n;
  };
  const out = values.out ?? DEFAULT_BENCH_MODEL_DIR;
  const r = await writeStandIn(out, {
    layers: int(values.layers, "layers"),
    dFf: int(values["d-ff"], "d-ff"),
    seed: int(values.seed, "seed"),
    force: values.force,
    log: (s) => console.error(s),
  });
  const m = r.manifest;
  console.error(
    r.cached
      ? `stand-in already in ${out} (generated in ${m.generationSeconds.toFixed(1)} s; --force to rebuild)`
      : `stand-in written to ${out} in ${m.generationSeconds.toFixed(1)} s`,
  );
  console.error(
    `parameters: encoder ${(m.parameters.encoder / 1e6).toFixed(1)} M, decoder ${(m.parameters.decoder / 1e6).toFixed(2)} M, joint ${(m.parameters.joint / 1e6).toFixed(2)} M, total ${(m.parameters.total / 1e6).toFixed(1)} M`,
  );
}
