/**
 * The cost of hotwords: greedy decoding of one segment with 0 and N hotwords, as a share of
 * that segment's encoder time, on the full-size stand-in (random weights, the real sizes).
 *
 *   bun scripts/bench/hotwords.ts [MODEL_DIR] [SECONDS] [RUNS] [HOTWORDS]
 *
 * Defaults: the stand-in in .bench/model (written if missing), a 16 s speech-like clip, 5 runs,
 * 100 hotwords — half made of words the plain decode emits (so their paths go live and the boost
 * changes picks), half of random syllables (split into 2–4 pieces). Also checks that decoding
 * without hotwords gives exactly the tokens of the textbook frame-by-frame argmax loop. Prints
 * JSON and a Markdown table row. Not a test.
 *
 * Two figures for the cost, because on random weights a boost of 5 flips most near-tie picks
 * and the biased decode then takes another path (other emissions, other ONNX calls):
 * - replay: the joint rows of the plain decode, picked again with the bias state along the plain
 *   path (`ContextBias.pick`) and with plain argmax — the exact work biasing adds per segment;
 * - the biased decode as it runs (its own path).
 */
import { join, resolve } from "node:path";
import { ContextBias } from "../../src/decode/bias.ts";
import { wordsToText, tokensToWords } from "../../src/decode/detok.ts";
import { argmax, greedyDecode, type RnntStep } from "../../src/decode/greedy.ts";
import { requestList } from "../../src/decode/hotwords.ts";
import { LogMelExtractor } from "../../src/frontend/logmel.ts";
import { selectModelFiles } from "../../src/model/files.ts";
import { RnntModel } from "../../src/model/rnnt.ts";
import type { Token } from "../../src/types.ts";
import { writeStandIn } from "../make-bench-model.ts";
import { speechLikeClip } from "./clip.ts";
import { machineInfo, median, round } from "./stats.ts";

const ROOT = resolve(import.meta.dir, "../..");
const [dirArg, secondsArg, runsArg, countArg] = process.argv.slice(2);
const dir = resolve(dirArg || join(ROOT, ".bench/model"));
const seconds = Number(secondsArg ?? 16);
const runs = Number(runsArg ?? 5);
const count = Number(countArg ?? 100);
const log = (s: string) => console.error(`[hotwords ${new Date().toISOString().slice(11, 19)}] ${s}`);

if (!dirArg) await writeStandIn(dir, { log });
const model = await RnntModel.load(selectModelFiles(dir, "fp32"));
const mel = new LogMelExtractor();
const clip = speechLikeClip(seconds, 7).samples;
const { features, frames } = mel.compute(clip);

const time = async <T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> => {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
};

log(`encoder: ${runs} runs of ${seconds} s`);
const encMs: number[] = [];
let enc: { enc: Float32Array; frames: number } = { enc: new Float32Array(0), frames: 0 };
for (let i = 0; i < runs; i++) {
  const r = await time(() => model.encode(features, frames));
  encMs.push(r.ms);
  enc = r.value;
}

/** the textbook loop (docs/MODEL.md §4.1): one joint call per frame, first max wins */
async function reference(step: RnntStep, e: Float32Array, n: number): Promise<number[]> {
  const out: number[] = [];
  let g = await step.decode(step.blankId, step.initialState());
  for (let t = 0; t < n; t++) {
    for (let emitted = 0; emitted < 3; emitted++) {
      const logp = await step.joint(e.subarray(t * step.encDim, (t + 1) * step.encDim), 1, g.out);
      let k = 0;
      for (let i = 1; i < step.vocabSize; i++) if (logp[i]! > logp[k]!) k = i;
      if (k === step.blankId) break;
      out.push(k);
      g = await step.decode(k, g.state);
    }
  }
  return out;
}

/** the plain decode's joint calls in order, each with the token emitted right after it (or -1) */
const calls: { rows: Float32Array; count: number; then: number }[] = [];
const recording: RnntStep = {
  blankId: model.blankId,
  vocabSize: model.vocabSize,
  encDim: model.encDim,
  decDim: model.decDim,
  initialState: () => model.initialState(),
  decode: (token, state) => {
    const last = calls.at(-1);
    if (last && last.then === -1 && token !== model.blankId) last.then = token;
    return model.decode(token, state);
  },
  joint: async (e, count, dec) => {
    const rows = await model.joint(e, count, dec);
    calls.push({ rows: rows.slice(), count, then: -1 });
    return rows;
  },
};
const plain = await greedyDecode(recording, enc.enc, enc.frames);
const ref = await reference(model, enc.enc, enc.frames);
const identical = plain.length === ref.length && plain.every((t, i) => t.id === ref[i]);
log(`no hotwords: ${plain.length} tokens, ${identical ? "identical to" : "DIFFERENT from"} the frame-by-frame reference`);

