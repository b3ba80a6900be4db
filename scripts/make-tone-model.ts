#!/usr/bin/env bun
/**
 * Writes the "tone model": four files with the real GigaAM v3 e2e_rnnt names and
 * I/O contract whose transcript is known by construction (docs/MODEL.md §7.1).
 * Piece k is a sine at the centre frequency of mel band 4 + 3k; a 0.2–0.5 s tone
 * of amplitude 0.5 decodes to piece k exactly once.
 *
 *   bun scripts/make-tone-model.ts --out DIR [--pieces "▁привет,▁мир,."]
 *
 * (use spaces to separate pieces when the list contains a "," piece:
 *  --pieces "▁да ▁нет , .")
 *
 * Deterministic: the same piece list always gives the same bytes.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DT, encodeModel, floatTensor, int64Tensor, node, valueInfo } from "./lib/onnx-writer.ts";

export const ENC_DIM = 768;
export const DEC_DIM = 320;
export const N_MELS = 64;
export const MAX_PIECES = 20;

/** Default vocabulary: Russian words, one suffix piece and punctuation (19 pieces + <blk>). */
export const DEFAULT_TONE_PIECES: readonly string[] = Object.freeze([
  "▁привет", "▁мир", "▁как", "▁дела", "▁это", "▁тест", "▁один", "▁два", "▁три", "▁да",
  "▁нет", "▁хорошо", "▁голос", "▁город", "▁слов", "а", ",", ".", "?",
]);

/** mel(8000 Hz) on the HTK scale. */
export const MEL_MAX = 2595 * Math.log10(1 + 8000 / 700);

/** Mel band (0..63) bound to piece k. */
export function toneBand(k: number): number {
  return 4 + 3 * k;
}

/** Tone frequency (Hz) of piece k: the centre of its mel band. */
export function toneFrequency(k: number): number {
  const m = ((toneBand(k) + 1) * MEL_MAX) / 65;
  return 700 * (10 ** (m / 2595) - 1);
}

/** Joint reference levels (docs/MODEL.md §7.1). */
const DEC_LEVEL = 0.76;
const REPEAT_PENALTY = 30;
const BLANK_LOGIT = 2;
/** LSTM gate pre-activation: large enough to saturate sigmoid/tanh. */
const GATE = 20;

function checkPieces(pieces: readonly string[]): void {
  if (pieces.length === 0 || pieces.length > MAX_PIECES) throw new Error(`tone model needs 1..${MAX_PIECES} pieces, got ${pieces.length}`);
  const seen = new Set<string>();
  for (const p of pieces) {
    if (!p || /\s/.test(p) || p === "<blk>") throw new Error(`bad piece ${JSON.stringify(p)}`);
    if (seen.has(p)) throw new Error(`duplicate piece ${JSON.stringify(p)}`);
    seen.add(p);
  }
}

/** columns of the quantizable encoder's MatMul (only the first 64 are kept) */
export const QUANTIZABLE_WIDTH = 4096;

/**
 * Encoder: per band, the minimum of each 4 log-mel frames (MaxPool on −x), in channels 0..63 of 768.
 * `quantizable` adds an exact identity MatMul (64 → QUANTIZABLE_WIDTH, the first 64 columns kept),
 * so the int8 quantizer has a 1 MiB weight to rewrite (the disk-full fault tests).
 */
function encoderModel(quantizable = false): Uint8Array {
  const wide: { initializers: ReturnType<typeof floatTensor | typeof int64Tensor>[]; nodes: ReturnType<typeof node>[] } = { initializers: [], nodes: [] };
  if (quantizable) {
    const W = new Float32Array(N_MELS * QUANTIZABLE_WIDTH).fill(1e-3);
    for (let i = 0; i < N_MELS; i++) for (let j = 0; j < N_MELS; j++) W[i * QUANTIZABLE_WIDTH + j] = i === j ? 1 : 0;
    wide.initializers.push(floatTensor("wide_w", [N_MELS, QUANTIZABLE_WIDTH], W), int64Tensor("keep_from", [1], [0]), int64Tensor("keep_to", [1], [N_MELS]), int64Tensor("keep_axis", [1], [2]));
    wide.nodes.push(
      node("Transpose", ["min4"], ["min4_t"], { perm: [0, 2, 1] }),
      node("MatMul", ["min4_t", "wide_w"], ["wide"]),
      node("Slice", ["wide", "keep_from", "keep_to", "keep_axis"], ["narrow"]),
      node("Transpose", ["narrow"], ["min4_q"], { perm: [0, 2, 1] }),
    );
  }
  return encodeModel({
    name: "tone_encoder",
    docString: "gigastt tone model encoder: min-pool ×4 over log-mel, channels 0..63 of 768",
    inputs: [valueInfo("audio_signal", DT.FLOAT, ["B", N_MELS, "T"]), valueInfo("length", DT.INT64, ["B"])],
    outputs: [valueInfo("encoded", DT.FLOAT, ["B", ENC_DIM, "T_out"]), valueInfo("encoded_len", DT.INT32, ["B"])],
    initializers: [
      int64Tensor("pads", [6], [0, 0, 0, 0, ENC_DIM - N_MELS, 0]),
      int64Tensor("three", [], [3]),
      int64Tensor("four", [], [4]),
      ...wide.initializers,
    ],
    nodes: [
      node("Neg", ["audio_signal"], ["neg"]),
      node("MaxPool", ["neg"], ["pooled"], { kernel_shape: [4], strides: [4], pads: [0, 3] }),
      node("Neg", ["pooled"], ["min4"]),
      ...wide.nodes,
      node("Pad", [quantizable ? "min4_q" : "min4", "pads"], ["encoded"], { mode: "constant" }),
      node("Add", ["length", "three"], ["len3"]),
      node("Div", ["len3", "four"], ["len_out"]),
      node("Cast", ["len_out"], ["encoded_len"], { to: DT.INT32 }),
    ],
  });
}

