/**
 * Release targets and the onnxruntime native files each one embeds.
 *
 * The files are found from the addon itself: its DT_NEEDED (ELF) or
 * `@rpath/…` LC_LOAD_DYLIB (Mach-O) entries name the onnxruntime library it
 * links against through RUNPATH `$ORIGIN` / `@loader_path`, so exactly those
 * are embedded and extracted side by side (no duplicate versioned dylib).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bundleHash } from "../../src/runtime/native.ts";
import { parseElf } from "./build-elf.ts";
import { ensurePinnedPackages, ORT_DARWIN_X64 } from "./build-ort.ts";
import { parseMacho } from "./build-macho.ts";

export type TargetName = "linux-x64" | "linux-arm64" | "darwin-arm64" | "darwin-x64";
export const TARGET_NAMES: readonly TargetName[] = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"];

export interface Target {
  readonly name: TargetName;
  readonly os: "linux" | "darwin";
  readonly arch: "x64" | "arm64";
  /** `bun build --compile --target` */
  readonly bunTarget: string;
  /** the executable's file name in dist/ */
  readonly artifact: string;
}

export function target(name: TargetName): Target {
  const [os, arch] = name.split("-") as [Target["os"], Target["arch"]];
  return { name, os, arch, bunTarget: `bun-${name}`, artifact: `gigastt-${name}` };
}

export function isTargetName(s: string): s is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(s);
}

export interface NativeFile {
  readonly name: string;
  /** absolute path of the source file */
  readonly source: string;
  readonly sha256: string;
  readonly size: number;
}

export interface OrtForTarget {
  /** the `node_modules` folder holding onnxruntime-node (and its onnxruntime-common) */
  readonly nodeModules: string;
  /** the onnxruntime-node package folder */
  readonly packageDir: string;
  readonly version: string;
  /** whether the project's own node_modules is used (false: a pinned package from .cache) */
  readonly projectPackage: boolean;
  readonly addon: NativeFile;
  /** addon first, then the libraries it links */
  readonly files: readonly NativeFile[];
  /** folder name for the extracted files: `ort-<version>-<target>-<hash>` */
  readonly bundleId: string;
}

function nativeFile(dir: string, name: string): NativeFile {
  const source = join(dir, name);
  if (!existsSync(source)) throw new Error(`missing native file ${source}`);
  const bytes = readFileSync(source);
  return { name, source, sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
}

/** Libraries the addon loads from its own folder (via `$ORIGIN` / `@loader_path`). */
export function addonDependencies(addonBytes: Uint8Array, os: Target["os"]): string[] {
  if (os === "linux") {
    const elf = parseElf(addonBytes);
    if (!elf.runpath.includes("$ORIGIN") && !elf.runpath.includes("$ORIGIN/")) throw new Error(`addon RUNPATH ${JSON.stringify(elf.runpath)} does not include $ORIGIN`);
    return elf.needed.filter((n) => n.startsWith("libonnxruntime"));
  }
  const m = parseMacho(addonBytes);
  if (!m.rpaths.includes("@loader_path") && !m.rpaths.includes("@loader_path/")) throw new Error(`addon rpaths ${JSON.stringify(m.rpaths)} do not include @loader_path`);
  return m.dylibs.filter((d) => d.startsWith("@rpath/")).map((d) => d.slice("@rpath/".length));
}

/**
 * The onnxruntime-node package and native files for `t`: the project's
 * node_modules, or for darwin-x64 the pinned 1.23.2 package (fetched into
 * `cacheRoot` on first use).
 */
export function ortForTarget(
  t: Target,
  projectRoot: string,
  cacheRoot = join(projectRoot, ".cache", "ort"),
  /** use the pinned darwin-x64 package (1.23.2) for this target too: lets a linux-x64 build run that wrapper here */
  forcePinned = false,
): OrtForTarget {
  let nodeModules = join(projectRoot, "node_modules");
  let projectPackage = true;
  if (t.name === "darwin-x64" || forcePinned) {
    nodeModules = ensurePinnedPackages(ORT_DARWIN_X64, cacheRoot);
    projectPackage = false;
  }
  const packageDir = join(nodeModules, "onnxruntime-node");
  const version = (JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string }).version;
  const binDir = join(packageDir, "bin", "napi-v6", t.os, t.arch);
  const addon = nativeFile(binDir, "onnxruntime_binding.node");
  const deps = addonDependencies(readFileSync(addon.source), t.os);
  if (deps.length === 0) throw new Error(`${addon.source} links no onnxruntime library`);
  const files = [addon, ...deps.map((d) => nativeFile(binDir, d))];
  const bundleId = `ort-${version}-${t.name}-${bundleHash(files)}`;
  return { nodeModules, packageDir, version, projectPackage, addon, files, bundleId };
}