// hotwords: words the plain decode emits, and random syllable words
const emitted = [...new Set(tokensToWords(plain, model.vocab).map((w) => w.word.replace(/[^\p{L}]/gu, "")).filter((w) => w.length >= 3))];
const syll = Array.from({ length: Math.min(model.vocab.size, 1024) }, (_, id) => model.vocab.piece(id)).filter((p) => !p.startsWith("▁") && /^\p{L}+$/u.test(p));
let seed = 12345;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const phrases = emitted.slice(0, Math.floor(count / 2));
while (phrases.length < count) {
  const n = 2 + Math.floor(rnd() * 3);
  phrases.push(Array.from({ length: n }, () => syll[Math.floor(rnd() * syll.length)]!).join(""));
}
const list = requestList(phrases)!;
const compileRuns: number[] = [];
for (let i = 0; i < 5; i++) compileRuns.push((await time(async () => ContextBias.compile(list, model.vocab))).ms);
const compileMs = median(compileRuns);
const bias = ContextBias.compile(list, model.vocab)!;

log(`decode: ${runs} runs without and with ${list.phrases.length} hotwords (${bias.sequences} piece sequences)`);
const plainMs: number[] = [];
const biasMs: number[] = [];
let biased: Token[] = [];
for (let i = 0; i < runs; i++) {
  plainMs.push((await time(() => greedyDecode(model, enc.enc, enc.frames))).ms);
  const r = await time(() => greedyDecode(model, enc.enc, enc.frames, { bias }));
  biasMs.push(r.ms);
  biased = r.value;
}
/** seconds to pick every recorded row `reps` times, plain argmax or with `b` along the plain path */
function replay(b: ContextBias | null, reps: number): number {
  const V = model.vocabSize;
  const blank = model.blankId;
  let sink = 0;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    let state = b ? b.root : 0;
    for (const c of calls) {
      for (let i = 0; i < c.count; i++) sink += b ? b.pick(c.rows, i * V, V, blank, state) : argmax(c.rows, i * V, V, blank);
      if (b && c.then >= 0) state = b.advance(state, c.then);
    }
  }
  if (sink < 0) console.error(sink);
  return (performance.now() - t0) / reps;
}
const REPS = 50;
replay(null, 5);
replay(bias, 5);
const rowsPicked = calls.reduce((a, c) => a + c.count, 0);
const replayPlain: number[] = [];
const replayBias: number[] = [];
for (let i = 0; i < 5; i++) {
  replayPlain.push(replay(null, REPS));
  replayBias.push(replay(bias, REPS));
}
const addedMs = Math.max(0, median(replayBias) - median(replayPlain));

let changed = 0;
for (let i = 0; i < Math.max(plain.length, biased.length); i++) if (plain[i]?.id !== biased[i]?.id) changed++;

const encMed = median(encMs);
const out = {
  machine: machineInfo(),
  model: dir,
  seconds,
  runs,
  hotwords: list.phrases.length,
  sequences: bias.sequences,
  encoderMs: round(encMed),
  decodeMs: round(median(plainMs)),
  decodeHotwordsMs: round(median(biasMs)),
  compileMs: round(compileMs, 2),
  decodeShare: round((100 * median(plainMs)) / encMed, 2),
  decodeShareHotwords: round((100 * median(biasMs)) / encMed, 2),
  jointRows: rowsPicked,
  replayArgmaxMs: round(median(replayPlain), 3),
  replayBiasMs: round(median(replayBias), 3),
  addedMs: round(addedMs, 3),
  decodeShareWithAdded: round((100 * (median(plainMs) + addedMs)) / encMed, 2),
  tokens: plain.length,
  tokensChangedByHotwords: changed,
  identicalWithoutHotwords: identical,
  sample: wordsToText(tokensToWords(biased, model.vocab)).slice(0, 80),
};
console.log(JSON.stringify(out, null, 2));
console.log(
  `| ${seconds} s | ${out.encoderMs} ms | ${out.decodeMs} ms (${out.decodeShare} %) | +${out.addedMs} ms → ${out.decodeShareWithAdded} % | ${out.decodeHotwordsMs} ms (${out.decodeShareHotwords} %) | ${out.compileMs} ms | ${out.tokens} / ${out.tokensChangedByHotwords} | ${identical ? "yes" : "NO"} |`,
);
model.release();
