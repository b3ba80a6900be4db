/**
 * Supply chain: THIRD_PARTY_NOTICES is current with package.json and bun.lock,
 * every runtime dependency's licence is on the allowlist (a denied one is
 * reported), and the release SBOM (CycloneDX) lists the executables and
 * everything they embed.
 */
import { describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { PINNED_BUN, writeSupplyChain } from "../scripts/release.ts";
import { LICENSE_EXCEPTIONS, licenseAllowed, parseLock, runtimePackages } from "../scripts/lib/supply-chain.ts";
import { deniedLicenses, embeddedPackages, NOTICES_FILE, notices, ROOT, sbom } from "../scripts/supply-chain.ts";

const lock = parseLock(readFileSync(join(ROOT, "bun.lock"), "utf8"));

describe("THIRD_PARTY_NOTICES", () => {
  test("the committed file is the one generated from package.json and bun.lock (bun scripts/supply-chain.ts notices)", () => {
    expect(readFileSync(join(ROOT, NOTICES_FILE), "utf8")).toBe(notices());
  });

  test("it names Bun, onnxruntime and every runtime package at its locked version, never a dev dependency", () => {
    const text = readFileSync(join(ROOT, NOTICES_FILE), "utf8");
    expect(text).toContain(`bun ${PINNED_BUN} — MIT`);
    expect(text).toContain(`onnxruntime ${pkg.dependencies["onnxruntime-node"]} — MIT`);
    expect(text).toContain("LGPL-2.0"); // JavaScriptCore, statically linked by Bun
    for (const [name, version] of Object.entries(pkg.dependencies)) expect(text).toContain(`\n${name} ${version} — `);
    for (const p of runtimePackages(lock)) expect(text).toContain(`\n${p.name} ${p.version} — `);
    for (const name of Object.keys(pkg.devDependencies)) expect(text).not.toContain(`\n${name} `);
  });
});

describe("licences", () => {
  test("SPDX expressions: AND needs every term, OR one; WITH and unknown ids are denied", () => {
    for (const ok of ["MIT", "ISC", "Apache-2.0", "BSD-3-Clause", "(MIT OR CC0-1.0)", "MIT AND ISC", "(GPL-3.0 OR MIT)", "BlueOak-1.0.0", "0BSD"]) expect(licenseAllowed(ok)).toBe(true);
    for (const bad of ["GPL-3.0", "AGPL-3.0-only", "MIT AND GPL-2.0", "GPL-2.0 WITH Classpath-exception-2.0", "SSPL-1.0", "UNLICENSED", "", null, "(MIT"]) expect(licenseAllowed(bad)).toBe(false);
  });

  test("every runtime dependency's licence is on the allowlist or a pinned exception", () => {
    expect(deniedLicenses()).toEqual([]);
    // the exceptions are exact versions: without them the LGPL package is reported
    expect(deniedLicenses(ROOT, {})).toEqual(Object.keys(LICENSE_EXCEPTIONS).filter((k) => embeddedPackages().some((p) => `${p.name}@${p.version}` === k)).map((k) => `${k} ${embeddedPackages().find((p) => `${p.name}@${p.version}` === k)!.license}`));
  });

  test("a dependency with a denied licence is reported (a copy of the project with one GPL package)", () => {
    const root = mkdtempSync(join(tmpdir(), "gigastt-lic-"));
    try {
      for (const p of runtimePackages(lock)) cpSync(join(ROOT, "node_modules", p.name), join(root, "node_modules", p.name), { recursive: true });
      writeFileSync(join(root, "node_modules", "wav-decoder", "package.json"), JSON.stringify({ name: "wav-decoder", version: "1.3.0", license: "GPL-3.0-only" }));
      cpSync(join(ROOT, "bun.lock"), join(root, "bun.lock"));
      expect(deniedLicenses(root)).toEqual(["wav-decoder@1.3.0 GPL-3.0-only"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("SBOM", () => {
  test("release writes THIRD_PARTY_NOTICES and a CycloneDX SBOM next to SHA256SUMS: the executables, Bun, onnxruntime and every package with purl and hash", () => {
    const out = mkdtempSync(join(tmpdir(), "gigastt-sbom-"));
    try {
      mkdirSync(out, { recursive: true });
      const sha = "ab".repeat(32);
      writeFileSync(join(out, "SHA256SUMS"), `${sha}  gigastt-linux-x64\n${"cd".repeat(32)}  gigastt-darwin-arm64\n`);
      const paths = writeSupplyChain(out);
      expect(readFileSync(paths.notices, "utf8")).toBe(notices());
      const bom = JSON.parse(readFileSync(paths.sbom, "utf8")) as {
        bomFormat: string;
        specVersion: string;
        serialNumber: string;
        metadata: { component: { name: string; version: string } };
        components: { type: string; name: string; version: string; purl?: string; hashes?: { alg: string; content: string }[] }[];
      };
      expect(bom.bomFormat).toBe("CycloneDX");
      expect(bom.specVersion).toBe("1.5");
      expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(bom.metadata.component).toMatchObject({ name: "gigastt", version: pkg.version });
      const files = bom.components.filter((c) => c.type === "file");
      expect(files.map((f) => [f.name, f.hashes?.[0]?.content])).toEqual([
        ["gigastt-linux-x64", sha],
        ["gigastt-darwin-arm64", "cd".repeat(32)],
      ]);
      expect(bom.components.find((c) => c.name === "bun")?.version).toBe(PINNED_BUN);
      const libs = bom.components.filter((c) => c.purl);
      expect(libs.map((c) => `${c.name}@${c.version}`).sort()).toEqual(embeddedPackages().map((p) => `${p.name}@${p.version}`).sort());
      for (const p of runtimePackages(lock)) {
        const c = libs.find((x) => x.name === p.name && x.version === p.version)!;
        expect(c.purl).toBe(`pkg:npm/${p.name.replace(/^@/, "%40")}@${p.version}`);
        expect(c.hashes?.[0]?.alg).toBe("SHA-512");
        expect(Buffer.from(c.hashes![0]!.content, "hex").toString("base64")).toBe(p.integrity.replace(/^sha512-/, ""));
      }
      // a second SBOM differs only in serial number and time
      const again = sbom(readFileSync(join(out, "SHA256SUMS"), "utf8"));
      expect((again.components as unknown[]).length).toBe(bom.components.length);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
