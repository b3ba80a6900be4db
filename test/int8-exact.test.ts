/**
 * int8 that is right on every CPU: the s7 scheme, the scheme recorded in the file, stale and foreign
 * int8 encoders found and made exact (src/quantize/{rewrite,inspect,rescale,safe,file}.ts).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { GigasttError } from "../src/errors.ts";
import { classifyInt8File, quantizeEncoderFile } from "../src/quantize/file.ts";
import { clipsWhereU8S8Saturates, int8WeightProfile, readModelHeader } from "../src/quantize/inspect.ts";
import { halfToEven, rescaleInt8Model } from "../src/quantize/rescale.ts";
import { quantizeModel } from "../src/quantize/rewrite.ts";
import { DERIVED_INT8_ENCODER, ensureExactInt8Encoder } from "../src/quantize/safe.ts";
import { cpuInt8Features } from "../src/runtime/cpu.ts";
import { createSession, tensorF32, tensorU8 } from "../src/runtime/ort.ts";
import { FFN_IN, ffnModel, foreignInt8, layerNormRows, legacyInt8, uniform } from "./helpers/int8-models.ts";

const tmp = mkdtempSync(join(tmpdir(), "gigastt-int8-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const fp32 = ffnModel();
const decode = (b: Uint8Array) => onnx.ModelProto.decode(b);
const encode = (m: onnx.IModelProto) => onnx.ModelProto.encode(m).finish();

const T = 64;
const x = layerNormRows(T, FFN_IN, 9);
async function run(model: Uint8Array | string): Promise<Float32Array> {
  const s = await createSession(model);
  const r = await s.run({ x: tensorF32(x, [1, T, FFN_IN]) });
  await s.release();
  return r.y!.data as Float32Array;
}
const ref = await run(fp32);
const refMax = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
/** max |Δ| relative to the fp32 output's max */
async function relErr(model: Uint8Array | string): Promise<number> {
  const y = await run(model);
  let m = 0;
  for (let i = 0; i < y.length; i++) m = Math.max(m, Math.abs(y[i]! - ref[i]!));
  return m / refMax;
}
const BOUND = 0.03;

describe("agreement with fp32 on a centred-input, uniform-weight FFN (where u8×s8 saturation shows)", () => {
  test("the default scheme (s7) agrees on this CPU", async () => {
    expect(await relErr(encode(quantizeModel(decode(fp32), "dynamic").model))).toBeLessThan(BOUND);
  });
  test("u8 weights agree too", async () => {
    expect(await relErr(encode(quantizeModel(decode(fp32), "dynamic", "u8").model))).toBeLessThan(BOUND);
  });
  test("full-range s8 agrees exactly where the CPU's u8×s8 kernel does not saturate, and clips where it does", async () => {
    const e = await relErr(encode(quantizeModel(decode(fp32), "dynamic", "s8").model));
    // the CPU feature detection (src/runtime/cpu.ts) must match what onnxruntime does here
    expect(e >= BOUND).toBe(cpuInt8Features().u8s8Saturates);
  });
  test("a full-range s8 file rescaled without its fp32 source agrees", async () => {
    const r = rescaleInt8Model(decode(foreignInt8(fp32, "s8")));
    expect(r.stats).toEqual({ nodes: 2, kept: 0 });
    expect(await relErr(encode(r.model))).toBeLessThan(BOUND);
    expect(int8WeightProfile(r.model).maxS8).toBeLessThanOrEqual(64);
  });
  test("halving rounds half to even (no bias from always rounding .5 up)", () => {
    expect([-5, -3, -1, 1, 3, 5, 127, -127, 4].map(halfToEven)).toEqual([-2, -2, 0, 0, 2, 2, 64, -64, 2]);
  });
});

