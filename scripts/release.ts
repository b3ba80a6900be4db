#!/usr/bin/env bun
/**
 * `bun run release`: compile every target (always fresh), write
 * dist/SHA256SUMS, then generate the Homebrew formula dist/gigastt.rb from
 * those sums, copy scripts/install.sh to dist/install.sh, write
 * dist/THIRD_PARTY_NOTICES (every component the executables embed) and the
 * CycloneDX SBOM dist/gigastt.cdx.json next to SHA256SUMS, so dist/ is
 * exactly what a GitHub release carries.
 *
 *   bun scripts/release.ts [--outdir dist] [--repo owner/name] [--base-url URL] [--formula-only] [--any-bun]
 *
 * `--formula-only` regenerates the formula from an existing dist/SHA256SUMS.
 * GIGASTT_REPO sets the default owner/name (gigastt/gigastt).
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../package.json" with { type: "json" };
import { compileAll, parseTargets, ROOT } from "./compile.ts";
import { DEFAULT_REPO, formulaFromSums } from "./lib/build-formula.ts";
import { parseSums } from "./lib/build-sums.ts";
import { NOTICES_FILE, notices, SBOM_FILE, sbom } from "./supply-chain.ts";

/**
 * The Bun release builds are made with: its darwin-arm64 output carries a valid
 * ad-hoc signature (checked page by page); its darwin-x64 output does not and is
 * re-signed by scripts/lib/build-macho.ts (no Bun up to 1.4.5 gets that right).
 * Same pin as .ci/run and the Dockerfile.
 */
export const PINNED_BUN = "1.4.5";

export function writeFormula(outdir: string, opts: { repo: string; baseUrl?: string; version?: string }): string {
  const sums = parseSums(readFileSync(join(outdir, "SHA256SUMS"), "utf8"));
  const rb = formulaFromSums(sums, { version: opts.version ?? pkg.version, repo: opts.repo, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}) });
  const path = join(outdir, "gigastt.rb");
  writeFileSync(path, rb);
  return path;
}

/** dist/THIRD_PARTY_NOTICES and the CycloneDX SBOM of the executables in dist/SHA256SUMS; returns both paths */
export function writeSupplyChain(outdir: string): { notices: string; sbom: string } {
  const noticesPath = join(outdir, NOTICES_FILE);
  writeFileSync(noticesPath, notices());
  const sbomPath = join(outdir, SBOM_FILE);
  writeFileSync(sbomPath, `${JSON.stringify(sbom(readFileSync(join(outdir, "SHA256SUMS"), "utf8")), null, 2)}\n`);
  return { notices: noticesPath, sbom: sbomPath };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      outdir: { type: "string", default: join(ROOT, "dist") },
      repo: { type: "string", default: process.env.GIGASTT_REPO || DEFAULT_REPO },
      "base-url": { type: "string" },
      "formula-only": { type: "boolean", default: false },
      "any-bun": { type: "boolean", default: false },
    },
    strict: true,
  });
  try {
    if (!values["formula-only"] && Bun.version !== PINNED_BUN && !values["any-bun"])
      throw new Error(`release builds use Bun ${PINNED_BUN} (this is ${Bun.version}): npm install -g bun@${PINNED_BUN}, or pass --any-bun`);
    const outdir = values.outdir!;
    if (!values["formula-only"]) await compileAll({ targets: parseTargets(undefined, { all: true }), outdir });
    const formula = writeFormula(outdir, { repo: values.repo!, ...(values["base-url"] ? { baseUrl: values["base-url"] } : {}) });
    copyFileSync(join(ROOT, "scripts", "install.sh"), join(outdir, "install.sh"));
    const supply = writeSupplyChain(outdir);
    process.stderr.write(`release ${pkg.version}: ${join(outdir, "SHA256SUMS")}, ${formula}, ${join(outdir, "install.sh")}, ${supply.notices}, ${supply.sbom}\n`);
  } catch (e) {
    process.stderr.write(`release: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
