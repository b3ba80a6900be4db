import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { DT, encodeModel, floatTensor, node, valueInfo } from "../scripts/lib/onnx-writer.ts";
import { runQuantize } from "../src/cli/quantize.ts";
import { runCli } from "../src/cli/run.ts";
import { GigasttError } from "../src/errors.ts";
import { main } from "../src/main.ts";
import { floatData, INT8_ENCODER, quantizeEncoderFile, quantizeModel } from "../src/quantize/index.ts";
import { createSession, tensorF32 } from "../src/runtime/ort.ts";

const tmp = mkdtempSync(join(tmpdir(), "gigastt-quantize-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** xorshift uniform(−a, a) */
function rand(n: number, a: number, seed: number): Float32Array {
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

const IN = 96;
const HID = 128;
const OUT = 64;

/**
 * x [B,T,96] ─ MatMul W1 [96,128] + b1 ─ ReLU ─ MatMul W2 [128,64] ─ y
 *            └ MatMul W3 [96,64] ─ z            (x feeds two MatMuls)
 * plus a pointwise Conv [64,32,1] + bias (ConvInteger in dynamic mode), a depthwise Conv and a k=3 Conv
 * (fp32 in dynamic mode); weight-only mode puts a DequantizeLinear before every large enough weight.
 */
function smallModel(): Uint8Array {
  const w1 = rand(IN * HID, Math.sqrt(3 / IN), 1);
  // one column much larger than the others: per-channel scales must differ
  for (let k = 0; k < IN; k++) w1[k * HID + 5] = w1[k * HID + 5]! * 8;
  return encodeModel({
    name: "small",
    inputs: [valueInfo("x", DT.FLOAT, ["B", "T", IN]), valueInfo("c", DT.FLOAT, ["B", 32, "L"]), valueInfo("c2", DT.FLOAT, ["B", 32, "L"])],
    outputs: [
      valueInfo("y", DT.FLOAT, ["B", "T", OUT]),
      valueInfo("z", DT.FLOAT, ["B", "T", OUT]),
      valueInfo("cy", DT.FLOAT, ["B", 64, "L"]),
      valueInfo("dy", DT.FLOAT, ["B", 32, "L"]),
      valueInfo("ky", DT.FLOAT, ["B", 32, "L"]),
    ],
    initializers: [
      floatTensor("W1", [IN, HID], w1),
      floatTensor("b1", [HID], rand(HID, 0.1, 2)),
      floatTensor("W2", [HID, OUT], rand(HID * OUT, Math.sqrt(3 / HID), 3)),
      floatTensor("W3", [IN, OUT], rand(IN * OUT, Math.sqrt(3 / IN), 4)),
      floatTensor("CW", [64, 32, 1], rand(64 * 32, 0.3, 5)),
      floatTensor("cb", [64], rand(64, 0.5, 6)),
      floatTensor("DW", [32, 1, 5], rand(32 * 5, 0.3, 7)),
      floatTensor("KW", [32, 32, 3], rand(32 * 32 * 3, 0.2, 8)),
    ],
    nodes: [
      node("MatMul", ["x", "W1"], ["h0"]),
      node("Add", ["h0", "b1"], ["h1"]),
      node("Relu", ["h1"], ["h"]),
      node("MatMul", ["h", "W2"], ["y"]),
      node("MatMul", ["x", "W3"], ["z"]),
      node("Conv", ["c", "CW", "cb"], ["cy"], { kernel_shape: [1] }),
      // depthwise and k=3 convs: fp32 in dynamic mode
      node("Conv", ["c2", "DW"], ["dy"], { kernel_shape: [5], pads: [2, 2], group: 32 }),
      node("Conv", ["c2", "KW"], ["ky"], { kernel_shape: [3], pads: [1, 1] }),
    ],
  });
}

const decode = (b: Uint8Array) => onnx.ModelProto.decode(b);
const opTypes = (m: onnx.IModelProto) => (m.graph!.node ?? []).map((n) => n.opType);
const init = (m: onnx.IModelProto, name: string) => m.graph!.initializer!.find((t) => t.name === name);
const count = (xs: (string | null | undefined)[], x: string) => xs.filter((v) => v === x).length;

async function runBoth(a: Uint8Array, b: Uint8Array): Promise<{ maxDiff: Record<string, number>; maxRef: Record<string, number> }> {
  const T = 50;
  const L = 40;
  const feeds = () => ({
    x: tensorF32(rand(T * IN, 1, 11), [1, T, IN]),
    c: tensorF32(rand(32 * L, 1, 12), [1, 32, L]),
    c2: tensorF32(rand(32 * L, 1, 13), [1, 32, L]),
  });
  const sa = await createSession(a);
  const sb = await createSession(b);
  const ra = await sa.run(feeds());
  const rb = await sb.run(feeds());
  const maxDiff: Record<string, number> = {};
  const maxRef: Record<string, number> = {};
  for (const k of ["y", "z", "cy", "dy", "ky"]) {
    const da = ra[k]!.data as Float32Array;
    const db = rb[k]!.data as Float32Array;
    expect(db.length).toBe(da.length);
    let m = 0;
    let r = 0;
    for (let i = 0; i < da.length; i++) {
      m = Math.max(m, Math.abs(da[i]! - db[i]!));
      r = Math.max(r, Math.abs(da[i]!));
    }
    maxDiff[k] = m;
    maxRef[k] = r;
  }
  await sa.release();
  await sb.release();
  return { maxDiff, maxRef };
}

describe("dynamic int8 rewrite", () => {
  const src = smallModel();
  const { model, stats } = quantizeModel(decode(src), "dynamic");
  const q = decode(onnx.ModelProto.encode(model).finish());

  test("records its producer and scheme in the file's metadata", () => {
    expect(q.producerName).toBe("gigastt-quantize");
    expect(q.metadataProps?.map((e) => [e.key, e.value])).toContainEqual(["gigastt.int8_scheme", "s7"]);
  });

  test("replaces every MatMul with a constant weight by DynamicQuantizeLinear + MatMulInteger + scales", () => {
    const ops = opTypes(q);
    expect(count(ops, "MatMul")).toBe(0);
    expect(count(ops, "MatMulInteger")).toBe(4);
    // x feeds two MatMuls: quantized once; c (transposed) one more
    expect(count(ops, "DynamicQuantizeLinear")).toBe(3);
    // x feeds two MatMuls, c one Conv
    expect(count(ops, "Cast")).toBe(4);
    expect(count(ops, "Conv")).toBe(2); // depthwise and k=3 stay fp32
    expect(count(ops, "ConvInteger")).toBe(0);
    expect(count(ops, "Transpose")).toBe(2);
    expect(stats).toMatchObject({ nodes: 4, tensors: 4, elements: IN * HID + HID * OUT + IN * OUT + 64 * 32 });
    // fp32 weights are gone, the MatMul bias (an Add input) stays
    expect(init(q, "W1")).toBeUndefined();
    expect(init(q, "CW")).toBeUndefined();
    expect(init(q, "b1")?.dataType).toBe(DT.FLOAT);
    // the Conv bias is added channels-last, before transposing back
    expect(init(q, "cb")?.dataType).toBe(DT.FLOAT);
    // MatMulInteger reads (x_q, W_q, x_zp, W_zp)
    const mm = q.graph!.node!.find((n) => n.opType === "MatMulInteger" && n.input![1] === "W2_quantized")!;
    const dq = q.graph!.node!.find((n) => n.opType === "DynamicQuantizeLinear" && n.output![0] === mm.input![0])!;
    expect(dq.input).toEqual(["h"]);
    expect(mm.input![2]).toBe(dq.output![2]!);
  });

  test("int8 weights keep the [K,N] shape with one scale and a zero point per output column, within ±63 (s7)", () => {
    const wq = init(q, "W1_quantized")!;
    expect(wq.dataType).toBe(DT.INT8);
    expect(wq.dims!.map(Number)).toEqual([IN, HID]);
    const scale = init(q, "W1_scale")!;
    expect(scale.dims!.map(Number)).toEqual([HID]);
    const zp = init(q, "W1_zero_point")!;
    expect(zp.dataType).toBe(DT.INT8);
    expect(zp.dims!.map(Number)).toEqual([HID]);
    expect([...zp.rawData!].every((v) => v === 0)).toBe(true);
    const w = floatData(init(decode(src), "W1")!);
    const s = floatData(scale);
    const qv = new Int8Array(wq.rawData!.buffer, wq.rawData!.byteOffset, wq.rawData!.length);
    for (let n = 0; n < HID; n++) {
      let m = 0;
      for (let k = 0; k < IN; k++) m = Math.max(m, Math.abs(w[k * HID + n]!));
      expect(s[n]).toBeCloseTo(m / 63, 6);
      for (let k = 0; k < IN; k++) {
        expect(Math.abs(qv[k * HID + n]!)).toBeLessThanOrEqual(63);
        expect(Math.abs(qv[k * HID + n]! * s[n]! - w[k * HID + n]!)).toBeLessThanOrEqual(s[n]! / 2 + 1e-7);
      }
    }
    // the scaled-up column has its own (8× larger) scale
    expect(s[5]! / s[4]!).toBeGreaterThan(3);
  });

  test("pointwise Conv → Transpose + MatMulInteger on Wᵀ (int8 [Cin,Cout], one scale per output channel) + bias + Transpose", () => {
    const wq = init(q, "CW_quantized")!;
    expect(wq.dataType).toBe(DT.INT8);
    expect(wq.dims!.map(Number)).toEqual([32, 64]);
    const scale = init(q, "CW_scale")!;
    expect(scale.dims!.map(Number)).toEqual([64]);
    const w = floatData(init(decode(src), "CW")!); // [64, 32, 1]
    const s = floatData(scale);
    const qv = new Int8Array(wq.rawData!.buffer, wq.rawData!.byteOffset, wq.rawData!.length);
    for (let o = 0; o < 64; o++) {
      let m = 0;
      for (let i = 0; i < 32; i++) m = Math.max(m, Math.abs(w[o * 32 + i]!));
      expect(s[o]).toBeCloseTo(m / 63, 6);
      for (let i = 0; i < 32; i++) expect(Math.abs(qv[i * 64 + o]! * s[o]! - w[o * 32 + i]!)).toBeLessThanOrEqual(s[o]! / 2 + 1e-7);
    }
    const last = q.graph!.node!.find((n) => n.output![0] === "cy")!;
    expect(last.opType).toBe("Transpose");
    const add = q.graph!.node!.find((n) => n.output![0] === last.input![0])!;
    expect(add.opType).toBe("Add");
    expect(add.input).toContain("cb");
  });

  test("agrees with the fp32 model through onnxruntime", async () => {
    const { maxDiff, maxRef } = await runBoth(src, onnx.ModelProto.encode(model).finish());
    expect(maxDiff.y!).toBeLessThan(0.03 * maxRef.y!);
    expect(maxDiff.z!).toBeLessThan(0.03 * maxRef.z!);
    expect(maxDiff.cy!).toBeLessThan(0.03 * maxRef.cy!);
    expect(maxDiff.dy!).toBe(0);
    expect(maxDiff.ky!).toBe(0);
  });
});

describe("weight-only int8 rewrite (the Rust server's scheme)", () => {
  const src = smallModel();
  const { model, stats } = quantizeModel(decode(src), "weight-only");
  const q = decode(onnx.ModelProto.encode(model).finish());

  test("puts DequantizeLinear (axis 0) in front of MatMul and Conv weights; compute stays fp32", () => {
    const ops = opTypes(q);
    expect(count(ops, "MatMul")).toBe(3);
    expect(count(ops, "Conv")).toBe(3);
    expect(count(ops, "DequantizeLinear")).toBe(5); // W1, W2, W3, CW, KW (DW: 160 elements, below the threshold)
    expect(count(ops, "MatMulInteger")).toBe(0);
    expect(count(ops, "DynamicQuantizeLinear")).toBe(0);
    expect(stats.tensors).toBe(5);
    const dql = q.graph!.node!.find((n) => n.opType === "DequantizeLinear" && n.input![0] === "CW_quantized")!;
    expect(Number(dql.attribute!.find((a) => a.name === "axis")!.i)).toBe(0);
    expect(init(q, "CW_scale")!.dims!.map(Number)).toEqual([64]);
    expect(init(q, "W1_scale")!.dims!.map(Number)).toEqual([IN]);
    expect(init(q, "b1")?.dataType).toBe(DT.FLOAT); // 128 elements: below the size threshold
  });

  test("agrees with the fp32 model through onnxruntime", async () => {
    const { maxDiff, maxRef } = await runBoth(src, onnx.ModelProto.encode(model).finish());
    for (const k of ["y", "z", "cy", "ky"]) expect(maxDiff[k]!).toBeLessThan(0.03 * maxRef[k]!);
    expect(maxDiff.dy!).toBe(0);
  });
});

describe("quantizeEncoderFile and `gigastt quantize`", () => {
  const dir = join(tmp, "model");
  test("writes the int8 file the loader picks, via .partial + rename, and skips an existing one", () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "v3_e2e_rnnt_encoder.onnx"), smallModel());
    const r = quantizeEncoderFile({ modelDir: dir });
    expect(r.out).toBe(join(dir, INT8_ENCODER.dynamic));
    expect(r.skipped).toBe(false);
    expect(existsSync(r.out)).toBe(true);
    expect(readdirSync(dir).some((f) => f.endsWith(".partial"))).toBe(false);
    expect(opTypes(decode(readFileSync(r.out)))).toContain("MatMulInteger");
    expect(quantizeEncoderFile({ modelDir: dir }).skipped).toBe(true);
    expect(quantizeEncoderFile({ modelDir: dir, force: true }).skipped).toBe(false);
    // a source newer than the int8 file (the fp32 model changed) makes it stale
    const earlier = new Date(Date.now() - 3_600_000);
    utimesSync(r.out, earlier, earlier);
    expect(quantizeEncoderFile({ modelDir: dir }).skipped).toBe(false);
    const wo = quantizeEncoderFile({ modelDir: dir, mode: "weight-only" });
    expect(wo.out).toBe(join(dir, INT8_ENCODER["weight-only"]));
  });

  test("typed errors: missing encoder → model_missing, garbage → model_invalid", () => {
    const empty = join(tmp, "empty");
    mkdirSync(empty, { recursive: true });
    const codeOf = (f: () => unknown) => {
      try {
        f();
        return "ok";
      } catch (e) {
        return e instanceof GigasttError ? e.code : String(e);
      }
    };
    expect(codeOf(() => quantizeEncoderFile({ modelDir: empty }))).toBe("model_missing");
    writeFileSync(join(empty, "v3_e2e_rnnt_encoder.onnx"), new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]));
    expect(codeOf(() => quantizeEncoderFile({ modelDir: empty }))).toBe("model_invalid");
  });

  test("CLI: registered in main, exit codes from the catalogue", async () => {
    const lines: string[] = [];
    const io = { stdout: (s: string) => lines.push(s), stderr: (s: string) => lines.push(s) };
    rmSync(join(dir, INT8_ENCODER.dynamic));
    expect(await runCli(main, ["quantize", "--model-dir", dir], io)).toBe(0);
    expect(existsSync(join(dir, INT8_ENCODER.dynamic))).toBe(true);
    expect(await runCli(main, ["quantize", "--model-dir", dir, "--bogus"], io)).toBe(2);
    expect(await runCli(main, ["quantize", "--model-dir", join(tmp, "nowhere")], io)).toBe(new GigasttError("model_missing").exitCode);
    const err: string[] = [];
    expect(runQuantize({ modelDir: dir }, { stderr: (s) => err.push(s) })).toBe(0);
    expect(err.join("")).toContain("already exists");
    expect(runQuantize({ modelDir: dir, force: true, weightOnly: true }, { stderr: (s) => err.push(s) })).toBe(0);
    expect(err.join("")).toContain("quantized (weight-only)");
  });
});
