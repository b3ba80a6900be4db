import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { buildToneModel } from "../../scripts/make-tone-model.ts";
import { createSession, ortVersion, sessionOptions, tensorF32, tensorI32, tensorI64 } from "./ort.ts";

const tone = buildToneModel(["▁да", "▁нет", "."]);

describe("runtime/ort", () => {
  test("reports the installed onnxruntime-node version", () => {
    const pkg = JSON.parse(readFileSync(Bun.resolveSync("onnxruntime-node/package.json", import.meta.dir), "utf8")) as { version: string };
    expect(ortVersion()).toBe(pkg.version);
  });

  test("sessions are created with prepacking disabled, CPU only, 1 inter-op thread", () => {
    const o = sessionOptions();
    expect(o.extra).toEqual({ session: { disable_prepacking: "1" } });
    // prepacking only when asked for (a private copy of every packed weight per session)
    expect(sessionOptions({ prepack: true }).extra).toEqual({ session: {} });
    expect(o).toMatchObject({ executionProviders: ["cpu"], interOpNumThreads: 1, intraOpNumThreads: 1, logSeverityLevel: 4 });
    expect(sessionOptions({ intraOpThreads: 3, logSeverity: 2 })).toMatchObject({ intraOpNumThreads: 3, logSeverityLevel: 2 });
  });

  test("sessions load from bytes and expose names, element types and dims (symbolic as strings)", async () => {
    const s = await createSession(tone.decoder);
    expect(s.inputs).toEqual([
      { name: "x", type: "int64", dims: ["B", 1] },
      { name: "h.1", type: "float32", dims: [1, "B", 320] },
      { name: "c.1", type: "float32", dims: [1, "B", 320] },
    ]);
    expect(s.outputs.map((o) => o.name)).toEqual(["dec", "h", "c"]);
    await s.release();
  });

  test("run takes typed tensors (int64 as BigInt64Array) and can fetch a subset of outputs", async () => {
    const s = await createSession(tone.encoder, { intraOpThreads: 2 });
    const T = 5;
    const out = await s.run(
      { audio_signal: tensorF32(new Float32Array(64 * T).fill(-3), [1, 64, T]), length: tensorI64(BigInt64Array.of(5n), [1]) },
      ["encoded_len"],
    );
    expect(Object.keys(out)).toEqual(["encoded_len"]);
    expect(out.encoded_len!.type).toBe("int32");
    expect(Array.from(out.encoded_len!.data as Int32Array)).toEqual([2]);
    await s.release();
  });

  test("typed-array views are read at their offset", async () => {
    const s = await createSession(tone.joint);
    const big = new Float32Array(3 * 768);
    big[768 + 7] = 9; // second frame, band of piece 1 (4 + 3·1)
    const out = await s.run({ enc: tensorF32(big.subarray(768, 1536), [1, 768, 1]), dec: tensorF32(new Float32Array(320), [1, 320, 1]) });
    const row = out.joint!.data as Float32Array;
    expect(row.indexOf(Math.max(...row))).toBe(1);
    await s.release();
  });

  test("tensor helpers check the element count", () => {
    expect(() => tensorF32(new Float32Array(3), [2, 2])).toThrow();
    expect(tensorI32(Int32Array.of(1, 2), [2]).dims).toEqual([2]);
  });

  test("bytes that are not ONNX are rejected", async () => {
    await expect(createSession(new TextEncoder().encode("not a model"))).rejects.toThrow();
  });
});
