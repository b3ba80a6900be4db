/**
 * The full-size GigaAM v3 e2e_rnnt stand-in (docs/MODEL.md §7.2): random weights from a
 * fixed seed, the real architecture's size and the real I/O contract and file names.
 *
 * encoder  audio_signal f32 [B,64,T], length i64 [B] → encoded f32 [B,768,T'], encoded_len i32 [B]
 *          2× Conv1d(k5, s2, p2)+ReLU 64→768→768, then `layers` Conformer blocks:
 *          ½·FFN(768→dFf→768, SiLU) · 16-head rotary self-attention · conv module
 *          (pointwise 768→1536, GLU, depthwise k5, LayerNorm, SiLU, pointwise 768→768)
 *          · ½·FFN · LayerNorm; all pre-LN with residuals.
 * decoder  Embedding 1025×320 (blank row zero) + ONNX LSTM 320
 * joint    768→320 + 320→320, ReLU, 320→1025, LogSoftmax → [B,1,1,1025]
 * vocab    1024 pieces + <blk>
 *
 * Linear layers are MatMul + Add on [B,T,C]; the conv module's pointwise layers are Conv k=1 on
 * [B,C,T], as PyTorch exports a Conformer's Conv1d(kernel_size=1).
 * The blank logit bias is calibrated on the benchmark clip's encoder output (greedy decode
 * simulated in JS with the real decoder/joint weights) for 0.25 tokens per encoder frame,
 * about what Russian speech yields with 1024 pieces. With random weights emissions come in
 * bursts (a frame that emits often emits up to the cap of 3), so fewer frames emit than
 * tokens per frame suggests; the manifest records both.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { LogMelExtractor } from "../../src/frontend/logmel.ts";
import { MODEL_FILE_NAMES } from "../../src/model/files.ts";
import { createSession, tensorF32, tensorI64 } from "../../src/runtime/ort.ts";
import { DT, encodeModel, floatTensor, int64Tensor, node, valueInfo } from "../lib/onnx-writer.ts";
import { speechLikeClip } from "./clip.ts";
import { f32Bytes, type LazyTensor, writeStreamedModel } from "./onnx-stream.ts";

export const D_MODEL = 768;
export const HEADS = 16;
export const HEAD_DIM = D_MODEL / HEADS;
export const PRED = 320;
export const JOINT_HIDDEN = 320;
export const PIECES = 1024;
export const CLASSES = PIECES + 1;
export const N_MELS = 64;
export const CONV_KERNEL = 5;
/** bump when the graph or weight recipe changes (invalidates caches) */
export const GENERATOR_VERSION = 6;
/**
 * Gain of each residual branch's output projection. A deep stack of random blocks at full
 * gain collapses every frame onto the same vector (measured: cosine 1.000 between frames
 * after 16 blocks), which would make the joint's decisions all-or-nothing; small branches
 * keep the input's variation, as trained networks do.
 */
export const RESIDUAL_GAIN = 0.1;
/** tokens per encoder frame the blank bias is calibrated for (speech: about one per 4 frames) */
export const TARGET_TOKENS_PER_FRAME = 0.25;

export interface StandInOptions {
  readonly layers?: number;
  readonly dFf?: number;
  readonly seed?: number;
}

export interface StandInManifest {
  readonly generator: number;
  readonly layers: number;
  readonly dFf: number;
  readonly seed: number;
  readonly parameters: { readonly encoder: number; readonly decoder: number; readonly joint: number; readonly total: number };
  readonly bytes: Record<string, number>;
  readonly blankBias: number;
  /** tokens per encoder frame on the calibration clip (greedy, cap 3) */
  readonly calibrationTokensPerFrame: number;
  /** share of frames that emit at least one token on the calibration clip */
  readonly calibrationEmittingFrames: number;
  readonly generationSeconds: number;
}

export const MANIFEST = "bench-model.json";

// ---------------------------------------------------------------- weights

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Uniform(−a, a) from a per-tensor seed (name ⊕ global seed): order-independent and reproducible. */
export function uniformFill(out: Float32Array, a: number, name: string, seed: number): Float32Array {
  let s = (fnv1a(name) ^ Math.imul(seed, 0x9e3779b1)) >>> 0 || 1;
  const k = (2 * a) / 4294967296;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) * k - a;
  }
  return out;
}

