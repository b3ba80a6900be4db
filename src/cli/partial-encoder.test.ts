import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { foreignInt8, ffnModel, legacyInt8 } from "../../test/helpers/int8-models.ts";
import { GigasttError } from "../errors.ts";
import { MODEL_FILE_NAMES, type ModelFiles } from "../model/files.ts";
import { classifyInt8File } from "../quantize/file.ts";
import { DERIVED_INT8_ENCODER, type ExactInt8Options, ensureExactInt8Encoder } from "../quantize/safe.ts";
import { prepareMainInt8Encoder, preparePartialEncoder } from "./partial-encoder.ts";

const tmp = mkdtempSync(join(tmpdir(), "gigastt-partial-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fp32 = ffnModel();
const INT8 = "v3_e2e_rnnt_encoder.int8.onnx";

function model(opts: { precision?: "fp32" | "int8"; int8?: Uint8Array | string; fp32?: boolean } = {}): ModelFiles {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  for (const f of Object.values(MODEL_FILE_NAMES)) if (f !== MODEL_FILE_NAMES.encoder) writeFileSync(join(dir, f), "x");
  if (opts.fp32 !== false) writeFileSync(join(dir, MODEL_FILE_NAMES.encoder), fp32);
  if (opts.int8 !== undefined) writeFileSync(join(dir, INT8), opts.int8);
  const precision = opts.precision ?? "fp32";
  return {
    dir,
    precision,
    encoder: join(dir, precision === "int8" ? INT8 : MODEL_FILE_NAMES.encoder),
    decoder: join(dir, MODEL_FILE_NAMES.decoder),
    joint: join(dir, MODEL_FILE_NAMES.joint),
    vocab: join(dir, MODEL_FILE_NAMES.vocab),
  };
}

/** the real decision, in-process, recording its calls */
function recorder(saturates = true) {
  const lines: string[] = [];
  const calls: ExactInt8Options[] = [];
  return {
    lines,
    calls,
    saturates,
    log: { info: (m: string) => void lines.push(`info ${m}`), warn: (m: string) => void lines.push(`warn ${m}`) },
    exact: async (o: ExactInt8Options) => {
      calls.push(o);
      return ensureExactInt8Encoder(o);
    },
  };
}

describe("preparePartialEncoder", () => {
  test("fp32 model, no int8 file: creates it once (s7, next to the fp32 encoder) and uses it", async () => {
    const files = model();
    const r = recorder();
    const out = await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, ...r });
    expect(out).toBe(join(files.dir, INT8));
    expect(r.calls).toEqual([{ path: out!, fp32Source: files.encoder, saturates: true, create: true }]);
    expect(classifyInt8File(out!)).toEqual({ kind: "current", scheme: "s7" });
    // second start: the file is there, ours and fresh: no Worker at all
    const again = recorder();
    expect(await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, ...again })).toBe(out);
    expect(again.calls).toHaveLength(0);
  });

  test("an int8 file older than the fp32 encoder is rebuilt, unless --skip-quantize (then it is used as is)", async () => {
    const files = model();
    const first = recorder();
    const int8 = (await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, ...first }))!;
    utimesSync(int8, new Date(1000), new Date(1000));
    const skip = recorder();
    expect(await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: true, ...skip })).toBe(int8);
    const r = recorder();
    expect(await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, ...r })).toBe(int8);
    expect(r.lines.some((l) => l.includes("older than"))).toBe(true);
    expect(Bun.file(int8).lastModified).toBeGreaterThan(1000);
  });

  test("a file of an older gigastt scheme is rewritten once with one log line", async () => {
    const files = model({ int8: legacyInt8(fp32) });
    const r = recorder();
    const out = await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, ...r });
    expect(out).toBe(join(files.dir, INT8));
    expect(r.lines.filter((l) => l.includes("older int8 scheme"))).toHaveLength(1);
    expect(classifyInt8File(out!).kind).toBe("current");
    const again = recorder();
    await preparePartialEncoder({ files, partialPrecision: "int8", skipQuantize: false, ...again });
    expect(again.calls).toHaveLength(0);
    expect(again.lines).toHaveLength(0);
  });

  test("a published full-range int8 file: used where exact, an exact derived copy where u8×s8 saturates", async () => {
    const published = foreignInt8(fp32, "s8");
    const vnni = model({ int8: published });
    const ok = recorder(false);
    expect(await preparePartialEncoder({ files: vnni, partialPrecision: "int8", skipQuantize: false, ...ok })).toBe(join(vnni.dir, INT8));
    const avx2 = model({ int8: published });
    const r = recorder(true);
    expect(await preparePartialEncoder({ files: avx2, partialPrecision: "int8", skipQuantize: false, ...r })).toBe(join(avx2.dir, DERIVED_INT8_ENCODER));
    expect(r.lines.some((l) => l.includes("clip on this CPU"))).toBe(true);
    expect(Buffer.from(readFileSync(join(avx2.dir, INT8))).equals(Buffer.from(published))).toBe(true);
  });

  test("--skip-quantize without the file, --partial-precision fp32, or an int8 main model: no second encoder", async () => {
    const r = recorder();
    expect(await preparePartialEncoder({ files: model(), partialPrecision: "int8", skipQuantize: true, ...r })).toBeUndefined();
    expect(r.lines.some((l) => l.includes("--skip-quantize"))).toBe(true);
    expect(await preparePartialEncoder({ files: model(), partialPrecision: "fp32", skipQuantize: false, ...r })).toBeUndefined();
    expect(await preparePartialEncoder({ files: model({ precision: "int8", int8: "q" }), partialPrecision: "int8", skipQuantize: false, ...r })).toBeUndefined();
    expect(r.calls).toHaveLength(0);
  });

  test("a failing quantization (read-only folder, full disk) or a garbage int8 file is a warning: partials use the main encoder", async () => {
    const r = recorder();
    const out = await preparePartialEncoder({
      files: model(),
      partialPrecision: "int8",
      skipQuantize: false,
      log: r.log,
      saturates: true,
      exact: async () => {
        throw new GigasttError("disk_full", "not enough disk space to write v3_e2e_rnnt_encoder.int8.onnx");
      },
    });
    expect(out).toBeUndefined();
    expect(r.lines.at(-1)).toStartWith("warn could not create the int8 encoder");
    const g = recorder();
    expect(await preparePartialEncoder({ files: model({ int8: "garbage" }), partialPrecision: "int8", skipQuantize: false, ...g })).toBeUndefined();
    expect(g.lines.at(-1)).toStartWith("warn could not create the int8 encoder");
  });
});

