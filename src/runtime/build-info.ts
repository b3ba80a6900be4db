/**
 * What `gigastt --version` reports: package version, git commit, onnxruntime
 * version and target. The compiled executable gets these as constants from
 * `bun build --define` (scripts/compile.ts); under `bun src/main.ts` they are
 * read from the checkout (git) and node_modules, without loading onnxruntime.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import pkg from "../../package.json" with { type: "json" };

declare const GIGASTT_COMMIT: string;
declare const GIGASTT_ORT_VERSION: string;
declare const GIGASTT_TARGET: string;

export interface BuildInfo {
  readonly version: string;
  /** short git commit, "unknown" outside a checkout */
  readonly commit: string;
  readonly onnxruntime: string;
  /** "linux-x64", ... */
  readonly target: string;
  /** true inside the `bun build --compile` executable */
  readonly compiled: boolean;
}

function devCommit(): string {
  try {
    const r = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: import.meta.dir, encoding: "utf8", timeout: 2000 });
    const s = r.status === 0 ? r.stdout.trim() : "";
    return /^[0-9a-f]{7,40}$/.test(s) ? s : "unknown";
  } catch {
    return "unknown";
  }
}

function devOrtVersion(): string {
  try {
    const path = Bun.resolveSync("onnxruntime-node/package.json", import.meta.dir);
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const compiled = typeof GIGASTT_COMMIT === "string";
  cached = Object.freeze({
    version: pkg.version,
    commit: compiled ? GIGASTT_COMMIT : devCommit(),
    onnxruntime: typeof GIGASTT_ORT_VERSION === "string" ? GIGASTT_ORT_VERSION : devOrtVersion(),
    target: typeof GIGASTT_TARGET === "string" ? GIGASTT_TARGET : `${process.platform}-${process.arch}`,
    compiled,
  });
  return cached;
}

/** The `--version` text after the program name: `0.1.0 (commit 1a2b3c4d5e6f, onnxruntime 1.30.0, linux-x64)`. */
export function versionString(info: BuildInfo = buildInfo()): string {
  return `${info.version} (commit ${info.commit}, onnxruntime ${info.onnxruntime}, ${info.target}${info.compiled ? "" : ", source"})`;
}
