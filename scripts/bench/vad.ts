/**
 * Silero VAD against energy, on the Golos clips and noisy mixes of them (issue 19):
 * speech kept, non-speech skipped, utterances found, encoder time saved, VAD cost.
 *
 *   bun scripts/bench/vad.ts [GOLOS_DIR] [MODEL_DIR] [--no-encoder]
 *
 * GOLOS_DIR defaults to ../shared/fixtures/golos (beside the checkout); MODEL_DIR to the
 * full-size stand-in at /work/bench-model (random weights: its words only count how much of the
 * speech the encoder saw, they mean nothing). Prints a Markdown table for BENCHMARKS.md.
 *
 * - speech kept: reference speech frames (scripts/bench/vad-audio.ts, from the clean clip) that
 *   reach the encoder, on the one offline pipeline (segments without speech are skipped, pauses
 *   compacted: energy's `compactPauses`, or the VAD's non-speech cut out);
 * - non-speech skipped: frames of the 1 s lead and 1.5 s tail (no speech by construction) that
 *   never reach the encoder;
 * - utterances: three clips in a row (2.5 s of non-speech between them) through the streaming core
 *   (`UtteranceStream`, 500 ms pauses / min_silence_ms), finals with audio in them; 3 expected.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { transcribeOffline } from "../../src/engine/offline.ts";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { VadLabeller, VadPool } from "../../src/engine/vad.ts";
import { freshCarry, SileroVad } from "../../src/model/vad.ts";
import { selectModelFiles } from "../../src/model/files.ts";
import { compactPauses, VAD_COMPACT } from "../../src/segment/compact.ts";
import { vadEndpointing } from "../../src/stream/endpointer.ts";
import { UtteranceStream } from "../../src/stream/utterances.ts";
import type { Word } from "../../src/types.ts";
import { machineInfo, round } from "./stats.ts";
import { type GolosClip, HOP, loadGolos, type Mix, mix, type NoiseKind } from "./vad-audio.ts";

const ROOT = join(import.meta.dir, "..", "..");
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const golosDir = resolve(args[0] ?? [join(ROOT, "..", "shared", "fixtures", "golos"), join(ROOT, "..", "..", "shared", "fixtures", "golos")].find(existsSync) ?? "golos");
const modelDir = resolve(args[1] ?? "/work/bench-model");
const withEncoder = !process.argv.includes("--no-encoder");

const CONDITIONS: readonly { kind: NoiseKind; snr: number }[] = [
  { kind: "clean", snr: Infinity },
  ...[20, 10, 5, 0, -5].map((snr) => ({ kind: "white" as const, snr })),
  ...[20, 10, 5, 0, -5].map((snr) => ({ kind: "babble" as const, snr })),
];
const label = (c: { kind: NoiseKind; snr: number }) => (c.kind === "clean" ? "clean" : `${c.kind} ${c.snr} dB`);

/** which 10 ms frames of `m` reach the encoder on the offline pipeline (with or without VAD) */
async function encoderFrames(m: Mix, vad: VadLabeller | undefined): Promise<Uint8Array> {
  const kept = new Uint8Array(m.speech.length);
  const decode = async (samples: Float32Array, offset: number, _s: AbortSignal, nonSpeech?: Uint8Array): Promise<Word[]> => {
    const c = nonSpeech ? compactPauses(samples, { ...VAD_COMPACT, removable: nonSpeech }) : compactPauses(samples);
    const base = Math.round(offset * 16000);
    for (const k of c.kept) for (let i = k.start; i < k.start + k.length; i += HOP) kept[Math.floor((base + i) / HOP)] = 1;
    return [];
  };
  await transcribeOffline(decode, [m.samples], { maxInFlight: 2, ...(vad ? { vad } : {}) });
  return kept;
}

interface Tally {
  speech: number;
  speechKept: number;
  nonSpeech: number;
  nonSpeechSkipped: number;
  encoderSeconds: number;
}
const tally = (): Tally => ({ speech: 0, speechKept: 0, nonSpeech: 0, nonSpeechSkipped: 0, encoderSeconds: 0 });

function count(t: Tally, m: Mix, kept: Uint8Array, clipFrames: number): void {
  const lead = 100;
  for (let f = 0; f < m.speech.length; f++) {
    if (m.speech[f]) {
      t.speech++;
      if (kept[f]) t.speechKept++;
    } else if (f < lead || f >= lead + clipFrames) {
      t.nonSpeech++;
      if (!kept[f]) t.nonSpeechSkipped++;
    }
    if (kept[f]) t.encoderSeconds += 0.01;
  }
}

/** finals with audio in them when `clips` stream one after another (each with its lead and tail) */
async function utterances(clips: readonly Mix[], vad: VadLabeller | undefined): Promise<number> {
  let finals = 0;
  const decoder = {
    decodeSegment: async (samples: Float32Array, offset: number) => [{ word: "x", start: offset, end: offset + samples.length / 16000, confidence: 1 }] as Word[],
  };
  const s = new UtteranceStream({
    decoder,
    session: "bench",
    partials: false,
    speculativeFinals: false,
    onEvent: (e) => void (e.type === "final" && e.words.length > 0 && finals++),
    ...(vad ? { endpointer: vadEndpointing(vad) } : {}),
  });
  for (const c of clips) for (let i = 0; i < c.samples.length; i += 1600) s.push(c.samples.subarray(i, i + 1600));
  await s.finish();
  return finals;
}