type Fill = { kind: "uniform"; a: number } | { kind: "const"; value: number } | { kind: "data"; data: Float32Array };

interface ParamSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly fill: Fill;
}

function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function materialize(p: ParamSpec, seed: number): Float32Array {
  const out = new Float32Array(numel(p.dims));
  if (p.fill.kind === "uniform") return uniformFill(out, p.fill.a, p.name, seed);
  if (p.fill.kind === "const") return out.fill(p.fill.value);
  out.set(p.fill.data);
  return out;
}

function lazy(p: ParamSpec, seed: number): LazyTensor {
  return { name: p.name, dims: p.dims, dataType: DT.FLOAT, byteLength: numel(p.dims) * 4, bytes: () => f32Bytes(materialize(p, seed)) };
}

function lazyI64(name: string, dims: readonly number[], values: readonly number[]): LazyTensor {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims, dataType: DT.INT64, byteLength: data.byteLength, bytes: () => new Uint8Array(data.buffer) };
}

/** std = 1/√fanIn as a uniform half-width √(3/fanIn) */
const he = (fanIn: number): Fill => ({ kind: "uniform", a: Math.sqrt(3 / fanIn) });

// ---------------------------------------------------------------- encoder graph

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly params: ParamSpec[] = [];
  readonly consts: LazyTensor[] = [];
  #n = 0;
  tmp(prefix: string): string {
    return `${prefix}_${this.#n++}`;
  }
  param(name: string, dims: readonly number[], fill: Fill): string {
    this.params.push({ name, dims, fill });
    return name;
  }
  i64(name: string, dims: readonly number[], values: readonly number[]): string {
    this.consts.push(lazyI64(name, dims, values));
    return name;
  }
  f32const(name: string, dims: readonly number[], values: readonly number[]): string {
    return this.param(name, dims, { kind: "data", data: Float32Array.from(values) });
  }
  op(type: string, inputs: readonly string[], attrs: Parameters<typeof node>[3] = {}, nOut = 1): string[] {
    const outs = Array.from({ length: nOut }, () => this.tmp(type.toLowerCase()));
    this.nodes.push(node(type, inputs, outs, attrs, `${type}_${outs[0]}`));
    return outs;
  }
  one(type: string, inputs: readonly string[], attrs: Parameters<typeof node>[3] = {}): string {
    return this.op(type, inputs, attrs)[0]!;
  }
  linear(x: string, p: string, fanIn: number, fanOut: number, gain = 1): string {
    const w = this.param(`${p}.weight`, [fanIn, fanOut], { kind: "uniform", a: gain * Math.sqrt(3 / fanIn) });
    const b = this.param(`${p}.bias`, [fanOut], { kind: "uniform", a: 0.02 });
    return this.one("Add", [this.one("MatMul", [x, w]), b]);
  }
  layerNorm(x: string, p: string): string {
    const g = this.param(`${p}.weight`, [D_MODEL], { kind: "const", value: 1 });
    const b = this.param(`${p}.bias`, [D_MODEL], { kind: "const", value: 0 });
    return this.one("LayerNormalization", [x, g, b], { axis: -1, epsilon: { float: 1e-5 } });
  }
  silu(x: string): string {
    return this.one("Mul", [x, this.one("Sigmoid", [x])]);
  }
}

function feedForward(g: GraphBuilder, x: string, p: string, dFf: number): string {
  const h = g.silu(g.linear(g.layerNorm(x, `${p}.norm`), `${p}.linear1`, D_MODEL, dFf));
  const y = g.linear(h, `${p}.linear2`, dFf, D_MODEL, RESIDUAL_GAIN);
  return g.one("Add", [x, g.one("Mul", [y, "half"])]);
}

function rotary(g: GraphBuilder, x: string, cos: string, sin: string): string {
  // x [B,T,H,48]; rotate_half(x) = cat(−x2, x1)
  const [x1, x2] = g.op("Split", [x, "split_half"], { axis: -1 }, 2) as [string, string];
  const rot = g.one("Concat", [g.one("Neg", [x2]), x1], { axis: -1 });
  return g.one("Add", [g.one("Mul", [x, cos]), g.one("Mul", [rot, sin])]);
}

