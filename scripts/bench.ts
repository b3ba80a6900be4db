#!/usr/bin/env bun
/**
 * The benchmark (issue 6): one process run on the full-size stand-in model.
 *
 *   bun run bench [-- --json FILE] [--quick] [--model-dir DIR] [--no-peers] [--no-server]
 *
 * Measures the front end, file transcription against the encoder floor, latency vs audio
 * length (docs/latency.svg), fp32 vs int8 encoders, the server (concurrent real-time
 * WebSocket streams, REST throughput, event-loop lag), memory and startup of `gigastt serve`,
 * and the peers (onnx-asr, the Rust engine's Python bindings) on the same files. Writes JSON
 * and the generated part of BENCHMARKS.md. Exits 0 once every figure is measured, whether
 * or not the targets are met. Not a test.
 */
import { benchAudioDecode } from "./bench/audio-decode.ts";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Transcriber } from "../src/engine/transcriber.ts";
import { LogMelExtractor } from "../src/frontend/logmel.ts";
import { type ModelFiles, selectModelFiles } from "../src/model/files.ts";
import { createSession, ortVersion, tensorF32, tensorI64 } from "../src/runtime/ort.ts";
import { compactPauses } from "../src/segment/compact.ts";
import { Segmenter } from "../src/segment/segmenter.ts";
import { STREAM_SEGMENTER } from "../src/stream/utterances.ts";
import type { Word } from "../src/types.ts";
import { runServe } from "../src/cli/serve.ts";
import { mappedPaths, writeMappedLayout } from "../src/store/mapped.ts";
import { useMappedLayout } from "../src/store/mapped-model.ts";
import { speechLikeClip, toWav } from "./bench/clip.ts";
import { renderReport, writeBenchmarksMd } from "./bench/report.ts";
import { type DecodeRecord, restThroughput, type StreamTrialResult, streamTrial } from "./bench/server-load.ts";
import { readManifest, writeStandIn } from "./bench/standin.ts";
import { streamIdeas } from "./bench/stream-ideas.ts";
import { measureInt8, writeInt8Variants } from "./bench/int8.ts";
import { cpuBusy, machineInfo, median, procMemory, procPss, round, timeIt } from "./bench/stats.ts";
import { latencyPlot } from "./bench/svg.ts";

const ROOT = resolve(import.meta.dir, "..");
const { values: args } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    json: { type: "string" },
    quick: { type: "boolean" },
    "model-dir": { type: "string" },
    "no-peers": { type: "boolean" },
    "no-server": { type: "boolean" },
    note: { type: "string" },
    "int8-server": { type: "boolean" },
    /** also the server with prepacked final Workers (the session-layout comparison; always in a full run) */
    layouts: { type: "boolean" },
  },
  strict: true,
});
const QUICK = !!args.quick;
const MODEL_DIR = resolve(args["model-dir"] ?? join(ROOT, ".bench/model"));
const BENCH_DIR = join(ROOT, ".bench");
const JSON_OUT = resolve(args.json ?? join(BENCH_DIR, QUICK ? "bench-quick.json" : "bench.json"));
mkdirSync(BENCH_DIR, { recursive: true });

const log = (s: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);
const tStart = performance.now();
const result: Record<string, unknown> = {};

// ---------------------------------------------------------------- machine, model
const machine = machineInfo();
log(`machine: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadavg.join(" ")}`);
const busyBefore = await cpuBusy(2000);
// an explicit --model-dir keeps the parameters it was generated with (e.g. a small variant)
const prevManifest = args["model-dir"] ? readManifest(MODEL_DIR) : undefined;
const gen = await writeStandIn(MODEL_DIR, { log, ...(prevManifest ? { layers: prevManifest.layers, dFf: prevManifest.dFf, seed: prevManifest.seed } : {}) });
const manifest = gen.manifest;
log(`stand-in ${gen.cached ? "cached" : "generated"} in ${MODEL_DIR} (${(manifest.parameters.total / 1e6).toFixed(1)} M parameters)`);
const fp32Files = selectModelFiles(MODEL_DIR, "fp32");
const modelBytes = Object.entries(manifest.bytes).filter(([f]) => f.startsWith("v3_")).reduce((a, [, n]) => a + n, 0);