/**
 * Decoder state tensor names: the HF export's (`h.1`, `c.1` → `h`, `c`) or today's GigaAM
 * exporter's (`hi`, `ci` → `ho`, `co`); docs/MODEL.md §2.
 */
export const DECODER_STATE_NAMES = {
  hf: { hIn: "h.1", cIn: "c.1", hOut: "h", cOut: "c" },
  exporter: { hIn: "hi", cIn: "ci", hOut: "ho", cOut: "co" },
} as const;

export interface ToneModelOptions {
  /** decoder state names (default "hf", as in the published files) */
  readonly decoderNames?: keyof typeof DECODER_STATE_NAMES;
  /** an encoder the int8 quantizer can rewrite (same transcripts; see encoderModel) */
  readonly quantizable?: boolean;
  /**
   * pairs of pieces that share the repeat penalty: after either one, both are penalised, so a
   * chord of their two tones (an "ambiguous tone") yields exactly one of them, the louder, or
   * the one a hotword boosts (test/hotwords-tone.test.ts). Default none (the same bytes as before).
   */
  readonly rivals?: readonly (readonly [string, string])[];
}

/** Decoder: embedding (one-hot rows, blank row zero) → LSTM with saturated gates: dec ≈ 0.76·onehot(last piece). */
function decoderModel(V: number, names: (typeof DECODER_STATE_NAMES)[keyof typeof DECODER_STATE_NAMES]): Uint8Array {
  const emb = new Float32Array((V + 1) * V);
  for (let k = 0; k < V; k++) emb[k * V + k] = 1;
  // gates in ONNX order i, o, f, c; input weights only (recurrent weights 0)
  const W = new Float32Array(4 * DEC_DIM * V);
  for (let k = 0; k < V; k++) W[(3 * DEC_DIM + k) * V + k] = GATE;
  const B = new Float32Array(8 * DEC_DIM);
  for (let j = 0; j < DEC_DIM; j++) {
    B[j] = GATE; // input gate open
    B[DEC_DIM + j] = GATE; // output gate open
    B[2 * DEC_DIM + j] = -GATE; // forget gate closed: the state is the last piece only
  }
  return encodeModel({
    name: "tone_decoder",
    docString: "gigastt tone model decoder: one-hot embedding + saturated LSTM",
    inputs: [
      valueInfo("x", DT.INT64, ["B", 1]),
      valueInfo(names.hIn, DT.FLOAT, [1, "B", DEC_DIM]),
      valueInfo(names.cIn, DT.FLOAT, [1, "B", DEC_DIM]),
    ],
    outputs: [
      valueInfo("dec", DT.FLOAT, ["B", 1, DEC_DIM]),
      valueInfo(names.hOut, DT.FLOAT, [1, "B", DEC_DIM]),
      valueInfo(names.cOut, DT.FLOAT, [1, "B", DEC_DIM]),
    ],
    initializers: [
      floatTensor("embedding", [V + 1, V], emb),
      floatTensor("W", [1, 4 * DEC_DIM, V], W),
      int64Tensor("R_shape", [3], [1, 4 * DEC_DIM, DEC_DIM]),
      floatTensor("Bias", [1, 8 * DEC_DIM], B),
      int64Tensor("axis1", [1], [1]),
    ],
    nodes: [
      node("Gather", ["embedding", "x"], ["emb"], { axis: 0 }),
      node("Transpose", ["emb"], ["seq"], { perm: [1, 0, 2] }),
      node("ConstantOfShape", ["R_shape"], ["R"]), // recurrent weights: all zero
      node("LSTM", ["seq", "W", "R", "Bias", "", names.hIn, names.cIn], ["Y", names.hOut, names.cOut], { hidden_size: DEC_DIM }),
      node("Squeeze", ["Y", "axis1"], ["Y3"]),
      node("Transpose", ["Y3"], ["dec"], { perm: [1, 0, 2] }),
    ],
  });
}