function selfAttention(g: GraphBuilder, x: string, p: string, cos: string, sin: string): string {
  const ln = g.layerNorm(x, `${p}.norm`);
  const heads = (v: string) => g.one("Reshape", [v, "shape_heads"]);
  const q = rotary(g, heads(g.linear(ln, `${p}.linear_q`, D_MODEL, D_MODEL)), cos, sin);
  const k = rotary(g, heads(g.linear(ln, `${p}.linear_k`, D_MODEL, D_MODEL)), cos, sin);
  const v = heads(g.linear(ln, `${p}.linear_v`, D_MODEL, D_MODEL));
  const qT = g.one("Transpose", [q], { perm: [0, 2, 1, 3] });
  const kT = g.one("Transpose", [k], { perm: [0, 2, 3, 1] });
  const vT = g.one("Transpose", [v], { perm: [0, 2, 1, 3] });
  const scores = g.one("Mul", [g.one("MatMul", [qT, kT]), "attn_scale"]);
  const ctx = g.one("MatMul", [g.one("Softmax", [scores], { axis: -1 }), vT]);
  const merged = g.one("Reshape", [g.one("Transpose", [ctx], { perm: [0, 2, 1, 3] }), "shape_model"]);
  return g.one("Add", [x, g.linear(merged, `${p}.linear_out`, D_MODEL, D_MODEL, RESIDUAL_GAIN)]);
}

/** Conv1d k=1 on [B,C,T] (how PyTorch exports a Conformer's pointwise convs). */
function pointwise(g: GraphBuilder, x: string, p: string, cin: number, cout: number, gain = 1): string {
  const w = g.param(`${p}.weight`, [cout, cin, 1], { kind: "uniform", a: gain * Math.sqrt(3 / cin) });
  const b = g.param(`${p}.bias`, [cout], { kind: "uniform", a: 0.02 });
  return g.one("Conv", [x, w, b], { kernel_shape: [1] });
}

function convModule(g: GraphBuilder, x: string, p: string): string {
  // [B,T,C] → LayerNorm → [B,C,T] → pointwise 768→1536 → GLU over channels → depthwise k5
  // → LayerNorm (on [B,T,C]) → SiLU → pointwise 768→768 → [B,T,C]
  const ln = g.one("Transpose", [g.layerNorm(x, `${p}.norm`)], { perm: [0, 2, 1] });
  const pw1 = pointwise(g, ln, `${p}.pointwise_conv1`, D_MODEL, 2 * D_MODEL);
  const [a, b] = g.op("Split", [pw1, "split_glu"], { axis: 1 }, 2) as [string, string];
  const glu = g.one("Mul", [a, g.one("Sigmoid", [b])]);
  const w = g.param(`${p}.depthwise_conv.weight`, [D_MODEL, 1, CONV_KERNEL], he(CONV_KERNEL));
  const bias = g.param(`${p}.depthwise_conv.bias`, [D_MODEL], { kind: "uniform", a: 0.02 });
  const dw = g.one("Conv", [glu, w, bias], { group: D_MODEL, kernel_shape: [CONV_KERNEL], pads: [2, 2], strides: [1] });
  const h = g.silu(g.layerNorm(g.one("Transpose", [dw], { perm: [0, 2, 1] }), `${p}.conv_norm`));
  const pw2 = pointwise(g, g.one("Transpose", [h], { perm: [0, 2, 1] }), `${p}.pointwise_conv2`, D_MODEL, D_MODEL, RESIDUAL_GAIN);
  return g.one("Add", [x, g.one("Transpose", [pw2], { perm: [0, 2, 1] })]);
}

interface EncoderGraph {
  readonly nodes: onnx.INodeProto[];
  readonly params: ParamSpec[];
  readonly consts: LazyTensor[];
}

