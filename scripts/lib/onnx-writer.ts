/**
 * Small helpers to write ONNX models with onnx-proto (build-time only, never
 * imported by the product). Tensors are stored as little-endian raw_data, so the
 * same inputs always encode to the same bytes.
 */
import { onnx } from "onnx-proto";

export const DT = onnx.TensorProto.DataType;
export type Dim = number | string;

/** Opset used by the generated graphs (ONNX 1.12 / IR 8). */
export const OPSET = 17;

function rawBytes(data: Float32Array | BigInt64Array | Int32Array): Uint8Array {
  // typed arrays are little-endian on every platform Bun runs on
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

export function floatTensor(name: string, dims: readonly number[], data: Float32Array | readonly number[]): onnx.ITensorProto {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  const n = dims.reduce((a, b) => a * b, 1);
  if (arr.length !== n) throw new Error(`tensor ${name}: ${arr.length} values for dims [${dims.join(",")}]`);
  return { name, dims: [...dims], dataType: DT.FLOAT, rawData: rawBytes(arr) };
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): onnx.ITensorProto {
  return { name, dims: [...dims], dataType: DT.INT64, rawData: rawBytes(BigInt64Array.from(data.map((v) => BigInt(v)))) };
}

type AttrValue = number | readonly number[] | string | { float: number } | { floats: readonly number[] };

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "number") return { name, type: T.INT, i: v };
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: [...(v as number[])] };
  if ("float" in (v as object)) return { name, type: T.FLOAT, f: (v as { float: number }).float };
  return { name, type: T.FLOATS, floats: [...(v as { floats: number[] }).floats] };
}

/** A node; integer attributes as numbers/arrays, float ones as `{ float }` / `{ floats }`. */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Record<string, AttrValue> = {},
  name?: string,
): onnx.INodeProto {
  return {
    opType,
    input: [...inputs],
    output: [...outputs],
    name: name ?? `${opType}_${outputs[0]}`,
    attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
  };
}

/** A graph input/output description; string dims are symbolic. */
export function valueInfo(name: string, elemType: number, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly onnx.INodeProto[];
  readonly inputs: readonly onnx.IValueInfoProto[];
  readonly outputs: readonly onnx.IValueInfoProto[];
  readonly initializers: readonly onnx.ITensorProto[];
  readonly docString?: string;
}

/** Encodes a complete model (IR 8, default-domain opset `OPSET`) to bytes. */
export function encodeModel(g: GraphSpec): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: "gigastt-scripts",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: OPSET }],
    docString: g.docString ?? "",
    graph: {
      name: g.name,
      node: [...g.nodes],
      input: [...g.inputs],
      output: [...g.outputs],
      initializer: [...g.initializers],
    },
  };
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`invalid ONNX model ${g.name}: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}