// the 16 s clip, as the WAV the peers read (our pipeline gets the same PCM16 values)
const clip16 = speechLikeClip(16);
const wav16 = toWav(clip16.samples);
const wavPath = join(BENCH_DIR, "clip16.wav");
writeFileSync(wavPath, wav16);
const samples16 = pcmToFloat(wav16.subarray(44));
const mel = new LogMelExtractor();
const feats16 = mel.compute(samples16);

/** seconds of audio the default pipeline encodes for `x` (its ≤ 20 s segments, each pause-compacted) */
function compactedSeconds(x: Float32Array): number {
  const seg = new Segmenter({ sampleRate: 16000 });
  return [...seg.push(x), ...seg.flush()].reduce((a, s) => a + compactPauses(s.samples).samples.length, 0) / 16000;
}

function pcmToFloat(b: Uint8Array): Float32Array {
  const v = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return Float32Array.from(v, (x) => x / 32768);
}

// ---------------------------------------------------------------- front end
{
  const sixty = speechLikeClip(60, 99).samples;
  const times = await timeIt(() => mel.compute(sixty), QUICK ? 10 : 30, 3);
  result.frontend_x_realtime = round(60000 / median(times), 0);
  result.frontend = { audio_s: 60, median_ms: round(median(times), 2), runs: times.length, threads: 1 };
  log(`front end: ${result.frontend_x_realtime}× real time`);
}

// ---------------------------------------------------------------- file transcription vs encoder floor
const REPS = QUICK ? 3 : 7;
let ourText16 = "";
// target 1 measures the pipeline's overhead over the encoder on the same input: pause compaction off
// the files `serve` loads: every graph in the mapped layout (src/store/mapped.ts), derived once here
const mapped = await useMappedLayout({ files: fp32Files, log: { info: log, warn: log }, derive: async (src) => writeMappedLayout(src) });
const mappedFiles = mapped.files;
/** PSS of this process (its Workers are threads of it) after `f`, minus before: what `f` added, MB */
async function pssDelta<T>(f: () => Promise<T>): Promise<{ value: T; mb: number }> {
  const before = procPss()?.pssMb ?? Number.NaN;
  const value = await f();
  return { value, mb: round((procPss()?.pssMb ?? Number.NaN) - before, 0) };
}
const pssAfterRun = async (t: Transcriber) => {
  await t.transcribe(samples16);
  return t;
};
// the server's session layout (mapped weights, no prepacking), one Worker, pause compaction off
const l1 = await pssDelta(async () => pssAfterRun(await Transcriber.fromFiles(mappedFiles, { workers: 1, threadsPerWorker: 1, compactPauses: false })));
const t1 = l1.value;
// the default pipeline (long pauses shortened before the encoder), what users and the peer comparison get
const tc = await Transcriber.fromFiles(mappedFiles, { workers: 1, threadsPerWorker: 1 });
// the same Worker with prepacked weights (a private copy: the other session layout)
const lp = await pssDelta(async () => pssAfterRun(await Transcriber.fromFiles(mappedFiles, { workers: 1, threadsPerWorker: 1, compactPauses: false, prepack: true })));
const tp = lp.value;
// encoder floors, one thread: the embedded file without prepacking (every Worker before the mapped
// layout), the mapped file without it (every Worker now), and prepacking on (onnxruntime's fastest)
const floor = await createSession(fp32Files.encoder, { intraOpThreads: 1 });
const floorMapped = await createSession(mappedFiles.encoder, { intraOpThreads: 1 });
const floorPacked = await createSession(fp32Files.encoder, { intraOpThreads: 1, prepack: true });
const runOn = (s: typeof floor, f: { features: Float32Array; frames: number }) =>
  s.run({ audio_signal: tensorF32(f.features, [1, 64, f.frames]), length: tensorI64(BigInt64Array.of(BigInt(f.frames)), [1]) });
