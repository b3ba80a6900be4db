import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCpuInt8Features } from "../../src/runtime/cpu.ts";
import { beginMarker, endMarker, renderReport, writeBenchmarksMd } from "./report.ts";
import { machineKind } from "./stats.ts";

const tmp = mkdtempSync(join(tmpdir(), "gigastt-report-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (kind: string, int8: string, encodeMs: number) => ({
  meta: { date: "2026-12-04", machine: { cpu: "AMD EPYC", cores: 2, memGiB: 23.5, os: "Debian", bun: "1.4.5", kind, int8 } },
  quantize: {
    cpu_int8: int8,
    fp32: { mb: 883, encode_ms: 2500, decode_ms: 80 },
    int8_dynamic: { mb: 233, encode_ms: encodeMs, speed_vs_fp32: 1.8, max_abs_diff: 0.033, rel_rms_diff: 0.0073, token_agreement: 0.94 },
    int8_dynamic_s8_legacy: { mb: 233, encode_ms: 1500, speed_vs_fp32: 1.6, max_abs_diff: 0.18, rel_rms_diff: 0.045, token_agreement: 0.64 },
  },
});

describe("BENCHMARKS.md per machine kind", () => {
  test("machine kinds from the CPU's int8 features", () => {
    expect(machineKind(parseCpuInt8Features("flags : avx2", "x64"))).toBe("x64 AVX2 without VNNI");
    expect(machineKind(parseCpuInt8Features("flags : avx2 avx512f avx512_vnni", "x64"))).toBe("x64 with VNNI");
    expect(machineKind(parseCpuInt8Features("Features : fp asimd", "arm64"))).toBe("arm64");
  });

  test("the report names the CPU's int8 features and every int8 scheme measured", () => {
    const md = renderReport(run("x64 AVX2 without VNNI", "AVX2, no AVX512, no VNNI (u8×s8 saturates)", 1400));
    expect(md.startsWith(beginMarker("x64 AVX2 without VNNI"))).toBe(true);
    expect(md).toContain("CPU int8 features: AVX2, no AVX512, no VNNI (u8×s8 saturates)");
    expect(md).toContain("| int8 dynamic, s7 weights (`gigastt quantize`, the default) | 233 MB | 1400 ms | 1.8× speed | 0.033 | 0.0073 | 94.0 % |");
    expect(md).toContain("full-range s8");
    expect(md.trimEnd().endsWith(endMarker("x64 AVX2 without VNNI"))).toBe(true);
  });

  test("a run replaces only its own kind's block; a new kind is added before the others", () => {
    const path = join(tmp, "BENCHMARKS.md");
    writeFileSync(path, `# Benchmarks\n\n${renderReport(run("x64 with VNNI", "AVX2, AVX512, VNNI (u8×s8 exact)", 700))}\n\n## How to run\n`);
    writeBenchmarksMd(path, renderReport(run("x64 AVX2 without VNNI", "AVX2, no AVX512, no VNNI (u8×s8 saturates)", 1400)));
    let text = readFileSync(path, "utf8");
    expect(text.indexOf("## x64 AVX2 without VNNI")).toBeLessThan(text.indexOf("## x64 with VNNI"));
    expect(text).toContain("| 700 ms |");
    expect(text).toContain("## How to run");
    writeBenchmarksMd(path, renderReport(run("x64 AVX2 without VNNI", "AVX2, no AVX512, no VNNI (u8×s8 saturates)", 1300)));
    text = readFileSync(path, "utf8");
    expect(text).toContain("| 1300 ms |");
    expect(text).not.toContain("| 1400 ms |");
    expect(text).toContain("| 700 ms |");
    expect(text.split("<!-- bench:begin ").length - 1).toBe(2);
  });
});
