import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ElfError, parseElf } from "./build-elf.ts";

const ORT = join(import.meta.dir, "..", "..", "node_modules", "onnxruntime-node", "bin", "napi-v6");

test("onnxruntime's linux addons link libonnxruntime.so.1 through RUNPATH $ORIGIN, per architecture", () => {
  for (const arch of ["x64", "arm64"] as const) {
    const elf = parseElf(new Uint8Array(readFileSync(join(ORT, "linux", arch, "onnxruntime_binding.node"))));
    expect(elf.arch).toBe(arch);
    expect(elf.type).toBe(3); // ET_DYN
    expect(elf.needed).toContain("libonnxruntime.so.1");
    expect(elf.runpath).toContain("$ORIGIN/");
  }
});

test("the library itself carries its soname", () => {
  const lib = parseElf(new Uint8Array(readFileSync(join(ORT, "linux", "x64", "libonnxruntime.so.1"))));
  expect(lib.soname).toBe("libonnxruntime.so.1");
  expect(lib.interpreter).toBeNull();
});

test("the running Bun is an ELF executable with an interpreter", () => {
  const bun = parseElf(new Uint8Array(readFileSync(process.execPath)));
  expect(bun.arch).toBe(process.arch === "arm64" ? "arm64" : "x64");
  expect(bun.interpreter).toMatch(/^\/lib.*ld-linux/);
});

test("rejects non-ELF and 32-bit input", () => {
  expect(() => parseElf(new TextEncoder().encode("#!/bin/sh\necho hi\n"))).toThrow(ElfError);
  const b = new Uint8Array(readFileSync(join(ORT, "linux", "x64", "onnxruntime_binding.node")));
  b[4] = 1;
  expect(() => parseElf(b)).toThrow(/64-bit/);
});
