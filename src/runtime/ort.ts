/**
 * The only module that imports onnxruntime-node.
 *
 * A thin wrapper: session creation with the project's fixed options
 * (prepacking off by default — a prepacked weight is a private copy per session,
 * while unpacked weights of a mapped model file (src/store/mapped.ts) stay the
 * page cache's, shared by every session; graph optimisation "all"; 1 inter-op
 * thread), tensor helpers, I/O metadata and the ORT version.
 * `session.run` blocks the calling thread, so only Workers call `run`.
 *
 * Keep this file free of project logic: the single-executable build swaps
 * how the native binding is loaded, and everything else goes through here.
 */
import * as ort from "onnxruntime-node";

export type Tensor = ort.Tensor;
export type TensorType = ort.Tensor.Type;

/** Name, element type and dims of one graph input/output (dims: number = static, string = symbolic). */
export interface ValueInfo {
  readonly name: string;
  /** element type ("float32", "int64", ...), or null when the value is not a tensor */
  readonly type: TensorType | null;
  /** null when the value is not a tensor */
  readonly dims: readonly (number | string)[] | null;
}

export interface SessionOptions {
  /** intra-op threads for this session (default 1: concurrency comes from Workers) */
  readonly intraOpThreads?: number;
  /**
   * let idle intra-op threads spin-wait for work (onnxruntime's default, true): lower latency on a
   * dedicated core, stolen CPU when other Workers need it
   */
  readonly allowSpinning?: boolean;
  /**
   * onnxruntime's own stderr logging: 0 verbose … 3 error, 4 fatal (default 4: failures
   * surface as exceptions instead, and stderr stays the structured log's)
   */
  readonly logSeverity?: 0 | 1 | 2 | 3 | 4;
  /**
   * let onnxruntime repack constant weights into its GEMM layout (default false): faster runs, but the
   * packed copy is private memory of this session, even when the model file is mapped
   */
  readonly prepack?: boolean;
}

export interface Session {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** onnxruntime-node version string, e.g. "1.30.0". */
export function ortVersion(): string {
  return (ort.env.versions as { node?: string; common: string }).node ?? ort.env.versions.common;
}

function toValueInfo(m: ort.InferenceSession.ValueMetadata): ValueInfo {
  if (!m.isTensor) return { name: m.name, type: null, dims: null };
  return { name: m.name, type: m.type as TensorType, dims: [...m.shape] };
}

/** The onnxruntime options every session is created with (prepacking off unless asked: docs/MODEL.md §8, ~0.6 GB less per encoder session). */
export function sessionOptions(opts: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: Math.max(1, Math.floor(opts.intraOpThreads ?? 1)),
    interOpNumThreads: 1,
    executionMode: "sequential",
    logSeverityLevel: opts.logSeverity ?? 4,
    extra: { session: { ...(opts.prepack ? {} : { disable_prepacking: "1" }), ...(opts.allowSpinning === false ? { "intra_op.allow_spinning": "0" } : {}) } },
  };
}

/** Loads a model from a path or bytes. Throws the runtime's error unchanged (callers name the file). */
export async function createSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  const options = sessionOptions(opts);
  const session =
    typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  const inputs = session.inputMetadata.map(toValueInfo);
  const outputs = session.outputMetadata.map(toValueInfo);
  return {
    inputs,
    outputs,
    run: (feeds, outputNames) => (outputNames ? session.run(feeds, [...outputNames]) : session.run(feeds)),
    release: () => session.release(),
  };
}

export function tensorF32(data: Float32Array, dims: readonly number[]): Tensor {
  return new ort.Tensor("float32", data, dims);
}

export function tensorI64(data: BigInt64Array, dims: readonly number[]): Tensor {
  return new ort.Tensor("int64", data, dims);
}

export function tensorU8(data: Uint8Array, dims: readonly number[]): Tensor {
  return new ort.Tensor("uint8", data, dims);
}

export function tensorI32(data: Int32Array, dims: readonly number[]): Tensor {
  return new ort.Tensor("int32", data, dims);
}
