/**
 * Makes an int8 graph made elsewhere (the published `*.int8.onnx`, or one of ours from before the s7
 * scheme) exact on CPUs whose u8×s8 kernel saturates, without its fp32 source: every s8 weight of an
 * integer GEMM whose range exceeds ±64 is halved (q' = round((q − zp)/2), zero point 0) and the
 * node's result doubled: twice the weight scale in the usual MatMulInteger → Cast → Mul(a_scale·b_scale)
 * pattern (so onnxruntime still fuses it into DynamicQuantizeMatMul) and for DynamicQuantizeMatMul /
 * MatMulIntegerToFloat, else an int32 `Mul` by 2 after the MatMulInteger/ConvInteger. The weights lose one bit, as the s7 scheme
 * does; nothing else changes. Pure: ModelProto in, ModelProto out.
 */
import { onnx } from "onnx-proto";
import { channelIndexer, INTEGER_GEMM, PRODUCER, SATURATION_SAFE_S8, SCHEME_KEY, tensorValues } from "./inspect.ts";
import { floatData, QuantizeError } from "./rewrite.ts";

const DT = onnx.TensorProto.DataType;

export interface RescaleStats {
  /** integer-GEMM nodes whose weights were halved */
  readonly nodes: number;
  /** integer-GEMM nodes left as they were (already within ±64, u8 weights, or not a constant weight) */
  readonly kept: number;
}

/** The metadata value of a graph rescaled from someone else's int8 file. */
export const RESCALED_SCHEME = "s7-rescaled";

/** v/2 rounded half to even: an odd v's .5 goes up or down alike (Math.round would always go up: a bias). */
export function halfToEven(v: number): number {
  const h = v / 2;
  const f = Math.floor(h);
  if (h - f !== 0.5) return Math.round(h);
  return f % 2 === 0 ? f : f + 1;
}

