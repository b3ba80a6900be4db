/**
 * Where each target's onnxruntime-node package comes from.
 *
 * onnxruntime-node 1.30.0 (the project's dependency) ships CPU binaries for
 * linux x64/arm64, darwin arm64 and win32, but no longer darwin x64: the last
 * release with `bin/napi-v6/darwin/x64` is 1.23.2. The addon's N-API ABI is
 * tied to its own JS wrapper (1.30's binding.js passes an extra argument to
 * `initOrtOnce`), so the darwin-x64 build uses the whole 1.23.2 package
 * (wrapper + onnxruntime-common 1.23.2 + native files). It is fetched with
 * `npm pack` into `.cache/ort/<version>/node_modules/`, checked against the
 * registry integrity pinned here, and unpacked once.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface PinnedPackage {
  readonly name: string;
  readonly version: string;
  /** npm `dist.integrity` (sha512, base64) of the registry tarball */
  readonly integrity: string;
}

/** onnxruntime-node 1.23.2 with its matching onnxruntime-common (for darwin-x64). */
export const ORT_DARWIN_X64: readonly PinnedPackage[] = [
  {
    name: "onnxruntime-node",
    version: "1.23.2",
    integrity: "sha512-OBTsG0W8ddBVOeVVVychpVBS87A9YV5sa2hJ6lc025T97Le+J4v++PwSC4XFs1C62SWyNdof0Mh4KvnZgtt4aw==",
  },
  {
    name: "onnxruntime-common",
    version: "1.23.2",
    integrity: "sha512-5LFsC9Dukzp2WV6kNHYLNzp8sT6V02IubLCbzw2Xd6X5GOlr65gAX6xiJwyi2URJol/s71gaQLC5F2C25AAR2w==",
  },
];

export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
}

function run(cmd: string[], cwd: string): void {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, npm_config_update_notifier: "false" } });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().trim().slice(-2000)}`);
}

/**
 * Makes `<cacheRoot>/<version>/node_modules/<name>` exist for every pinned
 * package (download with `npm pack`, verify integrity, unpack) and returns
 * the `node_modules` folder. A tarball whose integrity differs from the pin
 * is deleted and nothing is unpacked. `registry` overrides npm's (tests).
 */
export function ensurePinnedPackages(pkgs: readonly PinnedPackage[], cacheRoot: string, opts: { registry?: string } = {}): string {
  const version = pkgs[0]!.version;
  const base = join(cacheRoot, version);
  const nm = join(base, "node_modules");
  const tarballs = join(base, "tarballs");
  mkdirSync(tarballs, { recursive: true });
  for (const p of pkgs) {
    const dest = join(nm, p.name);
    const stamp = join(dest, ".gigastt-integrity");
    if (existsSync(stamp) && readFileSync(stamp, "utf8") === p.integrity) continue;
    const tgz = join(tarballs, `${p.name}-${p.version}.tgz`);
    if (!existsSync(tgz) || integrityOf(readFileSync(tgz)) !== p.integrity) {
      rmSync(tgz, { force: true });
      run(["npm", "pack", `${p.name}@${p.version}`, "--pack-destination", tarballs, "--silent", ...(opts.registry ? ["--registry", opts.registry] : [])], base);
    }
    const got = integrityOf(readFileSync(tgz));
    if (got !== p.integrity) {
      rmSync(tgz, { force: true });
      throw new Error(`${p.name}@${p.version}: tarball integrity ${got} does not match the pinned ${p.integrity}`);
    }
    const tmp = join(base, `.unpack-${p.name}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    run(["tar", "-xzf", tgz, "-C", tmp], base);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(nm, { recursive: true });
    renameSync(join(tmp, "package"), dest);
    rmSync(tmp, { recursive: true, force: true });
    writeFileSync(stamp, p.integrity);
  }
  return nm;
}
