import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GigasttError } from "../errors.ts";
import { MODEL_FILE_NAMES, resolveModelDir, selectModelFiles } from "./files.ts";

function dirWith(names: string[]): string {
  const d = mkdtempSync(join(tmpdir(), "gigastt-files-"));
  for (const n of names) writeFileSync(join(d, n), "x");
  return d;
}
const FP32 = Object.values(MODEL_FILE_NAMES);

describe("resolveModelDir", () => {
  test("flag wins over GIGASTT_MODEL_DIR, which wins over HOME", () => {
    const env = { GIGASTT_MODEL_DIR: "/env/models", HOME: "/home/u" };
    expect(resolveModelDir("/flag/models", env)).toBe("/flag/models");
    expect(resolveModelDir(undefined, env)).toBe("/env/models");
    expect(resolveModelDir(undefined, { HOME: "/home/u" })).toBe("/home/u/.gigastt/models");
  });
  test("USERPROFILE when HOME is unset; cwd-relative without any home", () => {
    expect(resolveModelDir(undefined, { USERPROFILE: "/users/u" })).toBe("/users/u/.gigastt/models");
    expect(resolveModelDir(undefined, {}, "/work")).toBe("/work/.gigastt/models");
  });
  test("relative paths resolve against cwd; ~ expands to the home from env", () => {
    expect(resolveModelDir("models", {}, "/srv")).toBe("/srv/models");
    expect(resolveModelDir("~/m", { HOME: "/home/u" })).toBe("/home/u/m");
    expect(resolveModelDir(undefined, { GIGASTT_MODEL_DIR: "~/env", HOME: "/h" })).toBe("/h/env");
  });
});

describe("selectModelFiles", () => {
  test("fp32 picks the four published files", () => {
    const d = dirWith([...FP32, "v3_e2e_rnnt_encoder.int8.onnx"]);
    const f = selectModelFiles(d, "fp32");
    expect(f.precision).toBe("fp32");
    expect(f.encoder).toBe(join(d, "v3_e2e_rnnt_encoder.onnx"));
    expect(f.vocab).toBe(join(d, "v3_e2e_rnnt_vocab.txt"));
  });
  test("int8 prefers X.int8.onnx per graph, then the Rust server's encoder_int8, else fp32", () => {
    const all = dirWith([...FP32, "v3_e2e_rnnt_encoder.int8.onnx", "v3_e2e_rnnt_encoder_int8.onnx", "v3_e2e_rnnt_joint.int8.onnx"]);
    const f = selectModelFiles(all, "int8");
    expect(f.precision).toBe("int8");
    expect(f.encoder).toBe(join(all, "v3_e2e_rnnt_encoder.int8.onnx"));
    expect(f.decoder).toBe(join(all, "v3_e2e_rnnt_decoder.onnx"));
    expect(f.joint).toBe(join(all, "v3_e2e_rnnt_joint.int8.onnx"));
    const rust = dirWith([...FP32, "v3_e2e_rnnt_encoder_int8.onnx"]);
    expect(selectModelFiles(rust, "int8").encoder).toBe(join(rust, "v3_e2e_rnnt_encoder_int8.onnx"));
    const none = dirWith(FP32);
    expect(selectModelFiles(none, "int8").precision).toBe("fp32");
  });
  test("int8 graphs alone are enough (no fp32 encoder needed)", () => {
    const d = dirWith(["v3_e2e_rnnt_encoder.int8.onnx", "v3_e2e_rnnt_decoder.int8.onnx", "v3_e2e_rnnt_joint.int8.onnx", "v3_e2e_rnnt_vocab.txt"]);
    expect(selectModelFiles(d, "int8").precision).toBe("int8");
    expect(() => selectModelFiles(d, "fp32")).toThrow(GigasttError);
  });
  test("missing files → model_missing naming each file and the directory (exit 4)", () => {
    const d = dirWith(["v3_e2e_rnnt_encoder.onnx", "v3_e2e_rnnt_vocab.txt"]);
    let err: unknown;
    try {
      selectModelFiles(d, "fp32");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GigasttError);
    const g = err as GigasttError;
    expect(g.code).toBe("model_missing");
    expect(g.exitCode).toBe(4);
    expect(g.message).toContain("v3_e2e_rnnt_decoder.onnx");
    expect(g.message).toContain("v3_e2e_rnnt_joint.onnx");
    expect(g.message).not.toContain("v3_e2e_rnnt_encoder.onnx");
    expect(g.message).toContain(d);
    expect(g.details.missing).toEqual(["v3_e2e_rnnt_decoder.onnx", "v3_e2e_rnnt_joint.onnx"]);
  });
  test("a directory that does not exist says so", () => {
    expect(() => selectModelFiles("/nonexistent/gigastt-models", "fp32")).toThrow(/does not exist/);
  });
});