const clips = await loadGolos(golosDir);
const others = (i: number): GolosClip[] => [1, 2, 3].map((k) => clips[(i + k * 5) % clips.length]!);
const pool = await VadPool.start();
const rows: string[] = [];
let vadSeconds = 0;
let audioSeconds = 0;
const mixes = new Map<string, Mix[]>();
for (const c of CONDITIONS) {
  const energy = tally();
  const withVad = tally();
  const ms = clips.map((clip, i) => mix(clip, c.kind, c.snr, others(i), 1000 + i));
  mixes.set(label(c), ms);
  for (const [i, m] of ms.entries()) {
    count(energy, m, await encoderFrames(m, undefined), clips[i]!.speech.length);
    const t0 = performance.now();
    const lab = new VadLabeller(pool);
    await lab.admit(m.samples);
    await lab.finish();
    vadSeconds += (performance.now() - t0) / 1000;
    audioSeconds += m.samples.length / 16000;
    count(withVad, m, await encoderFrames(m, new VadLabeller(pool)), clips[i]!.speech.length);
  }
  const utt = { energy: 0, vad: 0, n: 0 };
  for (let i = 0; i + 3 <= ms.length; i += 3) {
    utt.energy += await utterances(ms.slice(i, i + 3), undefined);
    utt.vad += await utterances(ms.slice(i, i + 3), new VadLabeller(pool));
    utt.n++;
  }
  const pct = (a: number, b: number) => `${round((100 * a) / Math.max(1, b), 1)} %`;
  rows.push(
    `| ${label(c)} | ${pct(energy.speechKept, energy.speech)} / ${pct(withVad.speechKept, withVad.speech)} | ${pct(energy.nonSpeechSkipped, energy.nonSpeech)} / ${pct(withVad.nonSpeechSkipped, withVad.nonSpeech)} | ${round(energy.encoderSeconds, 1)} / ${round(withVad.encoderSeconds, 1)} | ${round(utt.energy / utt.n, 2)} / ${round(utt.vad / utt.n, 2)} |`,
  );
  console.error(rows.at(-1));
}

const m = machineInfo();
console.log(`Machine: ${m.cpu}, ${m.cores} cores, ${m.int8}; load average ${m.loadavg.join(" ")} (shared with other work); Bun ${m.bun}.\n`);
console.log(`Golos clips: ${clips.length} (${golosDir}); each mix is the clip between 1.0 s and 1.5 s of non-speech.\n`);
console.log("| audio | speech kept (energy / VAD) | non-speech skipped (energy / VAD) | encoder input, s (energy / VAD) | utterances per 3 clips (energy / VAD) |");
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
// the model alone, in this process (a benchmark, not the server: there it runs only in its Worker)
const direct = await SileroVad.load();
const probe = mixes.get("white 0 dB")!.map((m) => m.samples.subarray(0, Math.floor(m.samples.length / 512) * 512));
const times: number[] = [];
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  for (const p of probe) await direct.run(p, freshCarry());
  times.push((performance.now() - t0) / 1000);
}
const probeSeconds = probe.reduce((a, p) => a + p.length, 0) / 16000;
console.log(
  `\nVAD cost: ${round((1000 * vadSeconds) / audioSeconds, 2)} ms of one VAD Worker per second of audio (${round(audioSeconds, 0)} s labelled, one stream at a time, Worker round trips included); the model alone, 1 thread: ${round((1000 * Math.min(...times)) / probeSeconds, 2)} ms per second of audio (best of 3 over ${round(probeSeconds, 0)} s).`,
);
await direct.release();

if (withEncoder) {
  const t = await Transcriber.fromFiles(selectModelFiles(modelDir, "fp32"), { workers: 1, vad: true });
  await t.transcribe(clips[0]!.samples); // warm-up
  console.log(`\nStand-in encoder (${modelDir}, 1 Worker): wall seconds for every clip of the condition, and the stand-in's words inside / outside the reference speech (random weights: they count what the encoder saw).\n`);
  console.log("| audio | decode wall, s (no VAD / VAD) | saved | words in speech (no VAD / VAD) | words outside speech (no VAD / VAD) |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const name of ["clean", "white 0 dB", "babble 0 dB"]) {
    const res = { off: { s: 0, inS: 0, outS: 0 }, on: { s: 0, inS: 0, outS: 0 } };
    for (const mx of mixes.get(name)!) {
      for (const key of ["off", "on"] as const) {
        const t0 = performance.now();
        const r = await t.transcribeStream([mx.samples], { vad: key === "on" });
        res[key].s += (performance.now() - t0) / 1000;
        for (const w of r.words) {
          if (mx.speech[Math.floor((w.start * 16000) / HOP)]) res[key].inS++;
          else res[key].outS++;
        }
      }
    }
    const saved = `${round((100 * (res.off.s - res.on.s)) / res.off.s, 0)} %`;
    console.log(`| ${name} | ${round(res.off.s, 1)} / ${round(res.on.s, 1)} | ${saved} | ${res.off.inS} / ${res.on.inS} | ${res.off.outS} / ${res.on.outS} |`);
  }
  await t.close();
}
await pool.close();