const floorRun = (f: { features: Float32Array; frames: number }) => runOn(floor, f);
{
  await t1.transcribe(samples16);
  await tc.transcribe(samples16);
  await floorRun(feats16);
  await tp.transcribe(samples16);
  await runOn(floorMapped, feats16);
  await runOn(floorPacked, feats16);
  const e2e: number[] = [];
  const fl: number[] = [];
  const comp: number[] = [];
  const e2ePacked: number[] = [];
  const flMapped: number[] = [];
  const flPacked: number[] = [];
  const timed = async (into: number[], f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    into.push(performance.now() - t);
  };
  let words = 0;
  let compactWords = 0;
  for (let i = 0; i < REPS; i++) {
    let t = performance.now();
    const tr = await t1.transcribe(samples16);
    words = tr.words.length;
    e2e.push(performance.now() - t);
    t = performance.now();
    await floorRun(feats16);
    fl.push(performance.now() - t);
    t = performance.now();
    const tcr = await tc.transcribe(samples16);
    comp.push(performance.now() - t);
    compactWords = tcr.words.length;
    ourText16 = tcr.text;
    // the other layouts, interleaved with the ones above (same load, same window)
    await timed(e2ePacked, () => tp.transcribe(samples16));
    await timed(flMapped, () => runOn(floorMapped, feats16));
    await timed(flPacked, () => runOn(floorPacked, feats16));
  }
  const best = Math.min(median(fl), median(flMapped), median(flPacked));
  result.best_floor_ms = round(best, 0);
  result.e2e_over_best_floor = round(median(e2e) / best, 3);
  result.layouts = {
    mapped: { e2e_ms: round(median(e2e), 0), floor_ms: round(median(flMapped), 0), worker_pss_mb: l1.mb, runs_ms: e2e.map((x) => round(x, 0)) },
    prepacked: { e2e_ms: round(median(e2ePacked), 0), floor_ms: round(median(flPacked), 0), worker_pss_mb: lp.mb, runs_ms: e2ePacked.map((x) => round(x, 0)) },
    embedded_unpacked: { floor_ms: round(median(fl), 0) },
  };
  log(`layouts: ${JSON.stringify(result.layouts)}; e2e ÷ best floor ${result.e2e_over_best_floor}`);
  await tp.close();
  await floorMapped.release();
  await floorPacked.release();
  const e2eMs = median(e2e);
  const floorMs = median(fl);
  const compMs = median(comp);
  result.e2e_over_floor = round(e2eMs / floorMs, 3);
  result.encoder_rtf_1thread = round(floorMs / 16000, 4);
  const encodedSeconds = compactedSeconds(samples16);
  result.file16 = {
    audio_s: 16,
    threads: 1,
    workers: 1,
    reps: REPS,
    e2e_ms: round(e2eMs, 0),
    floor_ms: round(floorMs, 0),
    e2e_runs_ms: e2e.map((x) => round(x, 0)),
    floor_runs_ms: fl.map((x) => round(x, 0)),
    words,
    // the default pipeline: long pauses shortened before the encoder
    compact_ms: round(compMs, 0),
    compact_over_floor: round(compMs / floorMs, 3),
    compact_runs_ms: comp.map((x) => round(x, 0)),
    compact_encoded_s: round(encodedSeconds, 2),
    compact_words: compactWords,
  };
  log(`16 s file: e2e ${e2eMs.toFixed(0)} ms, floor ${floorMs.toFixed(0)} ms, ratio ${result.e2e_over_floor}; with pause compaction ${compMs.toFixed(0)} ms (${encodedSeconds.toFixed(2)} s encoded)`);
}

// ---------------------------------------------------------------- audio decoding (MP3, AAC, Vorbis, Opus, FLAC, WAV)
{
  const ad = await benchAudioDecode(samples16, REPS, (audio) => tc.transcribeStream(audio));
  result.audio_decode = ad;
  log(`audio decoding: ${Object.entries(ad.speed).map(([k, v]) => `${k} ${typeof v === "number" ? `${v}×` : "error"}`).join(", ")}`);
  log(`decode share of the 16 s clip: ${JSON.stringify(ad.share)}`);
  log(`loop lag while a long MP3 and a long M4A decode (p99 target ≤ 20 ms): ${JSON.stringify(ad.lag)}`);
}

