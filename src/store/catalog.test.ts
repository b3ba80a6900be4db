import { describe, expect, test } from "bun:test";
import { FP32_FILES, HF_REPO, HF_REVISION, INT8_FILES, builtinCatalog, fileUrl, modelSizeText, parseManifest } from "./catalog.ts";

describe("built-in catalog", () => {
  test("is pinned to istupakov/gigaam-v3-onnx at revision 322c3b29…, never main", () => {
    expect(HF_REPO).toBe("istupakov/gigaam-v3-onnx");
    expect(HF_REVISION).toBe("322c3b29492673eb7d0b434bfa9dfb8653e34d02");
    for (const p of ["fp32", "int8"] as const) {
      const c = builtinCatalog(p);
      expect(c.revision).toBe(HF_REVISION);
      for (const f of c.files) expect(fileUrl("https://huggingface.co", c, f.name)).not.toContain("/resolve/main/");
    }
  });

  test("fp32 URLs, sizes and SHA-256 (docs/MODEL.md §1)", () => {
    const c = builtinCatalog("fp32");
    const base = "https://huggingface.co/istupakov/gigaam-v3-onnx/resolve/322c3b29492673eb7d0b434bfa9dfb8653e34d02/";
    expect(c.files.map((f) => [fileUrl("https://huggingface.co", c, f.name), f.size, f.sha256])).toEqual([
      [`${base}v3_e2e_rnnt_encoder.onnx`, 885_084_534, "cd60b3764a832e8560ae6d3ad0b10adc1a42ffae412b9476f25620aae4f4a508"],
      [`${base}v3_e2e_rnnt_decoder.onnx`, 4_599_910, "7b0a16d67fd2cb37061decc93c69e364a9ab27afee3c57495d55b1c974cf7231"],
      [`${base}v3_e2e_rnnt_joint.onnx`, 2_712_896, "602ff7017a93311aad34df1437c8d7f49911353c13d6eae7a6ee7b041339465c"],
      [`${base}v3_e2e_rnnt_vocab.txt`, 13_354, "39abae20e692998290c574e606f11a9edef2902a1995463fcff63d1490cf22b7"],
    ]);
    expect(FP32_FILES).toBe(c.files);
  });

  test("int8 set: the three .int8.onnx graphs (hash from the server) plus the pinned vocab", () => {
    const c = builtinCatalog("int8");
    expect(c.files).toBe(INT8_FILES);
    expect(c.files.map((f) => f.name)).toEqual(["v3_e2e_rnnt_encoder.int8.onnx", "v3_e2e_rnnt_decoder.int8.onnx", "v3_e2e_rnnt_joint.int8.onnx", "v3_e2e_rnnt_vocab.txt"]);
    for (const f of c.files.slice(0, 3)) {
      expect(f.sha256).toBeUndefined();
      expect(f.size).toBeUndefined();
      expect(f.approxSize).toBeGreaterThan(0);
    }
    expect(c.files[3]).toEqual(FP32_FILES[3]!);
    expect(c.files[0]!.aliases).toEqual(["v3_e2e_rnnt_encoder_int8.onnx"]);
  });

  test("HF_ENDPOINT base with a trailing slash and names needing escapes", () => {
    expect(fileUrl("http://mirror.local/hf/", { repo: "o/r", revision: "v1" }, "a b.onnx")).toBe("http://mirror.local/hf/o/r/resolve/v1/a%20b.onnx");
  });
});

describe("manifest", () => {
  const sha = "a".repeat(64);
  test("list form and object (lock) form", () => {
    const a = parseManifest(JSON.stringify({ repo: "me/mirror", revision: "abc", files: [{ name: "x.onnx", size: 3, sha256: sha.toUpperCase() }, { name: "y.txt" }] }), "m.json");
    expect(a).toEqual({ repo: "me/mirror", revision: "abc", source: "m.json", files: [{ name: "x.onnx", size: 3, sha256: sha }, { name: "y.txt" }] });
    const b = parseManifest(JSON.stringify({ repo: "me/mirror", revision: "abc", files: { "x.onnx": { size: 3, sha256: sha } } }));
    expect(b.files).toEqual([{ name: "x.onnx", size: 3, sha256: sha }]);
  });

  test.each([
    ["not json", "{", "not JSON"],
    ["no repo", JSON.stringify({ revision: "r", files: [{ name: "a" }] }), "repo"],
    ["no files", JSON.stringify({ repo: "a/b", revision: "r", files: [] }), "empty"],
    ["path traversal", JSON.stringify({ repo: "a/b", revision: "r", files: [{ name: "../etc" }] }), "bad file name"],
    ["slash in name", JSON.stringify({ repo: "a/b", revision: "r", files: [{ name: "d/x" }] }), "bad file name"],
    ["bad sha", JSON.stringify({ repo: "a/b", revision: "r", files: [{ name: "x", sha256: "12" }] }), "sha256"],
    ["bad size", JSON.stringify({ repo: "a/b", revision: "r", files: [{ name: "x", size: -1 }] }), "size"],
    ["duplicate", JSON.stringify({ repo: "a/b", revision: "r", files: [{ name: "x" }, { name: "x" }] }), "twice"],
    ["the lock file's name", JSON.stringify({ repo: "a/b", revision: "r", files: [{ name: ".gigastt-lock.json" }] }), "reserved"],
    ["the dir lock's name", JSON.stringify({ repo: "a/b", revision: "r", files: [{ name: ".gigastt-download.lock" }] }), "reserved"],
    ["a partial's name", JSON.stringify({ repo: "a/b", revision: "r", files: [{ name: "x.onnx.partial" }] }), "reserved"],
  ])("rejects %s with invalid_config", (_, text, why) => {
    expect(() => parseManifest(text, "m.json")).toThrow(why);
    try {
      parseManifest(text, "m.json");
    } catch (e) {
      expect((e as { code: string }).code).toBe("invalid_config");
    }
  });
});

describe("model sizes agree everywhere", () => {
  test("one size text per set, computed from the catalog", () => {
    expect(modelSizeText("fp32")).toBe("≈ 892 MB"); // 885 084 534 + 4 599 910 + 2 712 896 + 13 354 bytes
    expect(modelSizeText("int8")).toBe("≈ 227 MB");
  });

  test("the README and the Homebrew caveat say the same sizes", async () => {
    const readme = await Bun.file(new URL("../../README.md", import.meta.url)).text();
    const quick = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## Install"));
    expect(quick).toContain(`${modelSizeText("fp32")} fp32`);
    const models = readme.slice(readme.indexOf("<!-- models:begin -->"), readme.indexOf("<!-- models:end -->"));
    expect(models).toContain(`| ${modelSizeText("fp32")}, SHA-256 pinned`);
    expect(models).toContain(`| ${modelSizeText("int8")}, SHA-256 from the server`);
    expect(models).toContain(`(\`--precision int8\`, ${modelSizeText("int8")})`);
    expect(readme.match(/~\d{3} MB/g)).toBeNull();
    const { formulaFromSums } = await import("../../scripts/lib/build-formula.ts");
    const rb = formulaFromSums(new Map(["darwin-arm64", "darwin-x64", "linux-arm64", "linux-x64"].map((t, i) => [`gigastt-${t}`, String(i).repeat(64)])), { version: "0.1.0" });
    expect(rb).toContain(`The GigaAM v3 model (${modelSizeText("fp32")})`);
  });
});
