/**
 * int8 graph rewrites of an ONNX model (pure: ModelProto in, ModelProto out).
 *
 * `dynamic` — per MatMul whose second input is a 2-D fp32 initializer W [K,N]:
 *   DynamicQuantizeLinear(x) → x_q (u8), x_scale, x_zp          (shared per activation)
 *   MatMulInteger(x_q, W_q (s8 [K,N]), x_zp, W_zp (s8 [N] = 0)) → i32
 *   Cast(float) · Mul(x_scale, W_scale[N])  → the MatMul's output
 *   W is quantized symmetrically per output column n: scale_n = max|W[:,n]| / 127.
 *   This is the pattern onnxruntime fuses into DynamicQuantizeMatMul.
 *
 * `weightOnly` — like the Rust server's quantizer (docs/MODEL.md §6): every fp32 initializer of
 *   ≥ 1024 elements used as input ≥ 1 of MatMul, Conv or Gemm becomes int8 (symmetric,
 *   per slice of axis 0) behind a DequantizeLinear(axis 0); activations stay fp32.
 *
 *   A 1-D pointwise Conv (kernel 1, group 1: the Conv1d k=1 of a Conformer conv module as PyTorch
 *   exports it) on [B,C,T] is the same GEMM: Transpose → the pattern above with Wᵀ → + bias →
 *   Transpose back (faster than ConvInteger, which onnxruntime does not fuse: ≈ 105 ms vs 157 ms on the
 *   stand-in). Wider and depthwise convs stay fp32.
 *
 * Everything else (decoder/joint graphs, small tensors) stays fp32.
 */
import { onnx } from "onnx-proto";
import { PRODUCER, SCHEME_KEY } from "./inspect.ts";

const DT = onnx.TensorProto.DataType;

export type QuantizeMode = "dynamic" | "weight-only";

/** Initializers smaller than this stay fp32 (as in the Rust quantizer). */
export const MIN_ELEMENTS = 1024;

export interface QuantizeStats {
  /** nodes rewritten */
  readonly nodes: number;
  /** fp32 weights replaced by int8 */
  readonly tensors: number;
  /** elements now stored as int8 */
  readonly elements: number;
  /** fp32 elements left in initializers */
  readonly fp32Elements: number;
}

export class QuantizeError extends Error {}

/** dims may hold protobuf Longs: Number() reads both */
function numel(dims: readonly unknown[]): number {
  return dims.reduce<number>((a, d) => a * Number(d), 1);
}

/** fp32 values of an initializer (raw_data or float_data); throws for external data. */
export function floatData(t: onnx.ITensorProto): Float32Array {
  if (t.dataType !== DT.FLOAT) throw new QuantizeError(`tensor ${t.name} is not float32`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw new QuantizeError(`tensor ${t.name} uses external data (not supported)`);
  const n = numel(t.dims ?? []);
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    if (raw.length !== n * 4) throw new QuantizeError(`tensor ${t.name}: ${raw.length} bytes for ${n} floats`);
    // copy to an aligned buffer (raw_data may sit at any offset of the file buffer)
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(raw);
    return out;
  }
  const fd = t.floatData ?? [];
  if (fd.length !== n) throw new QuantizeError(`tensor ${t.name}: ${fd.length} floats for dims [${(t.dims ?? []).join(",")}]`);
  return Float32Array.from(fd);
}

/**
 * How the dynamic rewrite stores a weight column (activations are always u8, from DynamicQuantizeLinear):
 * - `s7`: symmetric s8 limited to ±63 (scale = max|w|/63). A pair of u8×s8 products then stays within 16 bits
 *   (2·255·64 < 32767), so x86 AVX2 without VNNI (`vpmaddubsw`, which saturates pairs) computes it exactly.
 * - `u8`: asymmetric u8 with a zero point per column (scale = (max − min)/255); u8×u8 kernels widen to 16 bits
 *   first, so nothing saturates either.
 * - `s8`: symmetric s8 over ±127 (scale = max|w|/127): exact only where the kernel adds in 32 bits (VNNI, arm64);
 *   on AVX2 without VNNI pairs clip. Kept for measurements, never written by default.
 */
export type Int8Scheme = "s7" | "u8" | "s8";

/** The scheme `gigastt quantize` and `serve` write: exact on every CPU (chosen by measurement: BENCHMARKS.md). */
export const DEFAULT_INT8_SCHEME: Int8Scheme = "s7";

export interface PerChannel {
  /** s8 values (s7/s8 schemes) or u8 values (u8 scheme) */
  readonly q: Int8Array | Uint8Array;
  readonly scale: Float32Array;
  /** per-column zero points: s8 zeros, or u8 values for the u8 scheme */
  readonly zeroPoint: Int8Array | Uint8Array;
}