// ---------------------------------------------------------------- latency vs audio length
{
  const lengths = [2, 5, 10, 16, 20, 40, 120];
  const rows: { seconds: number; e2e_ms: number; floor_ms: number | null }[] = [];
  for (const s of lengths) {
    const samples = speechLikeClip(s, 300 + s).samples;
    const reps = s >= 120 ? 1 : s >= 40 ? (QUICK ? 1 : 2) : QUICK ? 2 : 3;
    const e2e = median(await timeIt(() => t1.transcribe(samples), reps, s >= 40 ? 0 : 1));
    let fl: number | null = null;
    if (s <= 40 || !QUICK) {
      const f = mel.compute(samples);
      fl = median(await timeIt(() => floorRun(f), s >= 40 ? 1 : reps, s >= 40 ? 0 : 1));
    }
    rows.push({ seconds: s, e2e_ms: round(e2e, 0), floor_ms: fl === null ? null : round(fl, 0) });
    log(`latency ${s} s: pipeline ${e2e.toFixed(0)} ms, one encoder call ${fl === null ? "—" : fl.toFixed(0)} ms`);
  }
  result.latency = rows;
  const svg = latencyPlot({
    title: "gigastt: transcription time vs audio length (stand-in GigaAM v3, fp32, 1 thread)",
    subtitle: `${machine.cpu.replace(/\s+/g, " ")} · ${new Date().toISOString().slice(0, 10)}${QUICK ? " · --quick" : ""}`,
    xLabel: "audio length (s)",
    yLabel: "wall time (ms)",
    markX: { x: 20, label: "20 s segments" },
    series: [
      { name: "gigastt pipeline (≤20 s segments, 1 worker)", color: "#1f77b4", points: rows.map((r) => ({ x: r.seconds, y: r.e2e_ms })) },
      {
        name: "one encoder call on the whole clip",
        color: "#d62728",
        dashed: true,
        points: rows.filter((r) => r.floor_ms !== null).map((r) => ({ x: r.seconds, y: r.floor_ms! })),
      },
    ],
  });
  mkdirSync(join(ROOT, "docs"), { recursive: true });
  writeFileSync(join(ROOT, "docs/latency.svg"), svg);
}
await floor.release();

// ---------------------------------------------------------------- decoder share, int8 variants
{
  // always rewritten: a file left by an earlier run may come from another stand-in
  const encoders = writeInt8Variants(MODEL_DIR, join(BENCH_DIR, "variants"), log);
  const q = await measureInt8(fp32Files, encoders, samples16, REPS, log);
  const fp = q.fp32 as { encode_ms: number; decode_ms: number; tokens: number; frames: number };
  result.decode_share = round(fp.decode_ms / fp.encode_ms, 4);
  result.decode = { encode_ms: fp.encode_ms, decode_ms: fp.decode_ms, tokens: fp.tokens, frames: fp.frames, tokens_per_frame: round(fp.tokens / fp.frames, 3) };
  log(`decoder+joint: ${fp.decode_ms} ms for ${fp.tokens} tokens / ${fp.frames} frames = ${(100 * (result.decode_share as number)).toFixed(2)} % of the encoder`);
  result.quantize = q;
}
await t1.close();
// nothing of this process may map the model when the serve subprocesses' PSS is read (a shared page counts 1/n)
await tc.close();


// ---------------------------------------------------------------- server (in this process)
async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
    s.on("error", rej);
  });
}

