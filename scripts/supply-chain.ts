#!/usr/bin/env bun
/**
 * Supply-chain checks and documents (scripts/lib/supply-chain.ts):
 *
 *   bun scripts/supply-chain.ts licenses        every runtime dependency's licence on the allowlist (exit 1 otherwise)
 *   bun scripts/supply-chain.ts notices [FILE]  write THIRD_PARTY_NOTICES (default: the repository root)
 *   bun scripts/supply-chain.ts sbom SUMS OUT   CycloneDX SBOM of the executables listed in SUMS (SHA256SUMS)
 *   bun scripts/supply-chain.ts audit           `bun audit` against the npm advisory database (exit 1 on findings)
 *
 * `.ci/run` runs `licenses`, `audit`, and the test that checks THIRD_PARTY_NOTICES is current;
 * `bun run release` ships THIRD_PARTY_NOTICES and writes the SBOM next to SHA256SUMS.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { ORT_DARWIN_X64 } from "./lib/build-ort.ts";
import { parseSums } from "./lib/build-sums.ts";
import { cycloneDx, type InstalledPackage, installed, LICENSE_ALLOWLIST, LICENSE_EXCEPTIONS, licenseAllowed, mitText, nativeComponents, noticesText, parseLock, runtimePackages } from "./lib/supply-chain.ts";

export const ROOT = join(import.meta.dir, "..");
export const NOTICES_FILE = "THIRD_PARTY_NOTICES";
export const SBOM_FILE = "gigastt.cdx.json";
/** Bun version the executables are built with (scripts/release.ts PINNED_BUN) */
const BUN = "1.4.5";

/** the npm packages the executables carry: the runtime closure, plus the darwin-x64 build's pinned onnxruntime-node */
export function embeddedPackages(root = ROOT): InstalledPackage[] {
  const lock = parseLock(readFileSync(join(root, "bun.lock"), "utf8"));
  const own = installed(runtimePackages(lock), join(root, "node_modules"));
  const pinned: InstalledPackage[] = ORT_DARWIN_X64.map((p) => ({
    name: p.name,
    version: p.version,
    integrity: p.integrity,
    dependencies: {},
    license: "MIT",
    licenseText: mitText("Microsoft Corporation"),
    homepage: "https://github.com/microsoft/onnxruntime",
  }));
  return [...own, ...pinned].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

export function ortVersions(packages: readonly InstalledPackage[]): string[] {
  return [...new Set(packages.filter((p) => p.name === "onnxruntime-node").map((p) => p.version))].sort();
}

export function notices(root = ROOT): string {
  const packages = embeddedPackages(root);
  return noticesText({ product: pkg.name, version: pkg.version, natives: nativeComponents(BUN, ortVersions(packages)), packages });
}

export function sbom(sumsText: string, root = ROOT, now = new Date()): Record<string, unknown> {
  const packages = embeddedPackages(root);
  return cycloneDx({
    product: pkg.name,
    version: pkg.version,
    natives: nativeComponents(BUN, ortVersions(packages)),
    packages,
    artifacts: parseSums(sumsText),
    serial: crypto.randomUUID(),
    timestamp: now.toISOString(),
  });
}

/** licences off the allowlist and not a pinned exception: `name@version licence` lines (empty = all allowed) */
export function deniedLicenses(root = ROOT, exceptions: Readonly<Record<string, string>> = LICENSE_EXCEPTIONS): string[] {
  return embeddedPackages(root)
    .filter((p) => !licenseAllowed(p.license) && !(`${p.name}@${p.version}` in exceptions))
    .map((p) => `${p.name}@${p.version} ${p.license ?? "(none declared)"}`);
}

if (import.meta.main) {
  const [cmd, a, b] = Bun.argv.slice(2);
  switch (cmd) {
    case "licenses": {
      const denied = deniedLicenses();
      if (denied.length > 0) {
        console.error(`licences not on the allowlist (${[...LICENSE_ALLOWLIST].join(", ")}):\n  ${denied.join("\n  ")}`);
        process.exit(1);
      }
      const excepted = Object.keys(LICENSE_EXCEPTIONS).filter((k) => embeddedPackages().some((p) => `${p.name}@${p.version}` === k));
      console.error(`licences: ${embeddedPackages().length} runtime packages, all on the allowlist${excepted.length ? ` or pinned exceptions (${excepted.join(", ")})` : ""}`);
      break;
    }
    case "notices": {
      const out = a ?? join(ROOT, NOTICES_FILE);
      writeFileSync(out, notices());
      console.error(`wrote ${out}`);
      break;
    }
    case "sbom": {
      if (!a || !b) {
        console.error("usage: bun scripts/supply-chain.ts sbom SHA256SUMS OUT");
        process.exit(2);
      }
      writeFileSync(b, `${JSON.stringify(sbom(readFileSync(a, "utf8")), null, 2)}\n`);
      console.error(`wrote ${b}`);
      break;
    }
    case "audit": {
      const r = Bun.spawnSync(["bun", "audit"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      const text = `${r.stdout.toString()}${r.stderr.toString()}`.trim();
      console.error(text);
      // the advisory service itself failing (HTTP error, no network) is not a finding: say so loudly
      const unreachable = /error: (POST|GET) https?:\/\/\S+ - \d{3}|ConnectionRefused|Unable to connect|ENOTFOUND|timed out/i.test(text);
      if (r.exitCode !== 0 && unreachable) {
        console.error("audit: the npm advisory service could not be reached from here; NO AUDIT WAS DONE (set GIGASTT_AUDIT_REQUIRED=1 to fail on this)");
        process.exit(process.env.GIGASTT_AUDIT_REQUIRED === "1" ? 1 : 0);
      }
      process.exit(r.exitCode ?? 1);
    }
    default:
      console.error("usage: bun scripts/supply-chain.ts licenses | notices [FILE] | sbom SHA256SUMS OUT | audit");
      process.exit(2);
  }
}
