#!/usr/bin/env bun
/**
 * onnxruntime's own profiler on one encoder file: where the encoder floor goes, per op type
 * (after graph fusion), for the 16 s benchmark clip on one thread.
 *
 *   bun scripts/bench/ort-profile.ts [ENCODER.onnx (default .bench/model/v3_e2e_rnnt_encoder.onnx)]
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { LogMelExtractor } from "../../src/frontend/logmel.ts";
import { speechLikeClip } from "./clip.ts";

const file = Bun.argv[2] ?? join(import.meta.dir, "../../.bench/model/v3_e2e_rnnt_encoder.onnx");
const { features, frames } = new LogMelExtractor().compute(speechLikeClip(16).samples);
const feeds = () => ({
  audio_signal: new ort.Tensor("float32", features, [1, 64, frames]),
  length: new ort.Tensor("int64", BigInt64Array.of(BigInt(frames)), [1]),
});
// the same options as src/runtime/ort.ts, plus profiling
const session = await ort.InferenceSession.create(file, {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  enableProfiling: true,
  profileFilePrefix: join(tmpdir(), `gigastt-ortprof-${process.pid}`),
  extra: { session: { disable_prepacking: "1" } },
});
await session.run(feeds()); // warm-up
await session.run(feeds());
session.endProfiling();
const prefix = `gigastt-ortprof-${process.pid}`;
const found = readdirSync(tmpdir()).find((f) => f.startsWith(prefix) && f.endsWith(".json"));
if (!found) throw new Error(`no profile ${prefix}*.json in ${tmpdir()}`);
const profile = join(tmpdir(), found);
type Ev = { cat?: string; name: string; ts: number; dur: number; args?: { op_name?: string } };
const events = JSON.parse(readFileSync(profile, "utf8")) as Ev[];
rmSync(profile, { force: true });
const run = events.filter((e) => e.cat === "Session" && e.name === "model_run").at(-1)!;
const byOp = new Map<string, number>();
for (const e of events) {
  if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || e.ts < run.ts || e.ts > run.ts + run.dur) continue;
  const op = e.args?.op_name ?? "?";
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
console.log(`${file}: run ${(run.dur / 1000).toFixed(0)} ms, kernels ${(total / 1000).toFixed(0)} ms`);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
  console.log(`  ${op.padEnd(26)} ${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %`);
}
