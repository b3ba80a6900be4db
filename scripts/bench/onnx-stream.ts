/**
 * Writes an ONNX model whose initializers are too big to hold at once (the ~0.9 GB
 * stand-in encoder): the graph structure is encoded with onnx-proto, then every
 * initializer's TensorProto is appended by hand with its raw_data produced on demand,
 * one tensor at a time. Protobuf lets a repeated field appear anywhere in a message,
 * so the bytes parse exactly like a model encoded in one piece.
 *
 * Memory: the largest single tensor plus the graph structure.
 */
import { closeSync, openSync, renameSync, writeSync } from "node:fs";
import { onnx } from "onnx-proto";
import { OPSET } from "../lib/onnx-writer.ts";

/** An initializer whose bytes are produced when it is written. */
export interface LazyTensor {
  readonly name: string;
  readonly dims: readonly number[];
  /** onnx.TensorProto.DataType */
  readonly dataType: number;
  /** byte length of raw_data */
  readonly byteLength: number;
  /** little-endian raw_data; called once, while writing */
  bytes(): Uint8Array;
}

export interface StreamGraph {
  readonly name: string;
  readonly docString?: string;
  readonly nodes: readonly onnx.INodeProto[];
  readonly inputs: readonly onnx.IValueInfoProto[];
  readonly outputs: readonly onnx.IValueInfoProto[];
  readonly initializers: readonly LazyTensor[];
}

const TAG_MODEL_GRAPH = (7 << 3) | 2;
const TAG_GRAPH_INITIALIZER = (5 << 3) | 2;
const TAG_TENSOR_RAW_DATA = (9 << 3) | 2;

export function varint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`varint out of range: ${n}`);
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Float32Array → its little-endian bytes (a view, no copy). */
export function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/**
 * Streams the model to `path` (via `path.partial`, renamed at the end).
 * Returns the file size in bytes.
 */
export function writeStreamedModel(path: string, g: StreamGraph): number {
  const graphHead = onnx.GraphProto.encode({
    name: g.name,
    docString: g.docString ?? "",
    node: [...g.nodes],
    input: [...g.inputs],
    output: [...g.outputs],
  }).finish();
  const entries = g.initializers.map((t) => {
    const head = onnx.TensorProto.encode({ name: t.name, dims: [...t.dims], dataType: t.dataType }).finish();
    const rawTag = Uint8Array.of(TAG_TENSOR_RAW_DATA, ...varint(t.byteLength));
    const tensorLen = head.length + rawTag.length + t.byteLength;
    const prefix = Uint8Array.of(TAG_GRAPH_INITIALIZER, ...varint(tensorLen));
    return { t, head, rawTag, prefix, total: prefix.length + tensorLen };
  });
  const graphLen = graphHead.length + entries.reduce((a, e) => a + e.total, 0);
  const modelHead = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "gigastt-scripts",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: OPSET }],
    docString: g.docString ?? "",
  }).finish();
  const graphTag = Uint8Array.of(TAG_MODEL_GRAPH, ...varint(graphLen));

  const partial = `${path}.partial`;
  const fd = openSync(partial, "w");
  let size = 0;
  const put = (b: Uint8Array) => {
    writeAll(fd, b);
    size += b.length;
  };
  try {
    put(modelHead);
    put(graphTag);
    put(graphHead);
    for (const e of entries) {
      put(e.prefix);
      put(e.head);
      put(e.rawTag);
      const raw = e.t.bytes();
      if (raw.length !== e.t.byteLength) throw new Error(`tensor ${e.t.name}: ${raw.length} bytes, declared ${e.t.byteLength}`);
      put(raw);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
  return size;
}