/** Per-column quantization of a row-major [K,N] matrix under `scheme` (scale 1 for an all-zero column). */
export function quantizeColumns(w: Float32Array, K: number, N: number, scheme: Int8Scheme = DEFAULT_INT8_SCHEME): PerChannel {
  const lo = new Float32Array(N);
  const hi = new Float32Array(N);
  for (let k = 0; k < K; k++) {
    const row = k * N;
    for (let n = 0; n < N; n++) {
      const v = w[row + n]!;
      if (v < lo[n]!) lo[n] = v;
      if (v > hi[n]!) hi[n] = v;
    }
  }
  const scale = new Float32Array(N);
  if (scheme === "u8") {
    // the range always holds 0 (lo ≤ 0 ≤ hi), so the zero point is a valid u8 and 0 is exact
    const zp = new Uint8Array(N);
    for (let n = 0; n < N; n++) {
      const span = hi[n]! - lo[n]!;
      scale[n] = span > 0 ? span / 255 : 1;
      zp[n] = Math.min(255, Math.max(0, Math.round(-lo[n]! / scale[n]!)));
    }
    const q = new Uint8Array(K * N);
    for (let k = 0; k < K; k++) {
      const row = k * N;
      for (let n = 0; n < N; n++) q[row + n] = Math.min(255, Math.max(0, Math.round(w[row + n]! / scale[n]!) + zp[n]!));
    }
    return { q, scale, zeroPoint: zp };
  }
  const limit = scheme === "s7" ? 63 : 127;
  const inv = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const m = Math.max(-lo[n]!, hi[n]!);
    scale[n] = m > 0 ? m / limit : 1;
    inv[n] = 1 / scale[n]!;
  }
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    const row = k * N;
    for (let n = 0; n < N; n++) q[row + n] = clampTo(Math.round(w[row + n]! * inv[n]!), limit);
  }
  return { q, scale, zeroPoint: new Int8Array(N) };
}

function clampTo(v: number, limit: number): number {
  return v > limit ? limit : v < -limit ? -limit : v;
}

/** Symmetric int8 per slice of axis 0 (C slices of `inner` elements). */
export function quantizeRows(w: Float32Array, C: number, inner: number): PerChannel {
  const scale = new Float32Array(C);
  const q = new Int8Array(C * inner);
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let i = 0; i < inner; i++) m = Math.max(m, Math.abs(w[c * inner + i]!));
    const s = m > 0 ? m / 127 : 1;
    scale[c] = s;
    const inv = 1 / s;
    for (let i = 0; i < inner; i++) q[c * inner + i] = clamp8(Math.round(w[c * inner + i]! * inv));
  }
  return { q, scale, zeroPoint: new Int8Array(C) };
}

function clamp8(v: number): number {
  return clampTo(v, 127);
}

/** A 1-D pointwise Conv (kernel 1, group 1, stride 1, no padding) with an fp32 initializer weight of ≥ MIN_ELEMENTS. */
function convQuantizable(n: onnx.INodeProto, w: onnx.ITensorProto | undefined): boolean {
  if (!w || w.dataType !== DT.FLOAT || (n.domain && n.domain !== "")) return false;
  const dims = (w.dims ?? []).map(Number);
  if (dims.length < 3 || numel(dims) < MIN_ELEMENTS) return false;
  const group = Number((n.attribute ?? []).find((a) => a.name === "group")?.i ?? 1);
  // 1-D pointwise only: a kernel of size 1 is a GEMM; wider kernels (subsampling, depthwise) gained
  // nothing measurable on the stand-in and the first one, fed raw log-mel, lost accuracy
  const pads = (n.attribute ?? []).find((a) => a.name === "pads")?.ints?.map(Number) ?? [];
  const strides = (n.attribute ?? []).find((a) => a.name === "strides")?.ints?.map(Number) ?? [];
  const dil = (n.attribute ?? []).find((a) => a.name === "dilations")?.ints?.map(Number) ?? [];
  return dims.length === 3 && dims[2] === 1 && group === 1 && pads.every((p) => p === 0) && strides.every((x) => x === 1) && dil.every((x) => x === 1);
}

