/**
 * The CPU features that decide whether an int8 graph computes exactly.
 *
 * onnxruntime's x86-64 u8×s8 GEMM (the kernel behind MatMulInteger / DynamicQuantizeMatMul with s8
 * weights) adds pairs of products in 16 bits with saturation (`vpmaddubsw`) unless the CPU has VNNI
 * (AVX512-VNNI or AVX-VNNI: `vpdpbusd` adds in 32 bits) or AMX. So s8 weights beyond ±64 against u8
 * activations clip on AVX2-only CPUs (AMD Zen 1–3, Intel before Ice Lake / Alder Lake). arm64's
 * kernels (SDOT/UDOT, or 16-bit widening) never saturate.
 *
 * Pure parsing of /proc/cpuinfo text (injectable), plus a reader for this machine. Elsewhere than
 * Linux the x86 flags are unknown: then VNNI is assumed absent, the safe side.
 */
import { readFileSync } from "node:fs";

export interface CpuInt8Features {
  /** process.arch: "x64", "arm64", … */
  readonly arch: string;
  /** where the flags came from: "/proc/cpuinfo", or "unknown" */
  readonly source: string;
  readonly avx2: boolean;
  readonly avx512f: boolean;
  /** AVX512-VNNI or AVX-VNNI */
  readonly vnni: boolean;
  readonly amx: boolean;
  /** arm64 NEON (always on arm64) and the dot-product extension */
  readonly neon: boolean;
  readonly dotprod: boolean;
  /** true when onnxruntime's u8×s8 kernel on this CPU saturates full-range (±127) s8 weights */
  readonly u8s8Saturates: boolean;
}

function flagSet(cpuinfo: string): Set<string> {
  // x86: "flags : fpu vme …"; arm64: "Features : fp asimd … asimddp …"
  const line = cpuinfo.split("\n").find((l) => /^(flags|Features)\s*:/.test(l));
  return new Set(line ? line.slice(line.indexOf(":") + 1).trim().split(/\s+/) : []);
}

/** Features from /proc/cpuinfo's text (`undefined`: unknown — no flags, VNNI assumed absent on x64). */
export function parseCpuInt8Features(cpuinfo: string | undefined, arch: string): CpuInt8Features {
  const f = flagSet(cpuinfo ?? "");
  const vnni = f.has("avx512_vnni") || f.has("avx_vnni");
  const amx = f.has("amx_int8");
  const isArm = arch === "arm64";
  return {
    arch,
    source: cpuinfo === undefined ? "unknown" : "/proc/cpuinfo",
    avx2: f.has("avx2"),
    avx512f: f.has("avx512f"),
    vnni,
    amx,
    neon: isArm,
    dotprod: isArm && f.has("asimddp"),
    u8s8Saturates: arch === "x64" || arch === "ia32" ? !(vnni || amx) : false,
  };
}

let cached: CpuInt8Features | undefined;

/** This machine's features (read once). */
export function cpuInt8Features(): CpuInt8Features {
  if (!cached) {
    let text: string | undefined;
    try {
      text = process.platform === "linux" ? readFileSync("/proc/cpuinfo", "utf8") : undefined;
    } catch {
      text = undefined;
    }
    cached = parseCpuInt8Features(text, process.arch);
  }
  return cached;
}

/** "AVX2, no AVX512, no VNNI (u8×s8 saturates)" — for logs and the benchmark header. */
export function describeCpuInt8(f: CpuInt8Features): string {
  if (f.arch === "arm64") return `arm64 NEON${f.dotprod ? " + dot product" : ""} (int8 exact)`;
  if (f.source === "unknown") return `${f.arch}, features unknown (treated as without VNNI)`;
  const parts = [f.avx2 ? "AVX2" : "no AVX2", f.avx512f ? "AVX512" : "no AVX512", f.vnni ? "VNNI" : "no VNNI"];
  if (f.amx) parts.push("AMX");
  return `${parts.join(", ")} (${f.u8s8Saturates ? "u8×s8 saturates" : "u8×s8 exact"})`;
}
