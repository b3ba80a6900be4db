#!/usr/bin/env bun
/**
 * Fixtures for the Python conformance suite (test/conformance/): the tone model, the WAVs of a
 * few tone phrases and a manifest saying what each WAV contains. Deterministic: the same bytes
 * every run.
 *
 *   bun test/conformance/make_fixtures.ts OUT_DIR
 *
 * OUT_DIR/model/         the tone model (real GigaAM v3 e2e_rnnt file names and I/O)
 * OUT_DIR/wav/NAME.wav   mono PCM16
 * OUT_DIR/manifest.json  { model, cases: [{ name, wav, sampleRate, text, pieces, onsets, duration }] }
 * OUT_DIR/speech-ru.logmel.ours.f32  our TypeScript log-mel of test/fixtures/frontend/speech-ru.wav
 *                                    (float32 LE, mel-major [64 × frames])
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { logMelSpectrogram } from "../../src/frontend/logmel.ts";
import { phraseToAudio, piecesToText, type ToneAudio, wavBytes, writeToneModel } from "../helpers/tone.ts";

interface Case {
  readonly name: string;
  readonly samples: Float32Array;
  readonly sampleRate: number;
  readonly pieces: readonly string[];
  readonly onsets: readonly number[];
}

const CYCLE = ["▁один", "▁два", "▁три", "▁да", "▁нет", "▁город", "▁голос"];
const cycle = (n: number, from = 0) => Array.from({ length: n }, (_, i) => CYCLE[(from + i) % CYCLE.length]!);

function one(name: string, a: ToneAudio): Case {
  return { name, samples: a.samples, sampleRate: a.sampleRate, pieces: a.pieces, onsets: a.onsets };
}

/** Phrases back to back (each already ends in its own tail of silence). */
function joined(name: string, parts: readonly ToneAudio[]): Case {
  const samples = new Float32Array(parts.reduce((n, p) => n + p.samples.length, 0));
  const pieces: string[] = [];
  const onsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    samples.set(p.samples, at);
    pieces.push(...p.pieces);
    onsets.push(...p.onsets.map((t) => t + at / p.sampleRate));
    at += p.samples.length;
  }
  return { name, samples, sampleRate: 16000, pieces, onsets };
}

function cases(): Case[] {
  return [
    one("short", phraseToAudio("привет мир, как дела?")),
    one("all-pieces", phraseToAudio("привет мир, как дела? это тест один два три да нет хорошо голос город слова.")),
    one("direct-transitions", phraseToAudio(["▁один", "▁два", "▁три", "▁один", "▁два", "▁три", "▁да"], { gapSec: 0, toneSec: 0.25 })),
    one("varied-lengths", phraseToAudio(["▁это", "▁тест", ",", "▁голос", "▁город", "."], { toneSec: 0.45, gapSec: 0.35, leadSec: 0.73 })),
    // ~40 s: six phrases with 1.2 s pauses between them, longer than one 20 s segment
    joined(
      "long-with-pauses",
      Array.from({ length: 6 }, (_, p) => phraseToAudio([...cycle(10 + p, p), "."], { tailSec: 1.2 })),
    ),
    one("silence", { samples: new Float32Array(16000 * 2), sampleRate: 16000, onsets: [], pieces: [] }),
    // the same phrase recorded at 48 kHz: every implementation resamples it to 16 kHz its own way
    one("resampled-48k", phraseToAudio("да нет, хорошо.", { sampleRate: 48000 })),
  ];
}

if (import.meta.main) {
  const out = resolve(Bun.argv[2] ?? "");
  if (!Bun.argv[2]) {
    console.error("usage: bun test/conformance/make_fixtures.ts OUT_DIR");
    process.exit(2);
  }
  const modelDir = join(out, "model");
  mkdirSync(modelDir, { recursive: true });
  mkdirSync(join(out, "wav"), { recursive: true });
  writeToneModel(modelDir);
  const manifest = {
    model: modelDir,
    cases: cases().map((c) => {
      const wav = join(out, "wav", `${c.name}.wav`);
      writeFileSync(wav, wavBytes(c.samples, c.sampleRate));
      return {
        name: c.name,
        wav,
        sampleRate: c.sampleRate,
        text: piecesToText(c.pieces),
        pieces: c.pieces,
        onsets: c.onsets,
        duration: c.samples.length / c.sampleRate,
      };
    }),
  };
  writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);

  // our front end on the golden speech WAV (PCM16 / 32768, as every reference reads it)
  const golden = readFileSync(join(import.meta.dir, "..", "fixtures", "frontend", "speech-ru.wav"));
  const dv = new DataView(golden.buffer, golden.byteOffset, golden.byteLength);
  const n = (golden.byteLength - 44) >> 1;
  const pcm = new Float32Array(n);
  for (let i = 0; i < n; i++) pcm[i] = dv.getInt16(44 + 2 * i, true) / 32768;
  const feats = logMelSpectrogram(pcm);
  writeFileSync(join(out, "speech-ru.logmel.ours.f32"), new Uint8Array(feats.features.buffer, feats.features.byteOffset, feats.features.byteLength));
  console.error(`conformance fixtures: ${manifest.cases.length} WAVs and the tone model in ${out}`);
}