/** Joint: logit_k = enc[b_k] − 30·dec[k]/0.76, logit_blank = +2, LogSoftmax → [B,1,1,V+1]. */
function jointModel(V: number, rivals: readonly (readonly [number, number])[] = []): Uint8Array {
  const C = V + 1;
  const We = new Float32Array(ENC_DIM * C);
  const Wd = new Float32Array(DEC_DIM * C);
  for (let k = 0; k < V; k++) {
    We[toneBand(k) * C + k] = 1;
    Wd[k * C + k] = -REPEAT_PENALTY / DEC_LEVEL;
  }
  for (const [a, b] of rivals) {
    Wd[a * C + b] = -REPEAT_PENALTY / DEC_LEVEL;
    Wd[b * C + a] = -REPEAT_PENALTY / DEC_LEVEL;
  }
  const bias = new Float32Array(C);
  bias[V] = BLANK_LOGIT;
  return encodeModel({
    name: "tone_joint",
    docString: "gigastt tone model joint: band energy minus repeat penalty, blank +2",
    inputs: [valueInfo("enc", DT.FLOAT, ["B", ENC_DIM, 1]), valueInfo("dec", DT.FLOAT, ["B", DEC_DIM, 1])],
    outputs: [valueInfo("joint", DT.FLOAT, ["B", 1, 1, C])],
    initializers: [
      floatTensor("W_enc", [ENC_DIM, C], We),
      floatTensor("W_dec", [DEC_DIM, C], Wd),
      floatTensor("bias", [C], bias),
      int64Tensor("enc_shape", [2], [-1, ENC_DIM]),
      int64Tensor("dec_shape", [2], [-1, DEC_DIM]),
      int64Tensor("out_shape", [4], [-1, 1, 1, C]),
    ],
    nodes: [
      node("Reshape", ["enc", "enc_shape"], ["enc2"]),
      node("Reshape", ["dec", "dec_shape"], ["dec2"]),
      node("MatMul", ["enc2", "W_enc"], ["le"]),
      node("MatMul", ["dec2", "W_dec"], ["ld"]),
      node("Add", ["le", "ld"], ["lsum"]),
      node("Add", ["lsum", "bias"], ["logits"]),
      node("LogSoftmax", ["logits"], ["logp"], { axis: -1 }),
      node("Reshape", ["logp", "out_shape"], ["joint"]),
    ],
  });
}

export interface ToneModel {
  readonly encoder: Uint8Array;
  readonly decoder: Uint8Array;
  readonly joint: Uint8Array;
  /** `piece id` lines, last `<blk> V` */
  readonly vocab: string;
}

export function buildToneModel(pieces: readonly string[] = DEFAULT_TONE_PIECES, opts: ToneModelOptions = {}): ToneModel {
  checkPieces(pieces);
  const V = pieces.length;
  const vocab = `${[...pieces, "<blk>"].map((p, i) => `${p} ${i}`).join("\n")}\n`;
  const names = DECODER_STATE_NAMES[opts.decoderNames ?? "hf"];
  const rivals = (opts.rivals ?? []).map(([a, b]) => {
    const ia = pieces.indexOf(a);
    const ib = pieces.indexOf(b);
    if (ia < 0 || ib < 0 || ia === ib) throw new Error(`rivals need two different pieces of the list, got ${JSON.stringify([a, b])}`);
    return [ia, ib] as const;
  });
  return { encoder: encoderModel(opts.quantizable), decoder: decoderModel(V, names), joint: jointModel(V, rivals), vocab };
}

/** Writes the four files into `dir` (created if needed); returns `dir`. */
export function writeToneModel(dir: string, pieces: readonly string[] = DEFAULT_TONE_PIECES, opts: ToneModelOptions = {}): string {
  const m = buildToneModel(pieces, opts);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "v3_e2e_rnnt_encoder.onnx"), m.encoder);
  writeFileSync(join(dir, "v3_e2e_rnnt_decoder.onnx"), m.decoder);
  writeFileSync(join(dir, "v3_e2e_rnnt_joint.onnx"), m.joint);
  writeFileSync(join(dir, "v3_e2e_rnnt_vocab.txt"), m.vocab);
  return dir;
}

/** "a,b,c" or "a b , ." (whitespace-separated when the list contains a "," piece). */
export function parsePieceList(s: string): string[] {
  const parts = /\s/.test(s.trim()) ? s.trim().split(/\s+/) : s.split(",");
  return parts.filter((p) => p.length > 0);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { out: { type: "string" }, pieces: { type: "string" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
  if (values.help || !values.out) {
    console.error('usage: bun scripts/make-tone-model.ts --out DIR [--pieces "▁привет,▁мир,."]');
    process.exit(values.help ? 0 : 2);
  }
  const pieces = values.pieces ? parsePieceList(values.pieces) : DEFAULT_TONE_PIECES;
  writeToneModel(values.out, pieces);
  console.error(`tone model (${pieces.length} pieces + <blk>) written to ${values.out}`);
}
