/**
 * Peer comparisons for the benchmark: one peer run (scripts/bench/peers.py in .bench/venv) between two
 * timings of our `Transcriber` on the same files, clip and thread count, so machine drift during the run
 * does not enter the ratio. Used by scripts/bench.ts (peers section) and scripts/bench/peer-check.ts.
 *
 * The Rust engine (PyPI `gigastt`) loads a folder only as an INT8 pack: files under the official names are
 * checked against the real release's pinned SHA-256 digests (our stand-in is refused: "model load error at
 * …/v3_e2e_rnnt_vocab.txt"), and a manifest.toml whose encoder resolves to no INT8 file is refused ("gigastt
 * runs INT8 only"). `writeGigasttPack` therefore links the files under neutral names and writes a manifest
 * whose `encoder_int8` is the file to compare; the engine does not inspect that file, so the fp32 encoder
 * can be compared too by naming it there.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { tokensToWords, wordsToText } from "../../src/decode/detok.ts";
import { greedyDecode, type RnntStep } from "../../src/decode/greedy.ts";
import type { Transcriber } from "../../src/engine/transcriber.ts";
import { LogMelExtractor } from "../../src/frontend/logmel.ts";
import type { ModelFiles } from "../../src/model/files.ts";
import { RnntModel } from "../../src/model/rnnt.ts";
import { median, round } from "./stats.ts";

export type PeerName = "onnx-asr" | "gigastt";

export interface PeerRun {
  readonly peer?: string;
  readonly error?: string;
  readonly trace?: string;
  readonly load_s?: number;
  readonly times_s?: number[];
  readonly text?: string;
  readonly version?: string;
  readonly cpu_per_wall?: number;
  readonly os_threads?: number | null;
}

export interface PeerEnv {
  /** .bench/venv/bin/python */
  readonly python: string;
  /** scripts/bench/peers.py */
  readonly script: string;
  /** LD_PRELOADed for the gigastt wheel on glibc < 2.38 (scripts/bench/isoc23-shim.c), when built */
  readonly shim?: string;
}

/** Runs one peer in its own process; any failure comes back as `{ error }` (with the peer's own message). */
export function runPeer(env: PeerEnv, peer: PeerName, dir: string, wav: string, reps: number, quantization?: string): PeerRun {
  const vars = { ...process.env, OMP_NUM_THREADS: "1", ...(peer === "gigastt" && env.shim && existsSync(env.shim) ? { LD_PRELOAD: env.shim } : {}) };
  const r = spawnSync(env.python, [env.script, peer, dir, wav, "1", String(reps), ...(quantization ? [quantization] : [])], { encoding: "utf8", env: vars, timeout: 600_000 });
  if (r.error) return { error: `cannot run ${env.python}: ${r.error.message}` };
  try {
    return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as PeerRun;
  } catch {
    return { error: `no result (exit ${r.status}${r.signal ? `, ${r.signal}` : ""}): ${(r.stderr ?? "").slice(-400)}` };
  }
}

/** Names inside a pack; neutral so that no pinned digest of the real release applies. */
export const PACK_NAMES = {
  encoder: "standin_encoder.onnx",
  encoder_int8: "standin_encoder_int8.onnx",
  decoder: "standin_decoder.onnx",
  joint: "standin_joint.onnx",
  vocab: "standin_vocab.txt",
} as const;

/**
 * (Re)writes `packDir` for the Rust engine: symlinks under {@link PACK_NAMES} + manifest.toml, with
 * `encoder_int8` → `int8Encoder` (the file the engine will run). The engine's ORT graph cache
 * (`optimized_cache/`, written there on load) is removed, so a cache of other weights is never reused.
 */
export function writeGigasttPack(packDir: string, files: ModelFiles, int8Encoder: string): string {
  mkdirSync(packDir, { recursive: true });
  rmSync(join(packDir, "optimized_cache"), { recursive: true, force: true });
  const targets: Record<keyof typeof PACK_NAMES, string> = { encoder: files.encoder, encoder_int8: int8Encoder, decoder: files.decoder, joint: files.joint, vocab: files.vocab };
  for (const [k, name] of Object.entries(PACK_NAMES) as [keyof typeof PACK_NAMES, string][]) {
    rmSync(join(packDir, name), { force: true });
    symlinkSync(targets[k], join(packDir, name));
  }
  const manifest = ['architecture = "e2e_rnnt"', "[files]", ...Object.entries(PACK_NAMES).map(([k, v]) => `${k} = "${v}"`), ""].join("\n");
  writeFileSync(join(packDir, "manifest.toml"), manifest);
  return packDir;
}

/** Our greedy transcript of one whole clip (no segmentation) with a given per-frame token cap. */
export async function directTranscript(files: ModelFiles, samples: Float32Array, maxSymbolsPerFrame: number): Promise<string> {
  const f = new LogMelExtractor().compute(samples);
  const m = await RnntModel.load(files, { intraOpThreads: 1 });
  try {
    const e = await m.encode(f.features, f.frames);
    return wordsToText(tokensToWords(await greedyDecode(m as RnntStep, e.enc, e.frames, { maxSymbolsPerFrame }), m.vocab));
  } finally {
    await m.release();
  }
}

/** 1 − (character edit distance ÷ longer length): 1 = identical texts. */
export function textAgreement(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  if (x.length === 0 && y.length === 0) return 1;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return 1 - prev[y.length]! / Math.max(x.length, y.length);
}

export interface Comparison {
  /** ours ÷ theirs (medians), or why there is none */
  readonly ratio: number | { error: string };
  readonly details: Record<string, unknown>;
}

