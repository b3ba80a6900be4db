/**
 * What an int8 encoder file is, without running it.
 *
 * `readModelHeader`: the producer and metadata of an ONNX file, read by walking the top-level
 *   protobuf fields and skipping the graph's bytes (milliseconds for a 900 MB file).
 * `int8WeightProfile`: the integer-GEMM nodes of a graph and the range of their s8 weights — the
 *   fact that decides whether the file clips on a CPU whose u8×s8 kernel saturates (../runtime/cpu.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { onnx } from "onnx-proto";

/** The metadata key our quantizer writes; its value is the Int8Scheme (or "weight-only"). */
export const SCHEME_KEY = "gigastt.int8_scheme";
export const PRODUCER = "gigastt-quantize";

export interface ModelHeader {
  readonly producerName: string;
  readonly metadata: Readonly<Record<string, string>>;
}

const MAX_META_BYTES = 1 << 20;

/** Producer name and metadata_props of an ONNX file; throws when the file is not a protobuf ModelProto. */
export function readModelHeader(path: string): ModelHeader {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const small = Buffer.alloc(16);
    let pos = 0;
    const varint = (): number => {
      const n = readSync(fd, small, 0, 10, pos);
      let v = 0;
      let mul = 1;
      for (let i = 0; i < n; i++) {
        const b = small[i]!;
        v += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) {
          pos += i + 1;
          return v;
        }
      }
      throw new Error(`bad varint at byte ${pos}`);
    };
    const bytes = (len: number): Uint8Array => {
      if (len > MAX_META_BYTES) throw new Error(`field of ${len} bytes at ${pos}`);
      const b = Buffer.alloc(len);
      if (readSync(fd, b, 0, len, pos) !== len) throw new Error("truncated");
      pos += len;
      return b;
    };
    let producerName = "";
    const metadata: Record<string, string> = {};
    while (pos < size) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === 0) throw new Error(`field 0 at byte ${pos}`);
      if (wire === 0) varint();
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const len = varint();
        if (pos + len > size) throw new Error(`field ${field} runs past the end of the file`);
        if (field === 2) producerName = new TextDecoder().decode(bytes(len));
        else if (field === 14) {
          const e = onnx.StringStringEntryProto.decode(bytes(len));
          if (e.key) metadata[e.key] = e.value ?? "";
        } else pos += len;
      } else throw new Error(`wire type ${wire} at byte ${pos}`);
    }
    if (pos !== size) throw new Error("truncated");
    return { producerName, metadata };
  } finally {
    closeSync(fd);
  }
}

export interface Int8WeightProfile {
  /** MatMulInteger, ConvInteger, DynamicQuantizeMatMul, MatMulIntegerToFloat nodes */
  readonly integerNodes: number;
  /** of those, nodes whose constant weight is s8 */
  readonly s8Nodes: number;
  /** of those, nodes whose constant weight is u8 (u8×u8 kernels widen first: never saturate) */
  readonly u8Nodes: number;
  /** max |q − zero point| over the s8 weights (0 when none) */
  readonly maxS8: number;
  /** DequantizeLinear nodes (weight-only int8: the GEMM runs in fp32) */
  readonly dequantizeNodes: number;
}

/** The integer ops whose input 1 is the weight, and the index of that weight's zero point. */
export const INTEGER_GEMM: Readonly<Record<string, number>> = {
  MatMulInteger: 3,
  ConvInteger: 3,
  DynamicQuantizeMatMul: 3,
  MatMulIntegerToFloat: 5,
};

export function tensorValues(t: onnx.ITensorProto): Int8Array | Uint8Array | null {
  const n = (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
  const dt = onnx.TensorProto.DataType;
  if (t.dataType !== dt.INT8 && t.dataType !== dt.UINT8) return null;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return null;
  let raw: Uint8Array;
  if (t.rawData && t.rawData.length > 0) raw = t.rawData;
  else raw = Uint8Array.from(t.int32Data ?? [], (v) => v & 0xff);
  if (raw.length !== n) return null;
  return t.dataType === dt.INT8 ? new Int8Array(raw.buffer, raw.byteOffset, raw.length) : new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
}

/** Integer-GEMM nodes and their weight ranges (zero points of any shape are honoured as scalar or per channel). */
export function int8WeightProfile(model: onnx.IModelProto): Int8WeightProfile {
  const g = model.graph;
  const inits = new Map<string, onnx.ITensorProto>();
  for (const t of g?.initializer ?? []) if (t.name) inits.set(t.name, t);
  let integerNodes = 0;
  let s8Nodes = 0;
  let u8Nodes = 0;
  let maxS8 = 0;
  let dequantizeNodes = 0;
  for (const n of g?.node ?? []) {
    if (n.opType === "DequantizeLinear") dequantizeNodes++;
    const zpIndex = INTEGER_GEMM[n.opType ?? ""];
    if (zpIndex === undefined) continue;
    integerNodes++;
    const w = inits.get(n.input?.[1] ?? "");
    const q = w ? tensorValues(w) : null;
    if (!q) continue;
    if (q instanceof Uint8Array) {
      u8Nodes++;
      continue;
    }
    s8Nodes++;
    const zpT = inits.get(n.input?.[zpIndex] ?? "");
    const zp = zpT ? tensorValues(zpT) : null;
    maxS8 = Math.max(maxS8, maxAbsCentred(q, zp, w!.dims?.map(Number) ?? [], n.opType === "ConvInteger"));
  }
  return { integerNodes, s8Nodes, u8Nodes, maxS8, dequantizeNodes };
}

/** max |q − zp| with zp scalar, or per output channel (last axis of a MatMul weight, first of a Conv weight). */
export function maxAbsCentred(q: Int8Array, zp: Int8Array | Uint8Array | null, dims: readonly number[], convLayout: boolean): number {
  const zpAt = channelIndexer(zp, dims, convLayout);
  let m = 0;
  for (let i = 0; i < q.length; i++) m = Math.max(m, Math.abs(q[i]! - zpAt(i)));
  return m;
}

/** i → the zero point that applies to element i of a weight of `dims`. */
export function channelIndexer(zp: Int8Array | Uint8Array | null, dims: readonly number[], convLayout: boolean): (i: number) => number {
  if (!zp || zp.length === 0) return () => 0;
  if (zp.length === 1) return () => zp[0]!;
  if (convLayout) {
    const inner = dims.slice(1).reduce((a, d) => a * d, 1);
    return (i) => zp[Math.floor(i / inner)]!;
  }
  const N = dims[dims.length - 1] ?? 1;
  return (i) => zp[i % N]!;
}

/** Largest |s8 weight| whose u8×s8 pairs cannot saturate a 16-bit sum: 2·255·64 = 32640 ≤ 32767. */
export const SATURATION_SAFE_S8 = 64;

/** True when the graph computes wrongly on a CPU whose u8×s8 kernel saturates. */
export function clipsWhereU8S8Saturates(p: Int8WeightProfile): boolean {
  return p.s8Nodes > 0 && p.maxS8 > SATURATION_SAFE_S8;
}