export function encoderGraph(layers: number, dFf: number): EncoderGraph {
  const g = new GraphBuilder();
  g.i64("shape_heads", [4], [0, 0, HEADS, HEAD_DIM]);
  g.i64("shape_model", [3], [0, 0, D_MODEL]);
  g.i64("split_half", [2], [HEAD_DIM / 2, HEAD_DIM / 2]);
  g.i64("split_glu", [2], [D_MODEL, D_MODEL]);
  g.i64("one_i64", [], [1]);
  g.i64("two_i64", [], [2]);
  g.i64("zero_i64", [], [0]);
  g.i64("axis1", [1], [1]);
  g.f32const("half", [], [0.5]);
  g.f32const("attn_scale", [], [1 / Math.sqrt(HEAD_DIM)]);
  const invFreq = Array.from({ length: HEAD_DIM / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / HEAD_DIM));
  g.f32const("inv_freq", [1, HEAD_DIM / 2], invFreq);

  // subsampling: 2× Conv1d(k5, s2, p2) + ReLU, [B,64,T] → [B,768,T']
  let x = "audio_signal";
  for (const [i, cin] of [[0, N_MELS] as const, [1, D_MODEL] as const]) {
    const w = g.param(`pre_encode.conv${i}.weight`, [D_MODEL, cin, CONV_KERNEL], he(cin * CONV_KERNEL));
    const b = g.param(`pre_encode.conv${i}.bias`, [D_MODEL], { kind: "uniform", a: 0.02 });
    x = g.one("Relu", [g.one("Conv", [x, w, b], { kernel_shape: [CONV_KERNEL], strides: [2], pads: [2, 2] })]);
  }
  x = g.one("Transpose", [x], { perm: [0, 2, 1] }); // [B,T',768]

  // lengths: ((len − 1) / 2 + 1) twice
  let len = "length";
  for (let i = 0; i < 2; i++) len = g.one("Add", [g.one("Div", [g.one("Sub", [len, "one_i64"]), "two_i64"]), "one_i64"]);
  g.nodes.push(node("Cast", [len], ["encoded_len"], { to: DT.INT32 }));

  // rotary tables [T',1,48]
  const tLen = g.one("Gather", [g.one("Shape", [x]), "one_i64"], { axis: 0 });
  const pos = g.one("Unsqueeze", [g.one("Cast", [g.one("Range", ["zero_i64", tLen, "one_i64"])], { to: DT.FLOAT }), "axis1"]);
  const freqs = g.one("MatMul", [pos, "inv_freq"]);
  const emb = g.one("Unsqueeze", [g.one("Concat", [freqs, freqs], { axis: -1 }), "axis1"]);
  const cos = g.one("Cos", [emb]);
  const sin = g.one("Sin", [emb]);

  for (let l = 0; l < layers; l++) {
    const p = `layers.${l}`;
    x = feedForward(g, x, `${p}.feed_forward1`, dFf);
    x = selfAttention(g, x, `${p}.self_attn`, cos, sin);
    x = convModule(g, x, `${p}.conv`);
    x = feedForward(g, x, `${p}.feed_forward2`, dFf);
    x = g.layerNorm(x, `${p}.norm_out`);
  }
  g.nodes.push(node("Transpose", [x], ["encoded"], { perm: [0, 2, 1] }));
  return { nodes: g.nodes, params: g.params, consts: g.consts };
}

// ---------------------------------------------------------------- decoder and joint

function decoderParams(): ParamSpec[] {
  return [
    { name: "decoder.embedding", dims: [CLASSES, PRED], fill: { kind: "uniform", a: 1 } },
    { name: "decoder.lstm.W", dims: [1, 4 * PRED, PRED], fill: he(PRED) },
    { name: "decoder.lstm.R", dims: [1, 4 * PRED, PRED], fill: he(PRED) },
    { name: "decoder.lstm.B", dims: [1, 8 * PRED], fill: { kind: "uniform", a: 0.05 } },
  ];
}

/** The embedding with its blank row zeroed (padding_idx = blank). */
function embeddingData(seed: number): Float32Array {
  const e = uniformFill(new Float32Array(CLASSES * PRED), 1, "decoder.embedding", seed);
  e.fill(0, PIECES * PRED, CLASSES * PRED);
  return e;
}

