import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { adhocSign, MachoError, parseMacho, verifyCodeSignature } from "./build-macho.ts";

const ORT = join(import.meta.dir, "..", "..", "node_modules", "onnxruntime-node", "bin", "napi-v6");
const addonArm64 = () => new Uint8Array(readFileSync(join(ORT, "darwin", "arm64", "onnxruntime_binding.node")));

describe("parseMacho", () => {
  test("reads arch, file type, @rpath dependency and rpath of onnxruntime's darwin addon", () => {
    const m = parseMacho(addonArm64());
    expect(m.arch).toBe("arm64");
    expect(m.filetype).toBe(6 /* MH_DYLIB */);
    expect(m.dylibs).toContain("@rpath/libonnxruntime.1.dylib");
    expect(m.rpaths).toContain("@loader_path");
    expect(m.codeSignature).not.toBeNull();
    expect(m.segments.map((s) => s.name)).toContain("__LINKEDIT");
  });

  test("rejects an ELF file and a truncated header", () => {
    const elf = new Uint8Array(readFileSync(join(ORT, "linux", "x64", "onnxruntime_binding.node")));
    expect(() => parseMacho(elf)).toThrow(MachoError);
    expect(() => parseMacho(addonArm64().subarray(0, 16))).toThrow(MachoError);
  });
});

describe("verifyCodeSignature", () => {
  test("accepts Apple-linker-signed files from onnxruntime and recomputes every page", () => {
    const b = addonArm64();
    const r = verifyCodeSignature(b);
    expect(r.codeDirectory.hashType).toBe(2);
    expect(r.codeDirectory.pageSize).toBe(4096);
    expect(r.pagesChecked).toBe(Math.ceil(r.codeDirectory.codeLimit / 4096));
    expect(r.codeDirectory.codeLimit).toBe(parseMacho(b).codeSignature!.dataoff);
  });

  test("names the page whose bytes changed after signing", () => {
    const b = addonArm64();
    b[5 * 4096 + 100] = b[5 * 4096 + 100]! ^ 0xff;
    expect(() => verifyCodeSignature(b)).toThrow(/page 5 \(offset 20480\) hash mismatch/);
  });

  test("rejects a file cut inside its signature", () => {
    const b = addonArm64();
    expect(() => verifyCodeSignature(b.subarray(0, b.length - 100))).toThrow(MachoError);
  });
});

describe("adhocSign", () => {
  test("re-seals a modified file so that every page verifies again", () => {
    const b = addonArm64();
    b[5 * 4096 + 100] = b[5 * 4096 + 100]! ^ 0xff;
    const signed = adhocSign(b, "gigastt");
    const r = verifyCodeSignature(signed);
    expect(r.codeDirectory.identifier).toBe("gigastt");
    expect(r.codeDirectory.flags & 0x2).toBe(0x2); // CS_ADHOC
    expect(r.slots).toEqual([0]);
    // the code itself is untouched
    expect(Buffer.from(signed.subarray(4096, parseMacho(signed).codeSignature!.dataoff)).equals(Buffer.from(b.subarray(4096, parseMacho(b).codeSignature!.dataoff)))).toBe(true);
  });
});