async function waitReady(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end && alive()) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`);
      if (r.status === 200) return true;
    } catch {}
    await Bun.sleep(25);
  }
  return false;
}

// `serve --precision int8` wants int8 files for all three graphs (the HF int8 set); `gigastt quantize`
// makes the encoder only, so the decoder and joint (7 MB together) are linked in as fp32
const int8Dir = join(BENCH_DIR, "variants", "int8");
{
  mkdirSync(int8Dir, { recursive: true });
  const links: [string, string][] = [
    ["v3_e2e_rnnt_encoder.onnx", fp32Files.encoder],
    ["v3_e2e_rnnt_encoder.int8.onnx", join(MODEL_DIR, "v3_e2e_rnnt_encoder.int8.onnx")],
    ["v3_e2e_rnnt_decoder.onnx", fp32Files.decoder],
    ["v3_e2e_rnnt_decoder.int8.onnx", fp32Files.decoder],
    ["v3_e2e_rnnt_joint.onnx", fp32Files.joint],
    ["v3_e2e_rnnt_joint.int8.onnx", fp32Files.joint],
    ["v3_e2e_rnnt_vocab.txt", fp32Files.vocab],
  ];
  for (const [name, target] of links) {
    rmSync(join(int8Dir, name), { force: true });
    symlinkSync(target, join(int8Dir, name));
  }
}

/** `gigastt serve` in this process: REST throughput + loop lag, then stream trials until one fails. */
async function serverPhase(precision: "fp32" | "int8", partialPrecision: "fp32" | "int8" = "int8", prepack = false): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { precision, partial_precision: precision === "int8" ? "int8" : partialPrecision, ...(prepack ? { prepack } : {}) };
  const result = out;
  const port = await freePort();
  const decodes: DecodeRecord[] = [];
  const signals = new (await import("node:events")).EventEmitter();
  const workers = machine.cores;
  const serving = runServe(
    ["--port", String(port), "--model-dir", precision === "int8" ? int8Dir : MODEL_DIR, "--precision", precision, "--partial-precision", partialPrecision, "--offline", "--workers", String(workers), "--pool-size", "64", "--log-level", "error", "--idle-timeout-secs", "600"],
    {
      signals: signals as unknown as Pick<NodeJS.Process, "on" | "off">,
      isTTY: false,
      loadTranscriber: async (files, w, o) => {
        const t = await Transcriber.fromFiles(files, { workers: w, ...o, ...(prepack ? { prepack } : {}) });
        // serve is ready before its partial Worker; the trials start with it loaded
        await t.partialWorkersReady();
        out.partial_encoder = t.info.partialEncoder ? basename(t.info.partialEncoder) : null;
        return {
          get info() {
            return t.info;
          },
          transcribeStream: (chunks, o) => t.transcribeStream(chunks, o),
          close: () => t.close(),
          partialSlot: (signal?: AbortSignal) => t.partialSlot(signal),
          async decodeSegment(samples: Float32Array, offsetSeconds: number, o?: { session?: string; signal?: AbortSignal; purpose?: "final" | "partial" }): Promise<Word[]> {
            const head = samples.slice(0, 16);
            const end = offsetSeconds + samples.length / 16000;
            const words = await t.decodeSegment(samples, offsetSeconds, o);
            decodes.push({ session: o?.session ?? "", offset: offsetSeconds, end, done: performance.now(), head, words });
            return words;
          },
        };
      },
    },
  );
  if (!(await waitReady(port, 120_000))) throw new Error("in-process server did not become ready");
  log(`server (${precision}, partials ${out.partial_precision}, partial encoder ${out.partial_encoder}) ready on ${port} with ${workers} workers`);
  const rest = await restThroughput({ port, concurrency: 2 * workers, seconds: QUICK ? 12 : 30 });
  result.rest_5s = rest;
  result.loop_lag_p99_ms = rest.loopLagP99;
  log(`REST 5 s clips: ${rest.clipsPerSecond}/s (${rest.xRealtime}× real time), loop lag p99 ${rest.loopLagP99} ms`);

  const trials: StreamTrialResult[] = [];
  const seconds = QUICK ? 20 : 30;
  const minPause = STREAM_SEGMENTER.minPauseMs / 1000;
  let baselineRate = 0;
  let sustained = 0;
  const ok = (r: StreamTrialResult) =>
    r.errors.length === 0 && r.partialP95 <= 500 && r.finalP95 <= 1000 && r.partialsPerSpeechSecond >= 0.7 * baselineRate && r.partialSamples > 0 && r.finalSamples > 0;
  const plan = QUICK ? [1, 3, 5, 6, 7, 9] : [1, 2, 3, 4, 5, 6, 7, 8, 10, 12];
  for (const n of plan) {
    const r = await streamTrial({ port, streams: n, seconds, decodes, minPauseSeconds: minPause });
    if (n === 1) baselineRate = r.partialsPerSpeechSecond;
    trials.push(r);
    const pass = ok(r);
    log(`streams ${n}: partial p50/p95 ${r.partialP50}/${r.partialP95} ms, final p50/p95 ${r.finalP50}/${r.finalP95} ms, ${r.partialsPerSpeechSecond} partials/s of speech, loop lag p99 ${r.loopLagP99} ms${r.errors.length ? `, errors: ${r.errors.slice(0, 2).join("; ")}` : ""} → ${pass ? "sustained" : "not sustained"}`);
    if (pass) sustained = n;
    else if (trials.length >= 2) break;
  }
  const at = trials.find((t) => t.streams === sustained) ?? trials[0]!;
  result.sustained_streams = sustained;
  result.partial_p50_ms = at.partialP50;
  result.partial_p95_ms = at.partialP95;
  result.final_p50_ms = at.finalP50;
  result.final_p95_ms = at.finalP95;
  result.stream_trials = trials;
  signals.emit("SIGTERM", "SIGTERM");
  await serving;
  return out;
}

if (!args["no-server"]) {
  // the default: fp32 finals, partials on the dynamic int8 encoder
  const fp = await serverPhase("fp32", "int8");
  for (const k of ["rest_5s", "loop_lag_p99_ms", "sustained_streams", "partial_p50_ms", "partial_p95_ms", "final_p50_ms", "final_p95_ms", "stream_trials", "partial_encoder"]) result[k] = fp[k];
  if (!QUICK || args["int8-server"]) {
    // everything fp32 (`--partial-precision fp32`), and everything int8 (`--precision int8`)
    result.server_fp32_partials = await serverPhase("fp32", "fp32");
  }
  if (!QUICK || args.layouts) {
    // the hybrid layout: prepacked fp32 finals (private weights), mapped int8 partials
    result.server_prepacked = await serverPhase("fp32", "int8", true);
  }
  if (!QUICK || args["int8-server"]) {
    result.server_int8 = await serverPhase("int8");
  }
}

// ---------------------------------------------------------------- streams: what each idea buys (in process, interleaved)
if (!args["no-server"]) {
  const int8 = join(MODEL_DIR, "v3_e2e_rnnt_encoder.int8.onnx");
  if (existsSync(int8)) {
    const m = await useMappedLayout({ files: fp32Files, partialEncoder: int8, log: { info: log, warn: log }, derive: async (src) => writeMappedLayout(src) });
    result.stream_ideas = await streamIdeas({ files: m.files, partialEncoder: m.partialEncoder ?? int8, workers: machine.cores, streams: QUICK ? [2, 4] : [2, 4, 6], seconds: QUICK ? 16 : 20, rounds: QUICK ? 1 : 2, log });
  } else result.stream_ideas = { error: `missing ${int8}` };
}

// ---------------------------------------------------------------- memory and startup (`gigastt serve` subprocesses)
/** bytes of the mapped files a configuration's Workers load (graph + data of each source that has a pair) */
function mappedBytes(dir: string, names: readonly string[]): number {
  let n = 0;
  for (const name of names) {
    const p = mappedPaths(join(dir, name));
    for (const f of [p.graph, p.data]) if (existsSync(f)) n += Bun.file(f).size;
  }
  return n;
}
if (!args["no-server"]) {
  const rss: Record<string, unknown> = {};
  const wav5 = toWav(speechLikeClip(5, 55).samples);
  // fp32: the default (fp32 + the int8 partial encoder); fp32-only: `--partial-precision fp32`
  const configs = QUICK ? (["fp32", "int8"] as const) : (["fp32", "fp32-only", "int8"] as const);
  const startServe = async (cfg: (typeof configs)[number], workers: number) => {
    const precision = cfg === "int8" ? "int8" : "fp32";
    const port = await freePort();
    const t0 = performance.now();
    const argv = ["serve", "--port", String(port), "--model-dir", precision === "int8" ? int8Dir : MODEL_DIR, "--offline", "--workers", String(workers), "--precision", precision, "--log-level", "error"];
    if (cfg === "fp32-only") argv.push("--partial-precision", "fp32");
    const child = spawn(process.execPath, [join(ROOT, "src/main.ts"), ...argv], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += String(d)));
    let exited = false;
    child.once("exit", () => (exited = true));
    const ready = await waitReady(port, 180_000, () => !exited);
    const startupMs = performance.now() - t0;
    const stop = async () => {
      if (!exited) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    };
    return { child, port, ready, startupMs, stop, stderr: () => stderr };
  };
  for (const cfg of configs) {
    // a first start writes the mapped layout (once per folder) and warms the page cache: not measured
    const warm = await startServe(cfg, 1);
    await warm.stop();
    const names =
      cfg === "int8"
        ? ["v3_e2e_rnnt_encoder.int8.onnx", "v3_e2e_rnnt_decoder.int8.onnx", "v3_e2e_rnnt_joint.int8.onnx"]
        : ["v3_e2e_rnnt_encoder.onnx", "v3_e2e_rnnt_decoder.onnx", "v3_e2e_rnnt_joint.onnx", ...(cfg === "fp32" ? ["v3_e2e_rnnt_encoder.int8.onnx"] : [])];
    const mappedMb = round(mappedBytes(cfg === "int8" ? int8Dir : MODEL_DIR, names) / 1e6, 0);
    for (const workers of [1, 2, 4]) {
      const s = await startServe(cfg, workers);
      const afterLoad = procMemory(s.child.pid!);
      let entry: Record<string, unknown>;
      if (!s.ready) entry = { error: `not ready: ${s.stderr().slice(-300)}` };
      else {
        await Promise.all(Array.from({ length: workers }, async () => (await fetch(`http://127.0.0.1:${s.port}/v1/transcribe`, { method: "POST", body: wav5 })).arrayBuffer()));
        await Bun.sleep(500);
        const m = procMemory(s.child.pid!);
        const p = procPss(s.child.pid!);
        entry = {
          steady_mb: round(m?.rssMb ?? Number.NaN, 0),
          after_load_mb: round(afterLoad?.rssMb ?? Number.NaN, 0),
          peak_mb: round(m?.peakMb ?? Number.NaN, 0),
          pss_mb: round(p?.pssMb ?? Number.NaN, 0),
          pss_file_mb: round(p?.pssFileMb ?? Number.NaN, 0),
          pss_anon_mb: round(p?.pssAnonMb ?? Number.NaN, 0),
          mapped_mb: mappedMb,
          startup_ms: round(s.startupMs, 0),
        };
      }
      await s.stop();
      rss[`${cfg}_w${workers}`] = entry;
      log(`serve ${cfg} × ${workers} workers: ${JSON.stringify(entry)}`);
      if (cfg === "fp32" && workers === 4) result.startup_ms = entry.startup_ms ?? null;
    }
  }
  result.rss_mb = rss;
}