function decoderModel(seed: number): Uint8Array {
  const [, W, R, B] = decoderParams();
  return encodeModel({
    name: "standin_decoder",
    docString: "gigastt benchmark stand-in decoder: Embedding 1025×320 + LSTM 320 (random weights)",
    inputs: [valueInfo("x", DT.INT64, ["B", 1]), valueInfo("h.1", DT.FLOAT, [1, "B", PRED]), valueInfo("c.1", DT.FLOAT, [1, "B", PRED])],
    outputs: [valueInfo("dec", DT.FLOAT, ["B", 1, PRED]), valueInfo("h", DT.FLOAT, [1, "B", PRED]), valueInfo("c", DT.FLOAT, [1, "B", PRED])],
    initializers: [
      floatTensor("embedding", [CLASSES, PRED], embeddingData(seed)),
      floatTensor("W", W!.dims, materialize(W!, seed)),
      floatTensor("R", R!.dims, materialize(R!, seed)),
      floatTensor("Bias", B!.dims, materialize(B!, seed)),
      int64Tensor("axis1", [1], [1]),
    ],
    nodes: [
      node("Gather", ["embedding", "x"], ["emb"], { axis: 0 }),
      node("Transpose", ["emb"], ["seq"], { perm: [1, 0, 2] }),
      node("LSTM", ["seq", "W", "R", "Bias", "", "h.1", "c.1"], ["Y", "h", "c"], { hidden_size: PRED }),
      node("Squeeze", ["Y", "axis1"], ["Y3"]),
      node("Transpose", ["Y3"], ["dec"], { perm: [1, 0, 2] }),
    ],
  });
}

interface JointWeights {
  readonly We: Float32Array;
  readonly be: Float32Array;
  readonly Wp: Float32Array;
  readonly bp: Float32Array;
  readonly Wo: Float32Array;
  readonly bo: Float32Array;
}

function jointWeights(seed: number): JointWeights {
  const u = (name: string, n: number, a: number) => uniformFill(new Float32Array(n), a, name, seed);
  return {
    We: u("joint.enc.weight", D_MODEL * JOINT_HIDDEN, Math.sqrt(3 / D_MODEL)),
    be: u("joint.enc.bias", JOINT_HIDDEN, 0.02),
    Wp: u("joint.pred.weight", PRED * JOINT_HIDDEN, Math.sqrt(3 / PRED)),
    bp: u("joint.pred.bias", JOINT_HIDDEN, 0.02),
    Wo: u("joint.out.weight", JOINT_HIDDEN * CLASSES, Math.sqrt(3 / JOINT_HIDDEN)),
    bo: u("joint.out.bias", CLASSES, 0.02),
  };
}

function jointModel(w: JointWeights, blankBias: number): Uint8Array {
  const bo = w.bo.slice();
  bo[PIECES] = blankBias;
  return encodeModel({
    name: "standin_joint",
    docString: "gigastt benchmark stand-in joint: 768→320 + 320→320, ReLU, 320→1025, LogSoftmax (random weights, biased blank)",
    inputs: [valueInfo("enc", DT.FLOAT, ["B", D_MODEL, 1]), valueInfo("dec", DT.FLOAT, ["B", PRED, 1])],
    outputs: [valueInfo("joint", DT.FLOAT, ["B", 1, 1, CLASSES])],
    initializers: [
      floatTensor("W_enc", [D_MODEL, JOINT_HIDDEN], w.We),
      floatTensor("b_enc", [JOINT_HIDDEN], w.be),
      floatTensor("W_pred", [PRED, JOINT_HIDDEN], w.Wp),
      floatTensor("b_pred", [JOINT_HIDDEN], w.bp),
      floatTensor("W_out", [JOINT_HIDDEN, CLASSES], w.Wo),
      floatTensor("b_out", [CLASSES], bo),
      int64Tensor("enc_shape", [2], [-1, D_MODEL]),
      int64Tensor("dec_shape", [2], [-1, PRED]),
      int64Tensor("out_shape", [4], [-1, 1, 1, CLASSES]),
    ],
    nodes: [
      node("Reshape", ["enc", "enc_shape"], ["enc2"]),
      node("Reshape", ["dec", "dec_shape"], ["dec2"]),
      node("MatMul", ["enc2", "W_enc"], ["e_mm"]),
      node("Add", ["e_mm", "b_enc"], ["e_lin"]),
      node("MatMul", ["dec2", "W_pred"], ["p_mm"]),
      node("Add", ["p_mm", "b_pred"], ["p_lin"]),
      node("Add", ["e_lin", "p_lin"], ["hsum"]),
      node("Relu", ["hsum"], ["hid"]),
      node("MatMul", ["hid", "W_out"], ["o_mm"]),
      node("Add", ["o_mm", "b_out"], ["logits"]),
      node("LogSoftmax", ["logits"], ["logp"], { axis: -1 }),
      node("Reshape", ["logp", "out_shape"], ["joint"]),
    ],
  });
}