describe("what a file is", () => {
  const write = (name: string, bytes: Uint8Array | string) => {
    const p = join(tmp, name);
    writeFileSync(p, bytes);
    return p;
  };
  test("readModelHeader reads producer and metadata without decoding the graph", () => {
    const p = write("ours.onnx", encode(quantizeModel(decode(fp32), "dynamic").model));
    expect(readModelHeader(p)).toEqual({ producerName: "gigastt-quantize", metadata: { "gigastt.int8_scheme": "s7" } });
    expect(() => readModelHeader(write("garbage.onnx", new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02])))).toThrow();
    expect(() => readModelHeader(write("cut.onnx", readFileSync(p).subarray(0, 1000)))).toThrow();
  });
  test("classifyInt8File: current, stale (older scheme), foreign, invalid", () => {
    expect(classifyInt8File(write("c.onnx", encode(quantizeModel(decode(fp32), "dynamic").model)))).toEqual({ kind: "current", scheme: "s7" });
    expect(classifyInt8File(write("l.onnx", legacyInt8(fp32)))).toEqual({ kind: "stale", scheme: null });
    expect(classifyInt8File(write("s8.onnx", encode(quantizeModel(decode(fp32), "dynamic", "s8").model)))).toEqual({ kind: "stale", scheme: "s8" });
    expect(classifyInt8File(write("f.onnx", foreignInt8(fp32, "s8", "onnx.quantize")))).toEqual({ kind: "foreign", producer: "onnx.quantize" });
    expect(classifyInt8File(write("g.onnx", "not onnx at all")).kind).toBe("invalid");
  });
  test("int8WeightProfile: full-range s8 clips where u8×s8 saturates; s7, u8 and weight-only do not", () => {
    const prof = (b: Uint8Array) => int8WeightProfile(decode(b));
    expect(prof(foreignInt8(fp32, "s8"))).toMatchObject({ integerNodes: 2, s8Nodes: 2, u8Nodes: 0, maxS8: 127 });
    expect(clipsWhereU8S8Saturates(prof(foreignInt8(fp32, "s8")))).toBe(true);
    expect(clipsWhereU8S8Saturates(prof(foreignInt8(fp32, "s7")))).toBe(false);
    expect(prof(foreignInt8(fp32, "u8"))).toMatchObject({ s8Nodes: 0, u8Nodes: 2 });
    expect(clipsWhereU8S8Saturates(prof(foreignInt8(fp32, "u8")))).toBe(false);
    const wo = int8WeightProfile(quantizeModel(decode(fp32), "weight-only").model);
    expect(wo).toMatchObject({ integerNodes: 0, dequantizeNodes: 2 });
    expect(clipsWhereU8S8Saturates(wo)).toBe(false);
  });
});

