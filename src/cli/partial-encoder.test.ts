import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GigasttError } from "../errors.ts";
import { MODEL_FILE_NAMES, type ModelFiles } from "../model/files.ts";
import type { QuantizeFileOptions, QuantizeFileResult } from "../quantize/file.ts";
import { preparePartialEncoder } from "./partial-encoder.ts";

const tmp = mkdtempSync(join(tmpdir(), "gigastt-partial-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function model(precision: "fp32" | "int8" = "fp32"): ModelFiles {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  for (const f of Object.values(MODEL_FILE_NAMES)) writeFileSync(join(dir, f), "x");
  const enc = precision === "int8" ? "v3_e2e_rnnt_encoder.int8.onnx" : MODEL_FILE_NAMES.encoder;
  if (precision === "int8") writeFileSync(join(dir, enc), "q");
  return {
    dir,
    precision,
    encoder: join(dir, enc),
    decoder: join(dir, MODEL_FILE_NAMES.decoder),
    joint: join(dir, MODEL_FILE_NAMES.joint),
    vocab: join(dir, MODEL_FILE_NAMES.vocab),
  };
}

function recorder() {
  const lines: string[] = [];
  const calls: QuantizeFileOptions[] = [];
  return {
    lines,
    calls,
    log: { info: (m: string) => void lines.push(`info ${m}`), warn: (m: string) => void lines.push(`warn ${m}`) },
    quantize: async (o: QuantizeFileOptions): Promise<QuantizeFileResult> => {
      calls.push(o);
      writeFileSync(o.out!, "int8");
      return { source: o.source!, out: o.out!, skipped: false, bytesIn: 1, bytesOut: 4, seconds: 0, stats: null };
    },
  };
}

describe("preparePartialEncoder", () => {
  test("fp32 model, no int8 file: creates it once (dynamic mode, next to the fp32 encoder) and uses it", async () => {
    const files = model();
    const r = recorder();
    const out = await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, log: r.log, quantize: r.quantize });
    expect(out).toBe(join(files.dir, "v3_e2e_rnnt_encoder.int8.onnx"));
    expect(r.calls).toEqual([{ modelDir: files.dir, mode: "dynamic", source: files.encoder, out: out! }]);
    // second start: the file is there and fresh, nothing is quantized
    const again = recorder();
    expect(await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, log: again.log, quantize: again.quantize })).toBe(out);
    expect(again.calls).toHaveLength(0);
  });

  test("an int8 file older than the fp32 encoder is rebuilt, unless --skip-quantize (then it is used as is)", async () => {
    const files = model();
    const int8 = join(files.dir, "v3_e2e_rnnt_encoder.int8.onnx");
    writeFileSync(int8, "old");
    utimesSync(int8, new Date(1000), new Date(1000));
    const skip = recorder();
    expect(await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: true, log: skip.log, quantize: skip.quantize })).toBe(int8);
    expect(skip.calls).toHaveLength(0);
    const r = recorder();
    expect(await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, log: r.log, quantize: r.quantize })).toBe(int8);
    expect(r.calls).toHaveLength(1);
  });

  test("--skip-quantize without the file, --partial-precision fp32, or an int8 main model: no second encoder", async () => {
    const r = recorder();
    expect(await preparePartialEncoder({ files: model(), partialPrecision: "int8", skipQuantize: true, log: r.log, quantize: r.quantize })).toBeUndefined();
    expect(r.lines.some((l) => l.includes("--skip-quantize"))).toBe(true);
    expect(await preparePartialEncoder({ files: model(), partialPrecision: "fp32", skipQuantize: false, log: r.log, quantize: r.quantize })).toBeUndefined();
    expect(await preparePartialEncoder({ files: model("int8"), partialPrecision: "int8", skipQuantize: false, log: r.log, quantize: r.quantize })).toBeUndefined();
    expect(r.calls).toHaveLength(0);
  });

  test("a failing quantization (read-only folder, full disk) is a warning: partials use the main encoder", async () => {
    const r = recorder();
    const out = await preparePartialEncoder({
      files: model(),
      partialPrecision: "int8",
      skipQuantize: false,
      log: r.log,
      quantize: async () => {
        throw new GigasttError("disk_full", "not enough disk space to write v3_e2e_rnnt_encoder.int8.onnx");
      },
    });
    expect(out).toBeUndefined();
    expect(r.lines.at(-1)).toStartWith("warn could not create the int8 encoder");
  });
});