/** One ONNX LSTM step (gate order i, o, f, c): returns the new (h, c). */
function lstmStep(token: number, h: Float32Array, c: Float32Array, emb: Float32Array, W: Float32Array, R: Float32Array, B: Float32Array): [Float32Array, Float32Array] {
  const x = emb.subarray(token * PRED, (token + 1) * PRED);
  const gate = (gIdx: number, j: number) => {
    const row = (gIdx * PRED + j) * PRED;
    let s = B[gIdx * PRED + j]! + B[4 * PRED + gIdx * PRED + j]!;
    for (let k = 0; k < PRED; k++) s += W[row + k]! * x[k]! + R[row + k]! * h[k]!;
    return s;
  };
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const h2 = new Float32Array(PRED);
  const c2 = new Float32Array(PRED);
  for (let j = 0; j < PRED; j++) {
    const i = sig(gate(0, j));
    const o = sig(gate(1, j));
    const f = sig(gate(2, j));
    c2[j] = f * c[j]! + i * Math.tanh(gate(3, j));
    h2[j] = o * Math.tanh(c2[j]!);
  }
  return [h2, c2];
}

interface DecoderWeights {
  readonly emb: Float32Array;
  readonly W: Float32Array;
  readonly R: Float32Array;
  readonly B: Float32Array;
}

/**
 * Greedy RNN-T (cap 3 per frame) in plain JS for a given blank bias: the rates of
 * tokens per frame and of frames that emit, so the bias can be calibrated.
 */
/** Encoder half of the joint's hidden layer for every frame: be + enc_t · We. */
function jointEncPart(enc: Float32Array, frames: number, w: JointWeights): Float64Array {
  const encPart = new Float64Array(frames * JOINT_HIDDEN);
  for (let t = 0; t < frames; t++)
    for (let j = 0; j < JOINT_HIDDEN; j++) {
      let s = w.be[j]!;
      for (let k = 0; k < D_MODEL; k++) s += enc[t * D_MODEL + k]! * w.We[k * JOINT_HIDDEN + j]!;
      encPart[t * JOINT_HIDDEN + j] = s;
    }
  return encPart;
}

function simulateGreedy(encPart: Float64Array, frames: number, w: JointWeights, d: DecoderWeights, blankBias: number): { tokensPerFrame: number; emitRate: number } {
  const predPart = (dec: Float32Array) => {
    const p = new Float64Array(JOINT_HIDDEN);
    for (let j = 0; j < JOINT_HIDDEN; j++) {
      let s = w.bp[j]!;
      for (let k = 0; k < PRED; k++) s += dec[k]! * w.Wp[k * JOINT_HIDDEN + j]!;
      p[j] = s;
    }
    return p;
  };
  let [h, c] = lstmStep(PIECES, new Float32Array(PRED), new Float32Array(PRED), d.emb, d.W, d.R, d.B);
  let pred = predPart(h);
  const hid = new Float64Array(JOINT_HIDDEN);
  const logits = new Float64Array(CLASSES);
  let tokens = 0;
  let emitting = 0;
  for (let t = 0; t < frames; t++) {
    let emitted = 0;
    while (emitted < 3) {
      for (let j = 0; j < JOINT_HIDDEN; j++) {
        const v = encPart[t * JOINT_HIDDEN + j]! + pred[j]!;
        hid[j] = v > 0 ? v : 0;
      }
      // row by row over the contiguous weights (each class still sums its terms in j order, so the
      // logits are the same numbers as a per-class loop; a zero hidden unit adds nothing)
      logits.set(w.bo);
      logits[PIECES] = blankBias;
      for (let j = 0; j < JOINT_HIDDEN; j++) {
        const x = hid[j]!;
        if (x === 0) continue;
        const row = j * CLASSES;
        for (let cls = 0; cls < CLASSES; cls++) logits[cls]! += x * w.Wo[row + cls]!;
      }
      let best = PIECES;
      let bestVal = Number.NEGATIVE_INFINITY;
      for (let cls = 0; cls < CLASSES; cls++) {
        const s = logits[cls]!;
        if (s > bestVal) {
          bestVal = s;
          best = cls;
        }
      }
      if (best === PIECES) break;
      if (emitted === 0) emitting++;
      emitted++;
      tokens++;
      [h, c] = lstmStep(best, h, c, d.emb, d.W, d.R, d.B);
      pred = predPart(h);
    }
  }
  return { tokensPerFrame: tokens / frames, emitRate: emitting / frames };
}