describe("ensureExactInt8Encoder", () => {
  function folder(opts: { fp32?: boolean; int8?: Uint8Array | string } = {}) {
    const dir = join(tmp, `d${dirs++}`);
    mkdirSync(dir);
    const enc = join(dir, "v3_e2e_rnnt_encoder.onnx");
    const int8 = join(dir, "v3_e2e_rnnt_encoder.int8.onnx");
    if (opts.fp32 !== false) writeFileSync(enc, fp32);
    if (opts.int8 !== undefined) writeFileSync(int8, opts.int8);
    return { dir, enc, int8, derived: join(dir, DERIVED_INT8_ENCODER) };
  }

  test("missing: created from fp32 (s7); without fp32 or with create=false: none", () => {
    const f = folder();
    const r = ensureExactInt8Encoder({ path: f.int8, fp32Source: f.enc, saturates: true, create: true });
    expect(r).toMatchObject({ path: f.int8, action: "created" });
    expect(classifyInt8File(f.int8)).toEqual({ kind: "current", scheme: "s7" });
    const g = folder();
    expect(ensureExactInt8Encoder({ path: g.int8, fp32Source: g.enc, saturates: true, create: false })).toMatchObject({ path: null, action: "none" });
    const h = folder({ fp32: false });
    expect(ensureExactInt8Encoder({ path: h.int8, saturates: true, create: true })).toMatchObject({ path: null, action: "none" });
  });

  test("a stale file (older scheme) is rewritten once, with one note, then used as is", async () => {
    const f = folder({ int8: legacyInt8(fp32) });
    const r = ensureExactInt8Encoder({ path: f.int8, fp32Source: f.enc, saturates: true, create: true });
    expect(r.action).toBe("rewritten");
    expect(r.note).toContain("older int8 scheme");
    expect(classifyInt8File(f.int8).kind).toBe("current");
    const mtime = statSync(f.int8).mtimeMs;
    const again = ensureExactInt8Encoder({ path: f.int8, fp32Source: f.enc, saturates: true, create: true });
    expect(again).toMatchObject({ path: f.int8, action: "used" });
    expect(again.note).toBeUndefined();
    expect(statSync(f.int8).mtimeMs).toBe(mtime);
    expect(await relErr(f.int8)).toBeLessThan(BOUND);
  });

  test("a stale file without its fp32 source is rescaled in place; with create=false it is used only where it is exact", async () => {
    const f = folder({ fp32: false, int8: legacyInt8(fp32) });
    expect(ensureExactInt8Encoder({ path: f.int8, saturates: false, create: false })).toMatchObject({ path: f.int8, action: "used" });
    const no = ensureExactInt8Encoder({ path: f.int8, saturates: true, create: false });
    expect(no.path).toBeNull();
    expect(no.note).toContain("--skip-quantize");
    expect(ensureExactInt8Encoder({ path: f.int8, saturates: true, create: true }).action).toBe("rewritten");
    expect(classifyInt8File(f.int8)).toEqual({ kind: "current", scheme: "s7-rescaled" });
    expect(await relErr(f.int8)).toBeLessThan(BOUND);
  });

  test("a published full-range file on a saturating CPU: an exact derived copy, the original untouched; elsewhere used as published", async () => {
    const published = foreignInt8(fp32, "s8");
    const f = folder({ int8: published });
    expect(ensureExactInt8Encoder({ path: f.int8, fp32Source: f.enc, saturates: false, create: true })).toMatchObject({ path: f.int8, action: "used" });
    const r = ensureExactInt8Encoder({ path: f.int8, fp32Source: f.enc, saturates: true, create: true });
    expect(r).toMatchObject({ path: f.derived, action: "derived" });
    expect(r.note).toContain("±127");
    expect(Buffer.from(readFileSync(f.int8)).equals(Buffer.from(published))).toBe(true);
    expect(classifyInt8File(f.derived)).toEqual({ kind: "current", scheme: "s7" });
    const mtime = statSync(f.derived).mtimeMs;
    expect(ensureExactInt8Encoder({ path: f.int8, fp32Source: f.enc, saturates: true, create: true })).toMatchObject({ path: f.derived, action: "derived" });
    expect(statSync(f.derived).mtimeMs).toBe(mtime);
    // the lean int8-only set: no fp32 to quantize from, so the published weights are rescaled
    const lean = folder({ fp32: false, int8: published });
    expect(ensureExactInt8Encoder({ path: lean.int8, saturates: true, create: true })).toMatchObject({ path: lean.derived, action: "derived" });
    expect(classifyInt8File(lean.derived)).toEqual({ kind: "current", scheme: "s7-rescaled" });
    expect(await relErr(lean.derived)).toBeLessThan(BOUND);
    // --skip-quantize: nothing written, no exact file
    const skip = folder({ fp32: false, int8: published });
    expect(ensureExactInt8Encoder({ path: skip.int8, saturates: true, create: false }).path).toBeNull();
  });

  test("published files that cannot clip (u8 weights, s8 within ±64) are used as they are", () => {
    for (const scheme of ["u8", "s7"] as const) {
      const f = folder({ int8: foreignInt8(fp32, scheme) });
      expect(ensureExactInt8Encoder({ path: f.int8, fp32Source: f.enc, saturates: true, create: true })).toMatchObject({ path: f.int8, action: "used" });
    }
  });

  test("garbage under the int8 name → model_invalid naming it", () => {
    const f = folder({ int8: "garbage" });
    let err: unknown;
    try {
      ensureExactInt8Encoder({ path: f.int8, fp32Source: f.enc, saturates: true, create: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GigasttError);
    expect((err as GigasttError).code).toBe("model_invalid");
    expect((err as GigasttError).message).toContain("v3_e2e_rnnt_encoder.int8.onnx");
  });
});

describe("quantizeEncoderFile and existing outputs", () => {
  test("a stale output is rewritten (replaced says why); a foreign one is kept unless --force", () => {
    const dir = join(tmp, "q");
    mkdirSync(dir);
    writeFileSync(join(dir, "v3_e2e_rnnt_encoder.onnx"), fp32);
    const out = join(dir, "v3_e2e_rnnt_encoder.int8.onnx");
    writeFileSync(out, legacyInt8(fp32));
    const r = quantizeEncoderFile({ modelDir: dir });
    expect(r.skipped).toBe(false);
    expect(r.replaced).toContain("older int8 scheme");
    expect(quantizeEncoderFile({ modelDir: dir }).skipped).toBe(true);
    const published = foreignInt8(fp32, "s8");
    writeFileSync(out, published);
    const kept = quantizeEncoderFile({ modelDir: dir });
    expect(kept).toMatchObject({ skipped: true, foreign: "onnx.quantize" });
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(published))).toBe(true);
    expect(quantizeEncoderFile({ modelDir: dir, force: true }).skipped).toBe(false);
    expect(classifyInt8File(out).kind).toBe("current");
  });
});

