/**
 * Small ONNX models for the int8 tests: the case where u8×s8 saturation shows — inputs centred like a
 * Conformer's LayerNorm outputs (zero mean, unit variance per row) and weights uniform like PyTorch's
 * default Linear init (±1/√fan_in) — plus writers for int8 files "made elsewhere".
 */
import { onnx } from "onnx-proto";
import { DT, encodeModel, floatTensor, node, valueInfo } from "../../scripts/lib/onnx-writer.ts";
import { type Int8Scheme, quantizeModel } from "../../src/quantize/rewrite.ts";

/** xorshift32 uniform(−a, a) */
export function uniform(n: number, a: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 * a - a;
  }
  return out;
}

/** rows of `dim` values with zero mean and unit variance (a LayerNorm output), from a seeded Gaussian-ish source */
export function layerNormRows(rows: number, dim: number, seed: number): Float32Array {
  const u = uniform(rows * dim * 4, 1, seed);
  const x = new Float32Array(rows * dim);
  for (let i = 0; i < x.length; i++) x[i] = (u[4 * i]! + u[4 * i + 1]! + u[4 * i + 2]! + u[4 * i + 3]!) * 0.866; // ≈ N(0,1)
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let j = 0; j < dim; j++) m += x[r * dim + j]!;
    m /= dim;
    let v = 0;
    for (let j = 0; j < dim; j++) v += (x[r * dim + j]! - m) ** 2;
    const inv = 1 / Math.sqrt(v / dim + 1e-5);
    for (let j = 0; j < dim; j++) x[r * dim + j] = (x[r * dim + j]! - m) * inv;
  }
  return x;
}

/** PyTorch's default nn.Linear weight init, stored [in, out] as an ONNX MatMul reads it */
export function linearWeight(fanIn: number, fanOut: number, seed: number): Float32Array {
  return uniform(fanIn * fanOut, 1 / Math.sqrt(fanIn), seed);
}

export const FFN_IN = 256;
export const FFN_HID = 1024;

/** A Conformer feed-forward block: x [B,T,256] → MatMul [256,1024] → ReLU → MatMul [1024,256] → y */
export function ffnModel(seed = 1): Uint8Array {
  return encodeModel({
    name: "ffn",
    inputs: [valueInfo("x", DT.FLOAT, ["B", "T", FFN_IN])],
    outputs: [valueInfo("y", DT.FLOAT, ["B", "T", FFN_IN])],
    initializers: [floatTensor("W1", [FFN_IN, FFN_HID], linearWeight(FFN_IN, FFN_HID, seed)), floatTensor("W2", [FFN_HID, FFN_IN], linearWeight(FFN_HID, FFN_IN, seed + 1))],
    nodes: [node("MatMul", ["x", "W1"], ["h0"]), node("Relu", ["h0"], ["h"]), node("MatMul", ["h", "W2"], ["y"])],
  });
}

/** An int8 file as another tool would write it: our rewrite under `scheme`, with another producer and no gigastt metadata. */
export function foreignInt8(fp32: Uint8Array, scheme: Int8Scheme, producer = "onnx.quantize"): Uint8Array {
  const m = quantizeModel(onnx.ModelProto.decode(fp32), "dynamic", scheme).model;
  return onnx.ModelProto.encode({ ...m, producerName: producer, metadataProps: [] }).finish();
}

/** An int8 file as gigastt wrote it before schemes were recorded (full-range s8, producer ours, no metadata). */
export function legacyInt8(fp32: Uint8Array): Uint8Array {
  const m = quantizeModel(onnx.ModelProto.decode(fp32), "dynamic", "s8").model;
  return onnx.ModelProto.encode({ ...m, metadataProps: [] }).finish();
}
