#!/usr/bin/env bun
/**
 * The benchmark's Rust-engine comparison alone (a couple of minutes instead of the whole benchmark):
 *
 *   bun scripts/bench/peer-check.ts [--reps N] [--fp32] [--onnx-asr]
 *
 * Uses what `bun run bench` leaves in .bench/ (the stand-in model, .bench/venv, the shim); writes the
 * weight-only int8 encoder if it is missing. Compares the Rust engine (PyPI `gigastt`) on a manifest pack
 * whose INT8 encoder is the weight-only file (the Rust server's own scheme) with our Transcriber on the same
 * files; `--fp32` adds the fp32 encoder named as the pack's INT8 encoder; `--onnx-asr` adds onnx-asr (fp32).
 * Our side is timed twice, as in the benchmark: the default pipeline (the ratio) and, interleaved, with pause
 * compaction off (every sample encoded, as the peers do: `like_for_like`). Prints the same JSON the benchmark stores under `peer_ratio` / `peers`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { type ModelFiles, selectModelFiles } from "../../src/model/files.ts";
import { quantizeEncoderFile } from "../../src/quantize/index.ts";
import { speechLikeClip, toWav } from "./clip.ts";
import { compareWithPeer, type PeerEnv, writeGigasttPack } from "./peer-compare.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BENCH = join(ROOT, ".bench");
const { values: args } = parseArgs({ args: Bun.argv.slice(2), options: { reps: { type: "string" }, fp32: { type: "boolean" }, "onnx-asr": { type: "boolean" } }, strict: true });
const reps = Number(args.reps ?? 3);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${args.reps}`);
const log = (s: string) => console.error(`[peer-check ${new Date().toISOString().slice(11, 19)}] ${s}`);

const modelDir = join(BENCH, "model");
const env: PeerEnv = { python: join(BENCH, "venv/bin/python"), script: join(import.meta.dir, "peers.py"), shim: join(BENCH, "isoc23-shim.so") };
if (!existsSync(env.python)) throw new Error(`${env.python} is missing: run \`bun run bench\` once (it creates the peers' venv)`);
if (!existsSync(env.shim!)) spawnSync("cc", ["-shared", "-fPIC", "-O2", "-o", env.shim!, join(import.meta.dir, "isoc23-shim.c")]);
const fp32 = selectModelFiles(modelDir, "fp32");
const woPath = join(BENCH, "variants", "v3_e2e_rnnt_encoder.weight-only.onnx");
if (!existsSync(woPath)) quantizeEncoderFile({ modelDir, mode: "weight-only", out: woPath });

const clip = speechLikeClip(16);
const wav = toWav(clip.samples);
const wavPath = join(BENCH, "peer-check-clip16.wav");
writeFileSync(wavPath, wav);
const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.byteLength));
const samples = Float32Array.from(pcm, (x) => x / 32768);

const runs: { key: string; peer: "gigastt" | "onnx-asr"; dir: string; files: ModelFiles; cap?: number; note?: string }[] = [
  { key: "gigastt", peer: "gigastt", dir: writeGigasttPack(join(BENCH, "variants", "gigastt-pack"), fp32, woPath), files: { ...fp32, encoder: woPath, precision: "int8" }, cap: 10 },
];
if (args.fp32) runs.push({ key: "gigastt_fp32", peer: "gigastt", dir: writeGigasttPack(join(BENCH, "variants", "gigastt-pack-fp32"), fp32, fp32.encoder), files: fp32, cap: 10, note: "as its INT8 file" });
if (args["onnx-asr"]) runs.push({ key: "onnx-asr", peer: "onnx-asr", dir: modelDir, files: fp32 });

const peer_ratio: Record<string, unknown> = {};
const peers: Record<string, unknown> = {};
for (const r of runs) {
  const ours = await Transcriber.fromFiles(r.files, { workers: 1, threadsPerWorker: 1 });
  const likeForLike = await Transcriber.fromFiles(r.files, { workers: 1, threadsPerWorker: 1, compactPauses: false });
  try {
    const c = await compareWithPeer({ env, peer: r.peer, dir: r.dir, wav: wavPath, samples, ours, likeForLike, ourFiles: r.files, reps, root: ROOT, log, ...(r.cap ? { peerCap: r.cap } : {}), ...(r.note ? { note: r.note } : {}) });
    peer_ratio[r.key] = c.ratio;
    peers[r.key] = c.details;
  } finally {
    await ours.close();
    await likeForLike.close();
    // the Rust engine leaves an ORT graph cache as large as the encoder in the pack
    if (r.peer === "gigastt") rmSync(join(r.dir, "optimized_cache"), { recursive: true, force: true });
  }
}
console.log(JSON.stringify({ peer_ratio, peers }, null, 2));