describe("prepareMainInt8Encoder (--precision int8)", () => {
  test("fp32 models and our current int8 files pass through without a Worker", async () => {
    const r = recorder();
    const files = model();
    expect(await prepareMainInt8Encoder({ files, skipQuantize: false, ...r })).toBe(files);
    const made = model();
    await preparePartialEncoder({ files: made, partialPrecision: "int8", skipQuantize: false, ...recorder() });
    const int8Files = { ...made, precision: "int8" as const, encoder: join(made.dir, INT8) };
    expect(await prepareMainInt8Encoder({ files: int8Files, skipQuantize: false, ...r })).toBe(int8Files);
    expect(r.calls).toHaveLength(0);
  });

  test("the published set on a saturating CPU runs the exact derived copy; with --skip-quantize the fp32 encoder, or the file with a warning", async () => {
    const published = foreignInt8(fp32, "s8");
    const lean = model({ precision: "int8", int8: published, fp32: false });
    const r = recorder(true);
    const out = await prepareMainInt8Encoder({ files: lean, skipQuantize: false, ...r });
    expect(out.encoder).toBe(join(lean.dir, DERIVED_INT8_ENCODER));
    expect(out.precision).toBe("int8");
    const both = model({ precision: "int8", int8: published });
    const s = recorder(true);
    const fb = await prepareMainInt8Encoder({ files: both, skipQuantize: true, ...s });
    expect(fb).toMatchObject({ encoder: join(both.dir, MODEL_FILE_NAMES.encoder), precision: "fp32" });
    expect(s.lines.at(-1)).toContain("the encoder runs in fp32");
    const alone = model({ precision: "int8", int8: published, fp32: false });
    const w = recorder(true);
    expect((await prepareMainInt8Encoder({ files: alone, skipQuantize: true, ...w })).encoder).toBe(alone.encoder);
    expect(w.lines.at(-1)).toStartWith("warn");
  });

  test("garbage under the int8 name → model_invalid", async () => {
    const r = recorder(true);
    const files = model({ precision: "int8", int8: "garbage" });
    await expect(prepareMainInt8Encoder({ files, skipQuantize: false, ...r })).rejects.toMatchObject({ code: "model_invalid" });
  });
});