describe("rescaling other int8 layouts", () => {
  const K = 128;
  const N = 64;
  const M = 16;
  // full-range s8 weights and u8 activations that saturate 16-bit pair sums without VNNI
  const wq = Int8Array.from(uniform(K * N, 127.49, 21), (v) => Math.round(v));
  const a = Uint8Array.from(uniform(M * K, 1, 22), (v) => Math.round((v + 1) * 127.5));
  const s8 = (name: string, dims: number[], v: Int8Array): onnx.ITensorProto => ({ name, dims, dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(v.buffer.slice(0)) });
  /** Σ a·w exactly, in JS */
  const exact = () => {
    const y = new Float64Array(M * N);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) y[m * N + n]! += a[m * K + k]! * wq[k * N + n]!;
    return y;
  };
  const relMax = (y: ArrayLike<number>, ref: Float64Array, scale = 1) => {
    let d = 0;
    let r = 0;
    for (let i = 0; i < ref.length; i++) {
      d = Math.max(d, Math.abs(Number(y[i]) - ref[i]! * scale));
      r = Math.max(r, Math.abs(ref[i]! * scale));
    }
    return d / r;
  };
  const model = (nodes: onnx.INodeProto[], inits: onnx.ITensorProto[], inputs: onnx.IValueInfoProto[], out: onnx.IValueInfoProto, domains: string[] = []): onnx.IModelProto => ({
    irVersion: 8,
    producerName: "elsewhere",
    opsetImport: [{ domain: "", version: 17 }, ...domains.map((d) => ({ domain: d, version: 1 }))],
    graph: { name: "g", node: nodes, initializer: inits, input: inputs, output: [out] },
  });
  const vi = (name: string, t: number, dims: (number | string)[]): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: t, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  });
  const DTs = onnx.TensorProto.DataType;

  test("a bare MatMulInteger (no scale downstream) gets an int32 ×2 and computes Σ a·w within one bit", async () => {
    const m = model(
      [{ opType: "MatMulInteger", input: ["a", "W"], output: ["y"], name: "mmi", domain: "" }],
      [s8("W", [K, N], wq)],
      [vi("a", DTs.UINT8, [M, K])],
      vi("y", DTs.INT32, [M, N]),
    );
    const r = rescaleInt8Model(m);
    expect(r.stats.nodes).toBe(1);
    expect((r.model.graph!.node ?? []).map((n) => n.opType)).toEqual(["MatMulInteger", "Mul"]);
    const sess = await createSession(encode(r.model));
    const y = (await sess.run({ a: tensorU8(a, [M, K]) })).y!.data as Int32Array;
    await sess.release();
    expect(relMax(y, exact())).toBeLessThan(0.01);
  });

  test("our own MatMulInteger → Cast → Mul(scales) pattern keeps its shape (the weight scale is doubled instead)", () => {
    const legacy = decode(legacyInt8(fp32));
    const ops = (m: onnx.IModelProto) => (m.graph!.node ?? []).map((n) => n.opType);
    expect(ops(rescaleInt8Model(legacy).model)).toEqual(ops(legacy));
  });

  test("DynamicQuantizeMatMul (com.microsoft): the weight scale is doubled", async () => {
    const scale = new Float32Array(N).fill(0.01);
    const m = model(
      [{ opType: "DynamicQuantizeMatMul", input: ["x", "W", "S"], output: ["y"], name: "dqmm", domain: "com.microsoft" }],
      [s8("W", [K, N], wq), { name: "S", dims: [N], dataType: DTs.FLOAT, rawData: new Uint8Array(scale.buffer) }],
      [vi("x", DTs.FLOAT, [M, K])],
      vi("y", DTs.FLOAT, [M, N]),
      ["com.microsoft"],
    );
    const r = rescaleInt8Model(m);
    expect(r.stats.nodes).toBe(1);
    const xs = Float32Array.from(a, (v) => v / 255 - 0.5);
    const sess = await createSession(encode(r.model));
    const y = (await sess.run({ x: tensorF32(xs, [M, K]) })).y!.data as Float32Array;
    await sess.release();
    const ref = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) ref[i * N + n]! += xs[i * K + k]! * wq[k * N + n]! * 0.01;
    expect(relMax(y, ref)).toBeLessThan(BOUND);
  });
});
