import { describe, expect, test } from "bun:test";
import { GigasttError } from "../errors.ts";
import type { ValueInfo } from "../runtime/ort.ts";
import { type GraphIo, validateDecoder, validateEncoder, validateJoint } from "./validate.ts";

const t = (name: string, type: ValueInfo["type"], dims: (number | string)[]): ValueInfo => ({ name, type, dims });

const encoder: GraphIo = {
  inputs: [t("audio_signal", "float32", ["B", 64, "T"]), t("length", "int64", ["B"])],
  outputs: [t("encoded", "float32", ["B", 768, "T2"]), t("encoded_len", "int32", ["B"])],
};
const decoderHf: GraphIo = {
  inputs: [t("x", "int64", ["B", 1]), t("h.1", "float32", [1, "B", 320]), t("c.1", "float32", [1, "B", 320])],
  outputs: [t("dec", "float32", ["B", 1, 320]), t("h", "float32", [1, "B", 320]), t("c", "float32", [1, "B", 320])],
};
const joint: GraphIo = {
  inputs: [t("enc", "float32", ["B", 768, 1]), t("dec", "float32", ["B", 320, 1])],
  outputs: [t("joint", "float32", ["B", 1, 1, 1025])],
};

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(GigasttError);
    expect((e as GigasttError).code).toBe("model_invalid");
    return (e as GigasttError).message;
  }
  throw new Error("expected model_invalid");
}

describe("model I/O validation", () => {
  test("accepts the published contract", () => {
    validateEncoder("enc.onnx", encoder);
    expect(validateDecoder("dec.onnx", decoderHf)).toEqual({ x: "x", hIn: "h.1", cIn: "c.1", dec: "dec", hOut: "h", cOut: "c" });
    validateJoint("joint.onnx", joint, 1025);
  });

  test("symbolic dims are accepted where the contract has static ones (exporter labels are unreliable)", () => {
    validateEncoder("enc.onnx", { ...encoder, outputs: [t("encoded", "float32", ["B", "seq_len", "T"]), encoder.outputs[1]!] });
    validateJoint("joint.onnx", { ...joint, outputs: [t("joint", "float32", ["B", 1, 1, "V"])] }, 1025);
  });

  test("reads the current exporter's decoder state names (hi/ci → ho/co)", () => {
    const io: GraphIo = {
      inputs: [t("x", "int64", ["B", 1]), t("hi", "float32", [1, "B", 320]), t("ci", "float32", [1, "B", 320])],
      outputs: [t("dec", "float32", ["B", 1, 320]), t("ho", "float32", [1, "B", 320]), t("co", "float32", [1, "B", 320])],
    };
    expect(validateDecoder("dec.onnx", io)).toMatchObject({ hIn: "hi", cIn: "ci", hOut: "ho", cOut: "co" });
  });

  test("unknown state names bind by position", () => {
    const io: GraphIo = {
      inputs: [t("tok", "int64", ["B", 1]), t("s0", "float32", [1, "B", 320]), t("s1", "float32", [1, "B", 320])],
      outputs: [t("y", "float32", ["B", 1, 320]), t("s0o", "float32", [1, "B", 320]), t("s1o", "float32", [1, "B", 320])],
    };
    expect(validateDecoder("dec.onnx", io)).toEqual({ x: "tok", hIn: "s0", cIn: "s1", dec: "y", hOut: "s0o", cOut: "s1o" });
  });

  test("a wrong dtype names the file, the tensor and both types", () => {
    const bad = { ...encoder, outputs: [encoder.outputs[0]!, t("encoded_len", "int64", ["B"])] };
    const m = message(() => validateEncoder("v3_e2e_rnnt_encoder.onnx", bad));
    expect(m).toContain("v3_e2e_rnnt_encoder.onnx");
    expect(m).toContain("encoded_len");
    expect(m).toContain("int64");
    expect(m).toContain("int32");
  });

  test("wrong rank, wrong static dim and a missing input are rejected", () => {
    expect(message(() => validateEncoder("e", { ...encoder, inputs: [t("audio_signal", "float32", ["B", 64]), encoder.inputs[1]!] }))).toContain("rank");
    expect(message(() => validateEncoder("e", { ...encoder, inputs: [t("audio_signal", "float32", ["B", 80, "T"]), encoder.inputs[1]!] }))).toContain("80");
    expect(message(() => validateEncoder("e", { ...encoder, inputs: [encoder.inputs[0]!, t("len", "int64", ["B"])] }))).toContain("'length' not found");
    const dec512 = { ...decoderHf, inputs: [decoderHf.inputs[0]!, t("h.1", "float32", [1, "B", 512]), decoderHf.inputs[2]!] };
    expect(message(() => validateDecoder("d", dec512))).toContain("512");
  });

  test("the joint's class count must equal the vocabulary size", () => {
    const m = message(() => validateJoint("v3_e2e_rnnt_joint.onnx", joint, 20));
    expect(m).toContain("1025");
    expect(m).toContain("20");
  });
});