export interface CompareOptions {
  readonly env: PeerEnv;
  readonly peer: PeerName;
  /** the folder the peer loads */
  readonly dir: string;
  readonly wav: string;
  /** the same clip as PCM floats (the WAV's PCM16 values ÷ 32768) */
  readonly samples: Float32Array;
  /** our default pipeline (pause compaction on) on the same encoder/decoder/joint files, 1 worker × 1 thread: the ratio */
  readonly ours: Transcriber;
  /**
   * The same files with pause compaction off (every sample encoded, as the peers do), timed alongside `ours`:
   * a second, like-for-like ratio; its transcript is the one compared with the peer's (compaction changes the audio).
   */
  readonly likeForLike?: Transcriber;
  readonly ourFiles: ModelFiles;
  /** shown after the encoder file in the report's row name, e.g. how the peer was made to load that file */
  readonly note?: string;
  /** timed runs per side (after one warm-up each) */
  readonly reps: number;
  /** paths in the details are written relative to this folder */
  readonly root: string;
  /** the peer's per-frame token cap when it differs from ours (gigastt: 10): our text at that cap is compared too */
  readonly peerCap?: number;
  readonly log?: (s: string) => void;
}

/** Times ours, the peer, ours again; ratio = mean of our two medians ÷ the peer's median (likewise like for like). */
export async function compareWithPeer(o: CompareOptions): Promise<Comparison> {
  const rel = (p: string) => relative(o.root, p);
  const files = { encoder: rel(o.ourFiles.encoder), decoder: rel(o.ourFiles.decoder), joint: rel(o.ourFiles.joint), vocab: rel(o.ourFiles.vocab), peer_dir: rel(o.dir) };
  let text = "";
  /** medians of `reps` timed runs (after a warm-up) of ours and, interleaved, of the like-for-like pipeline */
  const oursNow = async () => {
    await o.ours.transcribe(o.samples);
    await o.likeForLike?.transcribe(o.samples);
    const runs: number[] = [];
    const lflRuns: number[] = [];
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let i = 0; i < o.reps; i++) {
      let t = performance.now();
      const r = await o.ours.transcribe(o.samples);
      runs.push(performance.now() - t);
      text = r.text;
      if (o.likeForLike) {
        t = performance.now();
        text = (await o.likeForLike.transcribe(o.samples)).text;
        lflRuns.push(performance.now() - t);
      }
    }
    const c = process.cpuUsage(c0);
    return { ms: median(runs), runs, lflMs: lflRuns.length ? median(lflRuns) : Number.NaN, lflRuns, cpuPerWall: (c.user + c.system) / 1000 / (performance.now() - w0) };
  };
  const before = await oursNow();
  const out = runPeer(o.env, o.peer, o.dir, o.wav, o.reps);
  if (out.error || !out.times_s?.length) {
    const error = out.error ?? "no timings";
    o.log?.(`peer ${o.peer} (${files.peer_dir}): could not run: ${error}`);
    return { ratio: { error }, details: { peer: o.peer, ...(o.note ? { note: o.note } : {}), files, error, trace: out.trace } };
  }
  const after = await oursNow();
  const ourMs = (before.ms + after.ms) / 2;
  const theirs = median(out.times_s) * 1000;
  const details: Record<string, unknown> = {
    peer: o.peer,
    ...(o.note ? { note: o.note } : {}),
    files,
    version: out.version,
    load_s: round(out.load_s ?? Number.NaN, 2),
    median_ms: round(theirs, 0),
    runs_ms: out.times_s.map((x) => round(x * 1000, 0)),
    threads: 1,
    // CPU time ÷ wall time over the timed runs: ≈ 1 means one busy thread
    peer_cpu_per_wall: round(out.cpu_per_wall ?? Number.NaN, 2),
    peer_os_threads: out.os_threads ?? null,
    ours_cpu_per_wall: round((before.cpuPerWall + after.cpuPerWall) / 2, 2),
    ours_before_ms: round(before.ms, 0),
    ours_after_ms: round(after.ms, 0),
    ours_runs_ms: [...before.runs, ...after.runs].map((x) => round(x, 0)),
    ...(o.likeForLike
      ? {
          // pause compaction off: both sides encode all 16 s
          like_for_like: {
            ratio: round((before.lflMs + after.lflMs) / 2 / theirs, 3),
            ours_before_ms: round(before.lflMs, 0),
            ours_after_ms: round(after.lflMs, 0),
            ours_runs_ms: [...before.lflRuns, ...after.lflRuns].map((x) => round(x, 0)),
          },
        }
      : {}),
    // same model files, same audio: a conforming pipeline gives the same greedy transcript
    transcript_of: o.likeForLike ? "like_for_like" : "ours",
    transcript_identical: out.text === text,
  };
  if (out.text !== text) {
    const theirsText = out.text ?? "";
    details.text_chars = { ours: text.length, theirs: theirsText.length };
    details.text_agreement = round(textAgreement(text, theirsText), 3);
    if (o.peerCap !== undefined) {
      // the Rust engine emits up to 10 tokens per frame, ours 3 (docs/MODEL.md §4.1): our text at their cap, whole clip
      const capped = await directTranscript(o.ourFiles, o.samples, o.peerCap);
      details.peer_cap = o.peerCap;
      details.transcript_identical_at_peer_cap = capped === theirsText;
      details.text_agreement_at_peer_cap = round(textAgreement(capped, theirsText), 3);
    }
  }
  const ratio = round(ourMs / theirs, 3);
  const lfl = (details.like_for_like as { ratio: number } | undefined)?.ratio;
  o.log?.(
    `peer ${o.peer} (${files.encoder}): ${theirs.toFixed(0)} ms vs ours ${ourMs.toFixed(0)} ms (before/after) → ratio ${ratio}${lfl !== undefined ? `, like for like (pause compaction off) ${lfl}` : ""}; transcript identical: ${details.transcript_identical}`,
  );
  return { ratio, details };
}
