import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelFiles } from "../../src/model/files.ts";
import { PACK_NAMES, runPeer, textAgreement, writeGigasttPack } from "./peer-compare.ts";
import { renderReport, targets } from "./report.ts";

const tmp = mkdtempSync(join(tmpdir(), "peer-compare-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function files(dir: string): ModelFiles {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => {
    writeFileSync(join(dir, name), name);
    return join(dir, name);
  };
  return { dir, precision: "fp32", encoder: f("v3_e2e_rnnt_encoder.onnx"), decoder: f("v3_e2e_rnnt_decoder.onnx"), joint: f("v3_e2e_rnnt_joint.onnx"), vocab: f("v3_e2e_rnnt_vocab.txt") };
}

describe("writeGigasttPack", () => {
  test("links every file under a neutral name and names the chosen file as the INT8 encoder in manifest.toml", () => {
    const m = files(join(tmp, "model"));
    const int8 = join(tmp, "weight-only.onnx");
    writeFileSync(int8, "int8");
    const pack = writeGigasttPack(join(tmp, "pack"), m, int8);
    const manifest = readFileSync(join(pack, "manifest.toml"), "utf8");
    expect(manifest).toContain('architecture = "e2e_rnnt"');
    expect(manifest).toContain("[files]");
    for (const [key, name] of Object.entries(PACK_NAMES)) {
      expect(manifest).toContain(`${key} = "${name}"`);
      expect(name.startsWith("v3_")).toBe(false); // official names are checked against the real release's digests
      expect(lstatSync(join(pack, name)).isSymbolicLink()).toBe(true);
    }
    expect(readlinkSync(join(pack, PACK_NAMES.encoder_int8))).toBe(int8);
    expect(readlinkSync(join(pack, PACK_NAMES.encoder))).toBe(m.encoder);
    expect(readFileSync(join(pack, PACK_NAMES.vocab), "utf8")).toBe("v3_e2e_rnnt_vocab.txt");
  });

  test("rewriting a pack points it at the new file and drops the engine's graph cache of the old one", () => {
    const m = files(join(tmp, "model2"));
    const pack = writeGigasttPack(join(tmp, "pack2"), m, m.decoder);
    mkdirSync(join(pack, "optimized_cache"));
    writeFileSync(join(pack, "optimized_cache", "x_optimized.ort"), "stale");
    writeGigasttPack(pack, m, m.encoder);
    expect(readlinkSync(join(pack, PACK_NAMES.encoder_int8))).toBe(m.encoder);
    expect(existsSync(join(pack, "optimized_cache"))).toBe(false);
  });
});

describe("textAgreement", () => {
  test("1 for equal texts, 0 for nothing in common, edit distance otherwise", () => {
    expect(textAgreement("привет мир", "привет мир")).toBe(1);
    expect(textAgreement("", "")).toBe(1);
    expect(textAgreement("абв", "")).toBe(0);
    expect(textAgreement("кот", "кит")).toBeCloseTo(2 / 3, 10);
    expect(textAgreement("abcd", "abc")).toBeCloseTo(3 / 4, 10);
  });
});

describe("runPeer", () => {
  test("a Python that cannot start comes back as an error, not an exception", () => {
    const r = runPeer({ python: join(tmp, "no-such-python"), script: "peers.py" }, "gigastt", tmp, "x.wav", 1);
    expect(r.error).toContain("cannot run");
    expect(r.times_s).toBeUndefined();
  });
});

describe("report: peer rows", () => {
  const result = {
    peer_ratio: { gigastt: 0.9, gigastt_fp32: 1.2, "onnx-asr": { error: "ModelNotFound: msg='a | b'" } },
    peers: {
      gigastt: { peer: "gigastt", files: { encoder: ".bench/variants/v3_e2e_rnnt_encoder.weight-only.onnx" }, version: "gigastt (PyPI) 2.22.0", median_ms: 2600, runs_ms: [1, 2, 3, 4, 5], ours_before_ms: 2300, ours_after_ms: 2380, like_for_like: { ratio: 1.01, ours_before_ms: 2600, ours_after_ms: 2650 }, peer_cpu_per_wall: 0.98, ours_cpu_per_wall: 0.99, transcript_identical: false, text_agreement: 0.3, peer_cap: 10, transcript_identical_at_peer_cap: true },
      gigastt_fp32: { peer: "gigastt", note: "as its INT8 file", files: { encoder: ".bench/model/v3_e2e_rnnt_encoder.onnx" }, transcript_identical: true },
      "onnx-asr": { peer: "onnx-asr", files: { encoder: ".bench/model/v3_e2e_rnnt_encoder.onnx" }, error: "ModelNotFound: msg='a | b'" },
    },
  };

  test("one row per comparison, named by peer and encoder file, met at ≤ 0.95; the Rust engine on fp32 is shown, not a target", () => {
    const rows = targets(result).filter((r) => r.name.startsWith("6."));
    expect(rows.map((r) => [r.name, r.value, r.met])).toEqual([
      ["6. our time ÷ gigastt (16 s, 1 thread, v3_e2e_rnnt_encoder.weight-only.onnx)", "0.9", true],
      ["6. our time ÷ gigastt (16 s, 1 thread, v3_e2e_rnnt_encoder.onnx as its INT8 file)", "1.2", null],
      ["6. our time ÷ onnx-asr (16 s, 1 thread, v3_e2e_rnnt_encoder.onnx)", "could not run", null],
    ]);
  });

  test("the peers table gives the peer's own error and the transcript comparison at its token cap", () => {
    const md = renderReport(result);
    expect(md).toContain("could not run: ModelNotFound: msg='a \\| b'");
    expect(md).toContain("no (30.0 % of characters agree); at their cap of 10 tokens per frame: yes");
    expect(md).toContain("| 2300 / 2380 ms | 0.9 | 1.01 (ours 2600 / 2650 ms) | 0.98 / 0.99 |");
    expect(md).toContain("pipeline with that off");
  });
});