// ---------------------------------------------------------------- peers
if (!args["no-peers"]) {
  const { compareWithPeer, runPeer, writeGigasttPack } = await import("./bench/peer-compare.ts");
  const venv = join(BENCH_DIR, "venv");
  const py = join(venv, "bin/python");
  const peers: Record<string, unknown> = {};
  const ratio: Record<string, unknown> = {};
  let setupError: string | null = null;
  if (!existsSync(py)) {
    log("creating .bench/venv (onnx-asr, onnxruntime, gigastt) …");
    const a = spawnSync("python3", ["-m", "venv", venv], { encoding: "utf8" });
    const b = a.status === 0 ? spawnSync(join(venv, "bin/pip"), ["install", "-q", "onnx-asr", "onnxruntime", "gigastt"], { encoding: "utf8" }) : a;
    if (b.status !== 0) setupError = `venv setup failed: ${(b.stderr || b.stdout || "").slice(-400)}`;
  }
  // the gigastt wheel (manylinux_2_28 tag) imports glibc 2.38's __isoc23_strtol*: shim them on older glibc
  const shim = join(BENCH_DIR, "isoc23-shim.so");
  if (!existsSync(shim)) spawnSync("cc", ["-shared", "-fPIC", "-O2", "-o", shim, join(import.meta.dir, "bench/isoc23-shim.c")]);
  const env = { python: py, script: join(import.meta.dir, "bench/peers.py"), shim };
  // Each comparison: our Transcriber on the same encoder/decoder/joint files (1 worker × 1 thread), timed right
  // before and right after the peer, so machine drift between sections of the run does not enter the ratio.
  // The ratio is our default pipeline (long pauses shortened before the encoder); a second Transcriber with pause
  // compaction off (every sample encoded, as the peers do) is timed alongside: details.like_for_like, and its
  // transcript is the one compared with the peer's.
  // The Rust engine runs INT8 packs only (see bench/peer-compare.ts): "gigastt" = its own scheme, the weight-only
  // int8 encoder that `gigastt quantize --weight-only` wrote above; "gigastt_fp32" = the fp32 encoder named as
  // the pack's INT8 file (the engine runs whatever file that is), like for like with the onnx-asr row.
  const wo = join(BENCH_DIR, "variants", "v3_e2e_rnnt_encoder.weight-only.onnx");
  const woFiles: ModelFiles = { ...fp32Files, encoder: wo, precision: "int8" };
  const plan: { key: string; peer: "onnx-asr" | "gigastt"; dir: () => string; files: ModelFiles; cap?: number; note?: string }[] = [
    { key: "onnx-asr", peer: "onnx-asr", dir: () => MODEL_DIR, files: fp32Files },
    { key: "gigastt_fp32", peer: "gigastt", dir: () => writeGigasttPack(join(BENCH_DIR, "variants", "gigastt-pack-fp32"), fp32Files, fp32Files.encoder), files: fp32Files, cap: 10, note: "as its INT8 file" },
    { key: "gigastt", peer: "gigastt", dir: () => writeGigasttPack(join(BENCH_DIR, "variants", "gigastt-pack"), fp32Files, wo), files: woFiles, cap: 10 },
  ];
  const peerReps = QUICK ? 3 : 5;
  let ours: { files: ModelFiles; t: Transcriber; lfl: Transcriber } | null = null;
  for (const p of plan) {
    if (setupError) {
      ratio[p.key] = { error: setupError };
      continue;
    }
    if (p.peer === "gigastt" && !existsSync(p.files.encoder)) {
      ratio[p.key] = { error: `missing ${p.files.encoder}` };
      continue;
    }
    if (ours?.files.encoder !== p.files.encoder) {
      await ours?.t.close();
      await ours?.lfl.close();
      const t = await Transcriber.fromFiles(p.files, { workers: 1, threadsPerWorker: 1 });
      ours = { files: p.files, t, lfl: await Transcriber.fromFiles(p.files, { workers: 1, threadsPerWorker: 1, compactPauses: false }) };
    }
    const dir = p.dir();
    const c = await compareWithPeer({ env, peer: p.peer, dir, wav: wavPath, samples: samples16, ours: ours.t, likeForLike: ours.lfl, ourFiles: p.files, reps: peerReps, root: ROOT, log, ...(p.cap ? { peerCap: p.cap } : {}), ...(p.note ? { note: p.note } : {}) });
    ratio[p.key] = c.ratio;
    peers[p.key] = c.details;
    // the Rust engine leaves an ORT graph cache as large as the encoder in the pack: not kept between runs
    if (p.peer === "gigastt") rmSync(join(dir, "optimized_cache"), { recursive: true, force: true });
  }
  await ours?.t.close();
  await ours?.lfl.close();
  // the same comparison on the int8 files (our dynamic int8 encoder; decoder/joint fp32) — not a target, a data point
  if (!setupError && existsSync(join(int8Dir, "v3_e2e_rnnt_encoder.int8.onnx"))) {
    const t8 = await Transcriber.load({ modelDir: int8Dir, precision: "int8", workers: 1, threadsPerWorker: 1 });
    const ours8 = median(await timeIt(() => t8.transcribe(samples16), REPS, 1));
    await t8.close();
    const out = runPeer(env, "onnx-asr", int8Dir, wavPath, QUICK ? 5 : 7, "int8");
    if (out.times_s?.length) {
      const theirs = median(out.times_s) * 1000;
      result.peer_int8 = { ours_ms: round(ours8, 0), onnx_asr_ms: round(theirs, 0), ratio: round(ours8 / theirs, 3), runs_ms: out.times_s.map((x) => round(x * 1000, 0)) };
    } else result.peer_int8 = { ours_ms: round(ours8, 0), error: out.error ?? "no timings" };
    log(`int8 files: ours ${ours8.toFixed(0)} ms, onnx-asr ${JSON.stringify(result.peer_int8)}`);
  }
  result.peer_ratio = ratio;
  result.peers = peers;
}

// ---------------------------------------------------------------- report
const busyAfter = await cpuBusy(2000);
result.meta = {
  date: new Date().toISOString(),
  quick: QUICK,
  machine,
  onnxruntime_node: ortVersion(),
  load: { other_cpu_busy_before: busyBefore, other_cpu_busy_after: busyAfter, loadavg_after: machineInfo().loadavg, note: args.note ?? null },
  model: {
    dir: MODEL_DIR.startsWith(ROOT) ? MODEL_DIR.slice(ROOT.length + 1) : MODEL_DIR,
    files: manifest.bytes,
    parameters: manifest.parameters,
    bytes: modelBytes,
    generation_s: round(manifest.generationSeconds, 1),
    generated_now: !gen.cached,
    calibration_tokens_per_frame: manifest.calibrationTokensPerFrame,
  },
  bench_s: round((performance.now() - tStart) / 1000, 0),
};
writeFileSync(JSON_OUT, `${JSON.stringify(result, null, 2)}\n`);
writeBenchmarksMd(join(ROOT, "BENCHMARKS.md"), renderReport(result));
log(`done in ${((performance.now() - tStart) / 1000).toFixed(0)} s → ${JSON_OUT}, BENCHMARKS.md, docs/latency.svg`);
process.exit(0);