export function rescaleInt8Model(model: onnx.IModelProto): { model: onnx.IModelProto; stats: RescaleStats } {
  const graph = model.graph;
  if (!graph) throw new QuantizeError("model has no graph");
  const inits = new Map<string, onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) if (t.name) inits.set(t.name, t);
  const used = new Set<string>([...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]), ...inits.keys()]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  // consumers of each value, to find a weight scale downstream of an integer MatMul
  const consumers = new Map<string, onnx.INodeProto[]>();
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) {
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    for (const o of n.output ?? []) producer.set(o, n);
  }
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ""));
  const only = (v: string): onnx.INodeProto | undefined => {
    const c = consumers.get(v) ?? [];
    return c.length === 1 && !graphOutputs.has(v) ? c[0] : undefined;
  };
  /** y → Cast(float) → Mul(·, S) with S = Mul(a_scale, b_scale) read only there, b_scale a float initializer */
  const weightScaleOf = (y: string): { node: onnx.INodeProto; index: number; tensor: onnx.ITensorProto } | undefined => {
    const cast = only(y);
    if (cast?.opType !== "Cast") return undefined;
    const mul = only(cast.output?.[0] ?? "");
    if (mul?.opType !== "Mul") return undefined;
    const other = (mul.input ?? []).find((i) => i !== cast.output?.[0]);
    const sm = other ? producer.get(other) : undefined;
    if (sm?.opType !== "Mul" || only(other!) !== mul) return undefined;
    for (let index = 0; index < (sm.input ?? []).length; index++) {
      const t = inits.get(sm.input![index]!);
      if (t && t.dataType === DT.FLOAT) return { node: sm, index, tensor: t };
    }
    return undefined;
  };
  /** scale-product Mul nodes whose weight-scale input is replaced by a doubled copy */
  const retarget = new Map<onnx.INodeProto, { index: number; name: string }>();
  const added: onnx.ITensorProto[] = [];
  const out: onnx.INodeProto[] = [];
  let nodes = 0;
  let kept = 0;
  let two: string | undefined;
  for (const n of graph.node ?? []) {
    const zpIndex = INTEGER_GEMM[n.opType ?? ""];
    if (zpIndex === undefined) {
      out.push(n);
      continue;
    }
    const w = inits.get(n.input?.[1] ?? "");
    const q = w ? tensorValues(w) : null;
    if (!w || !(q instanceof Int8Array)) {
      kept++;
      out.push(n);
      continue;
    }
    const dims = (w.dims ?? []).map(Number);
    const zpName = n.input?.[zpIndex];
    const zpT = zpName ? inits.get(zpName) : undefined;
    const zp = zpT ? tensorValues(zpT) : null;
    const zpAt = channelIndexer(zp, dims, n.opType === "ConvInteger");
    let max = 0;
    for (let i = 0; i < q.length; i++) max = Math.max(max, Math.abs(q[i]! - zpAt(i)));
    if (max <= SATURATION_SAFE_S8) {
      kept++;
      out.push(n);
      continue;
    }
    // halve into a new initializer (the old one may be shared with a node that stays)
    const half = new Int8Array(q.length);
    for (let i = 0; i < q.length; i++) half[i] = halfToEven(q[i]! - zpAt(i));
    const wName = fresh(`${w.name}_s7`);
    added.push({ name: wName, dims: [...dims], dataType: DT.INT8, rawData: new Uint8Array(half.buffer) });
    const inputs = [...(n.input ?? [])];
    inputs[1] = wName;
    // zero point 0 of the same shape (keeps the op's per-channel contract)
    if (zpName && zp) {
      const z = fresh(`${zpName}_s7`);
      added.push({ name: z, dims: (zpT!.dims ?? []).map(Number), dataType: DT.INT8, rawData: new Uint8Array(zp.length) });
      inputs[zpIndex] = z;
    }
    nodes++;
    if (n.opType === "MatMulInteger" || n.opType === "ConvInteger") {
      // the usual pattern (onnxruntime's quantize_dynamic, ours): MatMulInteger → Cast → Mul(·, a_scale·b_scale);
      // doubling b_scale there keeps the pattern onnxruntime fuses into DynamicQuantizeMatMul
      const scaled = n.opType === "MatMulInteger" ? weightScaleOf(n.output?.[0] ?? "") : undefined;
      if (scaled) {
        const s2 = floatData(scaled.tensor).map((v) => v * 2);
        const sName = fresh(`${scaled.tensor.name}_s7`);
        added.push({ name: sName, dims: (scaled.tensor.dims ?? []).map(Number), dataType: DT.FLOAT, rawData: new Uint8Array(s2.buffer) });
        retarget.set(scaled.node, { index: scaled.index, name: sName });
        out.push({ ...n, input: inputs });
        continue;
      }
      if (!two) {
        two = fresh("gigastt_int32_two");
        added.push({ name: two, dims: [], dataType: DT.INT32, int32Data: [2] });
      }
      const y = n.output![0]!;
      const halfOut = fresh(`${y}_half`);
      out.push({ ...n, input: inputs, output: [halfOut, ...(n.output ?? []).slice(1)] });
      out.push({ opType: "Mul", input: [halfOut, two], output: [y], name: fresh(`${n.name || y}_times_two`), domain: "" });
      continue;
    }
    // DynamicQuantizeMatMul (A, B, b_scale, …) / MatMulIntegerToFloat (A, B, a_scale, b_scale, …): double b_scale
    const scaleIndex = n.opType === "DynamicQuantizeMatMul" ? 2 : 3;
    const sT = inits.get(inputs[scaleIndex] ?? "");
    if (!sT || sT.dataType !== DT.FLOAT) throw new QuantizeError(`node ${n.name}: weight scale ${inputs[scaleIndex]} is not a float initializer`);
    const s = floatData(sT).map((v) => v * 2);
    const sName = fresh(`${sT.name}_s7`);
    added.push({ name: sName, dims: (sT.dims ?? []).map(Number), dataType: DT.FLOAT, rawData: new Uint8Array(s.buffer) });
    inputs[scaleIndex] = sName;
    out.push({ ...n, input: inputs });
  }
  for (let i = 0; i < out.length; i++) {
    const r = retarget.get(out[i]!);
    if (!r) continue;
    const inputs = [...(out[i]!.input ?? [])];
    inputs[r.index] = r.name;
    out[i] = { ...out[i]!, input: inputs };
  }
  // initializers no node reads any more are dropped
  const reads = new Set(out.flatMap((n) => n.input ?? []));
  for (const o of graph.output ?? []) reads.add(o.name ?? "");
  const dropped = new Set((graph.initializer ?? []).filter((t) => !reads.has(t.name ?? "")).map((t) => t.name ?? ""));
  const initializer = [...(graph.initializer ?? []).filter((t) => !dropped.has(t.name ?? "")), ...added];
  const input = (graph.input ?? []).filter((i) => !dropped.has(i.name ?? ""));
  return {
    model: {
      ...model,
      producerName: PRODUCER,
      metadataProps: [
        ...(model.metadataProps ?? []).filter((e) => e.key !== SCHEME_KEY && e.key !== "gigastt.rescaled_from"),
        { key: SCHEME_KEY, value: RESCALED_SCHEME },
        { key: "gigastt.rescaled_from", value: model.producerName || "unknown" },
      ],
      graph: { ...graph, node: out, initializer, input },
    },
    stats: { nodes, kept },
  };
}