// ---------------------------------------------------------------- vocabulary

/** 1024 unique Cyrillic pieces (CV and CVC syllables, with and without ▁) + <blk>. */
export function standInVocab(): string {
  const cons = "бвгдзклмнпрстфхцчшжй";
  const vow = "аеиоуыэюя";
  const syl: string[] = [];
  for (const c of cons) for (const v of vow) syl.push(c + v);
  for (const c of cons) for (const v of vow) for (const c2 of "нтрлск") syl.push(c + v + c2);
  const pieces: string[] = [];
  for (let i = 0; pieces.length < PIECES; i++) {
    pieces.push(`▁${syl[i]}`);
    if (pieces.length < PIECES) pieces.push(syl[i]!);
  }
  return `${[...pieces, "<blk>"].map((p, i) => `${p} ${i}`).join("\n")}\n`;
}

// ---------------------------------------------------------------- write

export interface WriteResult {
  readonly dir: string;
  readonly cached: boolean;
  readonly manifest: StandInManifest;
}

function sameParams(m: StandInManifest | undefined, layers: number, dFf: number, seed: number): boolean {
  return !!m && m.generator === GENERATOR_VERSION && m.layers === layers && m.dFf === dFf && m.seed === seed;
}

export function readManifest(dir: string): StandInManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as StandInManifest;
  } catch {
    return undefined;
  }
}

