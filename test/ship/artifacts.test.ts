/**
 * The four release executables, checked without running the foreign ones:
 * right format and CPU, executable, each embedding its own target's
 * onnxruntime addon + library byte for byte (and not another target's),
 * darwin code signatures valid page by page, SHA256SUMS matching.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkArtifact, findEmbedded } from "../../scripts/lib/build-check.ts";
import { adhocSign, parseMacho, verifyCodeSignature } from "../../scripts/lib/build-macho.ts";
import { parseSums, sha256File } from "../../scripts/lib/build-sums.ts";
import { ortForTarget, target, TARGET_NAMES } from "../../scripts/lib/build-targets.ts";
import { DIST, ensureDist, ROOT } from "./helpers.ts";

beforeAll(async () => {
  await ensureDist();
}, 600_000);

describe("release executables", () => {
  for (const name of TARGET_NAMES) {
    test(`${name}: executable, ${name.startsWith("linux") ? "ELF" : "Mach-O"} for ${name.split("-")[1]}, embeds its onnxruntime`, () => {
      const t = target(name);
      const path = join(DIST, t.artifact);
      const st = statSync(path);
      expect(st.size).toBeGreaterThan(50_000_000);
      expect(st.mode & 0o111).toBe(0o111);
      const ort = ortForTarget(t, ROOT);
      const report = checkArtifact(path, t, ort.files);
      expect(report.format).toBe(t.os === "linux" ? "elf" : "macho");
      expect(report.arch).toBe(t.arch);
      expect(Object.keys(report.embedded).sort()).toEqual(ort.files.map((f) => f.name).sort());
      expect(ort.files[0]!.name).toBe("onnxruntime_binding.node");
      expect(ort.files[1]!.name).toBe(
        { "linux-x64": "libonnxruntime.so.1", "linux-arm64": "libonnxruntime.so.1", "darwin-arm64": "libonnxruntime.1.dylib", "darwin-x64": "libonnxruntime.1.23.2.dylib" }[name],
      );
      expect(ort.version).toBe(name === "darwin-x64" ? "1.23.2" : "1.30.0");
    });
  }

  test("each executable carries only its own target's onnxruntime library", () => {
    const libs = TARGET_NAMES.map((n) => ({ n, lib: ortForTarget(target(n), ROOT).files[1]! }));
    for (const name of ["linux-x64", "darwin-arm64"] as const) {
      const bytes = readFileSync(join(DIST, target(name).artifact));
      for (const { n, lib } of libs) {
        const found = findEmbedded(bytes, lib, readFileSync(lib.source)) >= 0;
        expect({ binary: name, lib: n, found }).toEqual({ binary: name, lib: n, found: n === name });
      }
    }
  });

  test("darwin code signatures: CodeDirectory page hashes recomputed over every page up to codeLimit", () => {
    for (const name of ["darwin-arm64", "darwin-x64"] as const) {
      const bytes = new Uint8Array(readFileSync(join(DIST, target(name).artifact)));
      const m = parseMacho(bytes);
      const r = verifyCodeSignature(bytes, m);
      expect(r.codeDirectory.codeLimit).toBe(m.codeSignature!.dataoff);
      expect(r.pagesChecked).toBe(Math.ceil(m.codeSignature!.dataoff / 4096));
      expect(r.codeDirectory.flags & 0x2).toBe(0x2); // ad hoc
      expect(m.codeSignature!.dataoff + m.codeSignature!.datasize).toBe(bytes.length);
    }
  });

  test("the ad-hoc signer writes exactly what Bun writes for a valid darwin-arm64 executable", () => {
    const bytes = new Uint8Array(readFileSync(join(DIST, "gigastt-darwin-arm64")));
    const ident = verifyCodeSignature(bytes).codeDirectory.identifier;
    expect(Buffer.from(adhocSign(bytes, ident)).equals(Buffer.from(bytes))).toBe(true);
  });

  test("SHA256SUMS lists the four executables with their hashes", () => {
    const sums = parseSums(readFileSync(join(DIST, "SHA256SUMS"), "utf8"));
    expect([...sums.keys()].sort()).toEqual(TARGET_NAMES.map((n) => `gigastt-${n}`).sort());
    for (const [file, hex] of sums) expect(sha256File(join(DIST, file))).toBe(hex);
  });

  test("release --formula-only: the Homebrew formula pins every executable's sha256 from SHA256SUMS", async () => {
    const out = mkdtempSync(join(tmpdir(), "gigastt-release-"));
    copyFileSync(join(DIST, "SHA256SUMS"), join(out, "SHA256SUMS"));
    const p = Bun.spawn([process.execPath, join(ROOT, "scripts", "release.ts"), "--formula-only", "--outdir", out, "--repo", "acme/gigastt"], { stderr: "pipe" });
    expect(await p.exited).toBe(0);
    const rb = readFileSync(join(out, "gigastt.rb"), "utf8");
    const sums = parseSums(readFileSync(join(DIST, "SHA256SUMS"), "utf8"));
    for (const [file, hex] of sums) expect(rb).toContain(`url "https://github.com/acme/gigastt/releases/download/v${(await import("../../package.json")).version}/${file}"\n      sha256 "${hex}"`);
    expect(readFileSync(join(out, "install.sh"), "utf8")).toBe(readFileSync(join(ROOT, "scripts", "install.sh"), "utf8"));
    rmSync(out, { recursive: true, force: true });
  });
});
