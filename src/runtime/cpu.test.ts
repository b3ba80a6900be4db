import { describe, expect, test } from "bun:test";
import { cpuInt8Features, describeCpuInt8, parseCpuInt8Features } from "./cpu.ts";

const epycAvx2 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu vme sse sse2 avx avx2 fma bmi2\n";
const iceLake = "processor\t: 0\nflags\t\t: fpu sse avx avx2 avx512f avx512bw avx512_vnni\n";
const alderLake = "flags\t\t: fpu avx avx2 avx_vnni\n";
const sapphire = "flags\t\t: avx2 avx512f amx_tile amx_int8\n";
const graviton = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\n";

describe("parseCpuInt8Features", () => {
  test("AVX2 without VNNI: u8×s8 saturates", () => {
    const f = parseCpuInt8Features(epycAvx2, "x64");
    expect(f).toMatchObject({ avx2: true, avx512f: false, vnni: false, amx: false, u8s8Saturates: true, source: "/proc/cpuinfo" });
    expect(describeCpuInt8(f)).toBe("AVX2, no AVX512, no VNNI (u8×s8 saturates)");
  });
  test("AVX512-VNNI, AVX-VNNI and AMX add in 32 bits", () => {
    expect(parseCpuInt8Features(iceLake, "x64")).toMatchObject({ avx512f: true, vnni: true, u8s8Saturates: false });
    expect(parseCpuInt8Features(alderLake, "x64")).toMatchObject({ avx512f: false, vnni: true, u8s8Saturates: false });
    expect(parseCpuInt8Features(sapphire, "x64")).toMatchObject({ amx: true, u8s8Saturates: false });
  });
  test("arm64 never saturates; dot product from asimddp", () => {
    const f = parseCpuInt8Features(graviton, "arm64");
    expect(f).toMatchObject({ neon: true, dotprod: true, u8s8Saturates: false });
    expect(describeCpuInt8(f)).toContain("arm64 NEON + dot product");
  });
  test("unknown x64 features (no /proc/cpuinfo): the safe side, treated as saturating", () => {
    const f = parseCpuInt8Features(undefined, "x64");
    expect(f.u8s8Saturates).toBe(true);
    expect(describeCpuInt8(f)).toContain("unknown");
  });
  test("this machine's features are read once and agree with the parser", () => {
    const f = cpuInt8Features();
    expect(cpuInt8Features()).toBe(f);
    expect(f.arch).toBe(process.arch);
  });
});