/** Writes (or finds cached) the stand-in into `dir`. `log` receives progress lines. */
export async function writeStandIn(dir: string, opts: StandInOptions & { force?: boolean; log?: (s: string) => void } = {}): Promise<WriteResult> {
  const layers = opts.layers ?? 16;
  const dFf = opts.dFf ?? 3072;
  const seed = opts.seed ?? 1;
  const log = opts.log ?? (() => {});
  if (!Number.isInteger(layers) || layers < 1 || !Number.isInteger(dFf) || dFf < 1) throw new Error("layers and d-ff must be positive integers");
  const files = [...Object.values(MODEL_FILE_NAMES), "config.json"];
  const prev = readManifest(dir);
  if (!opts.force && sameParams(prev, layers, dFf, seed) && files.every((f) => existsSync(join(dir, f)))) {
    const sizesOk = Object.entries(prev!.bytes).every(([f, n]) => existsSync(join(dir, f)) && statSync(join(dir, f)).size === n);
    if (sizesOk) return { dir, cached: true, manifest: prev! };
  }
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  // int8 encoders derived from an earlier stand-in no longer match it
  for (const f of ["v3_e2e_rnnt_encoder.int8.onnx", "v3_e2e_rnnt_encoder_int8.onnx"]) rmSync(join(dir, f), { force: true });
  const enc = encoderGraph(layers, dFf);
  const encParams = enc.params.reduce((a, p) => a + numel(p.dims), 0);
  log(`encoder: ${layers} blocks, FFN ${dFf}, ${(encParams / 1e6).toFixed(1)} M parameters`);
  const encPath = join(dir, MODEL_FILE_NAMES.encoder);
  const encBytes = writeStreamedModel(encPath, {
    name: "standin_encoder",
    docString: `gigastt benchmark stand-in encoder (random weights, seed ${seed}): GigaAM v3 shape, ${layers} Conformer blocks`,
    nodes: enc.nodes,
    inputs: [valueInfo("audio_signal", DT.FLOAT, ["B", N_MELS, "T"]), valueInfo("length", DT.INT64, ["B"])],
    outputs: [valueInfo("encoded", DT.FLOAT, ["B", D_MODEL, "T_out"]), valueInfo("encoded_len", DT.INT32, ["B"])],
    initializers: [...enc.consts, ...enc.params.map((p) => lazy(p, seed))],
  });
  log(`encoder written: ${(encBytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // decoder
  const decBytes = decoderModel(seed);
  writeFileSync(join(dir, MODEL_FILE_NAMES.decoder), decBytes);

  // calibrate the blank bias on the benchmark clip's encoder output
  const clip = speechLikeClip(16);
  const { features, frames } = new LogMelExtractor().compute(clip.samples);
  const session = await createSession(encPath, { intraOpThreads: 2 });
  const out = await session.run({ audio_signal: tensorF32(features, [1, N_MELS, frames]), length: tensorI64(BigInt64Array.of(BigInt(frames)), [1]) });
  const encoded = out.encoded!;
  const tOut = Number(encoded.dims[2]);
  const src = encoded.data as Float32Array;
  const frameMajor = new Float32Array(tOut * D_MODEL);
  for (let d = 0; d < D_MODEL; d++) for (let t = 0; t < tOut; t++) frameMajor[t * D_MODEL + d] = src[d * tOut + t]!;
  await session.release();
  const [, W, R, B] = decoderParams();
  const dw: DecoderWeights = { emb: embeddingData(seed), W: materialize(W!, seed), R: materialize(R!, seed), B: materialize(B!, seed) };
  const jw = jointWeights(seed);
  const encPart = jointEncPart(frameMajor, tOut, jw);
  // bisection on the blank bias: tokens per frame falls as the bias grows
  let lo = -20;
  let hi = 40;
  let sim = simulateGreedy(encPart, tOut, jw, dw, (lo + hi) / 2);
  for (let i = 0; i < 14; i++) {
    const mid = (lo + hi) / 2;
    sim = simulateGreedy(encPart, tOut, jw, dw, mid);
    if (sim.tokensPerFrame > TARGET_TOKENS_PER_FRAME) lo = mid;
    else hi = mid;
  }
  const blankBias = (lo + hi) / 2;
  sim = simulateGreedy(encPart, tOut, jw, dw, blankBias);
  log(`joint: blank bias ${blankBias.toFixed(3)} → ${sim.tokensPerFrame.toFixed(3)} tokens per frame, ${(sim.emitRate * 100).toFixed(1)} % of frames emit (calibration clip)`);
  const jointBytes = jointModel(jw, blankBias);
  writeFileSync(join(dir, MODEL_FILE_NAMES.joint), jointBytes);
  writeFileSync(join(dir, MODEL_FILE_NAMES.vocab), standInVocab());
  // onnx-asr reads config.json from the model folder (the HF repo ships one)
  writeFileSync(
    join(dir, "config.json"),
    `${JSON.stringify({ model_type: "gigaam", version: "v3", features_size: N_MELS, subsampling_factor: 4, max_tokens_per_step: 3 })}\n`,
  );
  const decParams = CLASSES * PRED + 2 * 4 * PRED * PRED + 8 * PRED;
  const jointParams = D_MODEL * JOINT_HIDDEN + JOINT_HIDDEN + PRED * JOINT_HIDDEN + JOINT_HIDDEN + JOINT_HIDDEN * CLASSES + CLASSES;
  const bytes: Record<string, number> = {};
  for (const f of files) bytes[f] = statSync(join(dir, f)).size;
  const manifest: StandInManifest = {
    generator: GENERATOR_VERSION,
    layers,
    dFf,
    seed,
    parameters: { encoder: encParams, decoder: decParams, joint: jointParams, total: encParams + decParams + jointParams },
    bytes,
    blankBias,
    calibrationTokensPerFrame: sim.tokensPerFrame,
    calibrationEmittingFrames: sim.emitRate,
    generationSeconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, cached: false, manifest };
}