function int8Tensor(name: string, dims: readonly number[], data: Int8Array | Uint8Array): onnx.ITensorProto {
  return { name, dims: [...dims], dataType: data instanceof Int8Array ? DT.INT8 : DT.UINT8, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function f32Tensor(name: string, dims: readonly number[], data: Float32Array): onnx.ITensorProto {
  return { name, dims: [...dims], dataType: DT.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function node(opType: string, input: string[], output: string[], name: string, attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { opType, input, output, name, attribute, domain: "" };
}

/** Returns a new model with its MatMul/Conv/Gemm weights in int8; `stats` says what changed. */
export function quantizeModel(
  model: onnx.IModelProto,
  mode: QuantizeMode,
  scheme: Int8Scheme = DEFAULT_INT8_SCHEME,
): { model: onnx.IModelProto; stats: QuantizeStats } {
  const graph = model.graph;
  if (!graph) throw new QuantizeError("model has no graph");
  const inits = new Map<string, onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) if (t.name) inits.set(t.name, t);
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
  if (!opset || Number(opset.version) < 13) throw new QuantizeError(`default-domain opset ${opset ? Number(opset.version) : "none"} < 13 (per-axis DequantizeLinear needs 13)`);

  const nodes = graph.node ?? [];
  // how many nodes read each initializer (a weight read elsewhere keeps its fp32 copy)
  const uses = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of graph.output ?? []) uses.set(o.name ?? "", (uses.get(o.name ?? "") ?? 0) + 1);

  const newInits: onnx.ITensorProto[] = [];
  const removed = new Set<string>();
  const out: onnx.INodeProto[] = [];
  let rewritten = 0;
  let tensors = 0;
  let elements = 0;
  const usedNames = new Set<string>([...nodes.flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]), ...inits.keys()]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; usedNames.has(name); i++) name = `${base}_${i}`;
    usedNames.add(name);
    return name;
  };

  if (mode === "dynamic") {
    const quantizedActs = new Map<string, { q: string; scale: string; zp: string }>();
    const quantizedWeights = new Map<string, { q: string; scale: string; zp: string }>();
    const transposed = new Map<string, string>();
    const permAttr: onnx.IAttributeProto = { name: "perm", type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 2, 1] };
    const quantizeAct = (x: string) => {
      let act = quantizedActs.get(x);
      if (!act) {
        act = { q: fresh(`${x}_quantized`), scale: fresh(`${x}_scale`), zp: fresh(`${x}_zero_point`) };
        out.push(node("DynamicQuantizeLinear", [x], [act.q, act.scale, act.zp], fresh(`${x}_QuantizeLinear`)));
        quantizedActs.set(x, act);
      }
      return act;
    };
    for (const n of nodes) {
      const wName = n.input?.[1];
      if (n.opType === "Conv" && wName && convQuantizable(n, inits.get(wName))) {
        // pointwise Conv on [B,C,T] = MatMul on [B,T,C]: Transpose → the MatMul pattern below
        // (onnxruntime fuses it into DynamicQuantizeMatMul, faster than ConvInteger) → + bias → Transpose back
        const w = inits.get(wName)!;
        const [Cout, Cin] = (w.dims ?? []).map(Number) as [number, number];
        const x = n.input![0]!;
        let xt = transposed.get(x);
        if (!xt) {
          xt = fresh(`${x}_channels_last`);
          out.push(node("Transpose", [x], [xt], fresh(`${x}_Transpose`), [permAttr]));
          transposed.set(x, xt);
        }
        const act = quantizeAct(xt);
        const wf = floatData(w);
        const wt = new Float32Array(Cin * Cout);
        for (let o = 0; o < Cout; o++) for (let i = 0; i < Cin; i++) wt[i * Cout + o] = wf[o * Cin + i]!;
        const { q, scale, zeroPoint } = quantizeColumns(wt, Cin, Cout, scheme);
        const wq = { q: fresh(`${wName}_quantized`), scale: fresh(`${wName}_scale`), zp: fresh(`${wName}_zero_point`) };
        newInits.push(int8Tensor(wq.q, [Cin, Cout], q), f32Tensor(wq.scale, [Cout], scale), int8Tensor(wq.zp, [Cout], zeroPoint));
        tensors++;
        elements += Cin * Cout;
        const y = n.output![0]!;
        const base = n.name || y;
        const mmOut = fresh(`${y}_MatMulInteger`);
        const castOut = fresh(`${y}_cast`);
        const scaleOut = fresh(`${y}_scale`);
        const scaled = fresh(`${y}_channels_last`);
        out.push(node("MatMulInteger", [act.q, wq.q, act.zp, wq.zp], [mmOut], fresh(`${base}_MatMulInteger`)));
        out.push(node("Cast", [mmOut], [castOut], fresh(`${base}_cast`), [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: DT.FLOAT }]));
        out.push(node("Mul", [act.scale, wq.scale], [scaleOut], fresh(`${base}_scales_mul`)));
        out.push(node("Mul", [castOut, scaleOut], [scaled], fresh(`${base}_output_scale_mul`)));
        let last = scaled;
        const bias = n.input?.[2];
        if (bias) {
          last = fresh(`${y}_biased`);
          out.push(node("Add", [scaled, bias], [last], fresh(`${base}_bias_add`)));
        }
        out.push(node("Transpose", [last], [y], fresh(`${base}_Transpose`), [permAttr]));
        rewritten++;
        const left = (uses.get(wName) ?? 0) - 1;
        uses.set(wName, left);
        if (left === 0) removed.add(wName);
        continue;
      }
      const w = n.opType === "MatMul" && wName ? inits.get(wName) : undefined;
      const dims = (w?.dims ?? []).map(Number);
      if (!w || w.dataType !== DT.FLOAT || dims.length !== 2 || numel(dims) < MIN_ELEMENTS || (n.domain && n.domain !== "")) {
        out.push(n);
        continue;
      }
      const [K, N] = dims as [number, number];
      const y = n.output![0]!;
      const act = quantizeAct(n.input![0]!);
      let wq = quantizedWeights.get(wName!);
      if (!wq) {
        const { q, scale, zeroPoint } = quantizeColumns(floatData(w), K, N, scheme);
        wq = { q: fresh(`${wName}_quantized`), scale: fresh(`${wName}_scale`), zp: fresh(`${wName}_zero_point`) };
        newInits.push(int8Tensor(wq.q, [K, N], q), f32Tensor(wq.scale, [N], scale), int8Tensor(wq.zp, [N], zeroPoint));
        quantizedWeights.set(wName!, wq);
        tensors++;
        elements += K * N;
      }
      const base = n.name || y;
      const mmOut = fresh(`${y}_MatMulInteger`);
      const castOut = fresh(`${y}_cast`);
      const scaleOut = fresh(`${y}_scale`);
      out.push(node("MatMulInteger", [act.q, wq.q, act.zp, wq.zp], [mmOut], fresh(`${base}_MatMulInteger`)));
      out.push(node("Cast", [mmOut], [castOut], fresh(`${base}_cast`), [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: DT.FLOAT }]));
      out.push(node("Mul", [act.scale, wq.scale], [scaleOut], fresh(`${base}_scales_mul`)));
      out.push(node("Mul", [castOut, scaleOut], [y], fresh(`${base}_output_scale_mul`)));
      rewritten++;
      const left = (uses.get(wName!) ?? 0) - 1;
      uses.set(wName!, left);
      if (left === 0) removed.add(wName!);
    }
  } else {
    const done = new Map<string, string>();
    for (const n of nodes) {
      if (!(n.opType === "MatMul" || n.opType === "Conv" || n.opType === "Gemm") || (n.domain && n.domain !== "")) {
        out.push(n);
        continue;
      }
      const inputs = [...(n.input ?? [])];
      let changed = false;
      for (let i = 1; i < inputs.length; i++) {
        const name = inputs[i]!;
        const w = inits.get(name);
        const dims = (w?.dims ?? []).map(Number);
        if (!w || w.dataType !== DT.FLOAT || dims.length === 0 || numel(dims) < MIN_ELEMENTS) continue;
        let deq = done.get(name);
        if (!deq) {
          const C = dims[0]!;
          const { q, scale } = quantizeRows(floatData(w), C, numel(dims) / C);
          const qName = fresh(`${name}_quantized`);
          const sName = fresh(`${name}_scale`);
          const zName = fresh(`${name}_zero_point`);
          deq = fresh(`${name}_dequantized`);
          newInits.push(int8Tensor(qName, dims, q), f32Tensor(sName, [C], scale), int8Tensor(zName, [C], new Int8Array(C)));
          out.push(node("DequantizeLinear", [qName, sName, zName], [deq], fresh(`${name}_DequantizeLinear`), [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 0 }]));
          done.set(name, deq);
          tensors++;
          elements += numel(dims);
        }
        inputs[i] = deq;
        changed = true;
        const left = (uses.get(name) ?? 0) - 1;
        uses.set(name, left);
        if (left === 0) removed.add(name);
      }
      out.push(changed ? { ...n, input: inputs } : n);
      if (changed) rewritten++;
    }
  }

  const keptInits = (graph.initializer ?? []).filter((t) => !removed.has(t.name ?? ""));
  const fp32Elements = keptInits.filter((t) => t.dataType === DT.FLOAT).reduce((a, t) => a + numel(t.dims ?? []), 0);
  const inputs = (graph.input ?? []).filter((i) => !removed.has(i.name ?? ""));
  return {
    model: {
      ...model,
      producerName: PRODUCER,
      // the scheme is recorded so a file written under an older scheme is found and rewritten (file.ts)
      metadataProps: [...(model.metadataProps ?? []).filter((e) => e.key !== SCHEME_KEY), { key: SCHEME_KEY, value: mode === "dynamic" ? scheme : "weight-only" }],
      graph: { ...graph, node: out, initializer: [...keptInits, ...newInits], input: inputs },
    },
    stats: { nodes: rewritten, tensors, elements, fp32Elements },
  };
}
