#!/usr/bin/env bun
/**
 * `bun run compile`: a self-contained executable for this machine in dist/
 * (`gigastt-<os>-<arch>`) plus `dist/SHA256SUMS`; `--all` builds every
 * release target (four executables, ≈ 570 MB, three more Bun runtimes
 * downloaded), as `bun run release` does.
 *
 *   bun scripts/compile.ts [--all | --target linux-x64[,darwin-arm64…]] [--outdir dist] [--if-changed] [--ort-pinned]
 *
 * Each executable holds Bun, the CLI (src/main.ts), the inference Worker
 * (src/engine/worker.ts, a second entrypoint: embedded as `engine/worker.js`
 * under the bundle root, where src/engine/transcriber.ts's `workerUrl()`
 * looks for it), the quantize Worker (src/quantize/worker.ts, likewise found by
 * src/quantize/in-worker.ts's `quantizeWorkerUrl()`), the audio decode Worker
 * (src/audio/worker.ts, found by src/audio/remote.ts's `audioWorkerUrl()`), the VAD Worker
 * (src/engine/vad-worker.ts, found by src/engine/vad.ts's `vadWorkerUrl()`; the Silero weights are a
 * file import of src/model/vad.ts) and its own target's
 * onnxruntime addon + library (see scripts/lib/build-plugin.ts). darwin
 * executables get their code signature checked page by page and, where Bun
 * left it invalid (darwin-x64), replaced by a fresh ad-hoc one. Every
 * artifact is then checked (format, architecture, embedded native files).
 *
 * `--if-changed` skips a target whose artifact was built from the same
 * inputs (hash of sources, lockfile, Bun version: `dist/.stamp-<target>`);
 * the test suite uses it (with `--all`) so the four builds happen once.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { checkArtifact } from "./lib/build-check.ts";
import { adhocSign, verifyCodeSignature } from "./lib/build-macho.ts";
import { ortEmbedPlugin, writeEmbedModule } from "./lib/build-plugin.ts";
import { formatSums, sumsOf } from "./lib/build-sums.ts";
import { isTargetName, ortForTarget, target, TARGET_NAMES, type Target, type TargetName } from "./lib/build-targets.ts";

export const ROOT = join(import.meta.dir, "..");

function listFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listFiles(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Hash of everything that goes into an executable (sources, build scripts, lockfile, Bun version, target). */
export function inputsHash(root: string, t: Target): string {
  const h = createHash("sha256");
  h.update(`bun ${Bun.version}\ntarget ${t.name}\n`);
  const files = [
    ...listFiles(join(root, "src")).filter((p) => !p.endsWith(".test.ts")),
    join(root, "scripts", "compile.ts"),
    ...listFiles(join(root, "scripts", "lib")).filter((p) => /[\\/]build-[^\\/]+\.ts$/.test(p) && !p.endsWith(".test.ts")),
    join(root, "package.json"),
    join(root, "bun.lock"),
  ].sort();
  for (const f of files) {
    if (!existsSync(f)) continue;
    h.update(`${relative(root, f)}\0`);
    h.update(readFileSync(f));
    h.update("\0");
  }
  return h.digest("hex");
}

/** Short commit for --version: `GIGASTT_COMMIT` when given (Docker builds have no .git), else git (+"-dirty"). */
export function gitCommit(root: string, env: Record<string, string | undefined> = process.env): string {
  const given = env.GIGASTT_COMMIT;
  if (given && given !== "unknown") {
    if (!/^[0-9A-Za-z._-]{1,64}$/.test(given)) throw new Error(`GIGASTT_COMMIT '${given}' is not a commit id`);
    return given;
  }
  const r = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" });
  const commit = r.status === 0 ? r.stdout.trim() : "";
  if (!/^[0-9a-f]{7,40}$/.test(commit)) return "unknown";
  const dirty = spawnSync("git", ["diff", "--quiet", "HEAD", "--", "src", "package.json", "bun.lock"], { cwd: root }).status === 1;
  return dirty ? `${commit}-dirty` : commit;
}

export interface CompileResult {
  readonly target: TargetName;
  readonly path: string;
  readonly skipped: boolean;
  readonly ortVersion: string;
  readonly resigned: boolean;
  readonly seconds: number;
}

export async function compileTarget(t: Target, opts: { outdir: string; ifChanged?: boolean; ortPinned?: boolean; log?: (s: string) => void }): Promise<CompileResult> {
  const log = opts.log ?? ((s: string) => void process.stderr.write(`${s}\n`));
  const started = performance.now();
  const out = join(opts.outdir, t.artifact);
  const stampPath = join(opts.outdir, `.stamp-${t.name}`);
  const stamp = `${inputsHash(ROOT, t)}${opts.ortPinned ? "-ort-pinned" : ""}`;
  const ort = ortForTarget(t, ROOT, undefined, opts.ortPinned ?? false);
  if (opts.ifChanged && existsSync(out) && existsSync(stampPath) && readFileSync(stampPath, "utf8") === stamp) {
    log(`${t.artifact}: up to date`);
    return { target: t.name, path: out, skipped: true, ortVersion: ort.version, resigned: false, seconds: 0 };
  }
  const buildDir = join(ROOT, ".cache", "build");
  const embed = writeEmbedModule(opts.ortPinned ? { ...t, name: `${t.name}-ort-pinned` as TargetName } : t, ort, buildDir, join(ROOT, "src", "runtime", "native.ts"));
  const entrypoints = [join(ROOT, "src", "main.ts")];
  // the Workers: inference (src/engine/worker.ts), the int8 quantizer `serve` runs off its event loop,
  // compressed-audio decoding (src/audio/worker.ts) and the Silero VAD (src/engine/vad-worker.ts, its weights embedded)
  for (const w of [join(ROOT, "src", "engine", "worker.ts"), join(ROOT, "src", "quantize", "worker.ts"), join(ROOT, "src", "audio", "worker.ts"), join(ROOT, "src", "engine", "vad-worker.ts")])
    if (existsSync(w)) entrypoints.push(w);
  // built under its final name (Bun names the embedded main module after it), then moved into place
  const tmpDir = join(opts.outdir, `.tmp-${t.name}-${process.pid}`);
  const tmpOut = join(tmpDir, t.artifact);
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const result = await Bun.build({
    entrypoints,
    compile: { target: t.bunTarget as Bun.Build.CompileTarget, outfile: tmpOut },
    minify: { whitespace: true, syntax: true, identifiers: false },
    plugins: [ortEmbedPlugin(ort, embed)],
    define: {
      GIGASTT_COMMIT: JSON.stringify(gitCommit(ROOT)),
      GIGASTT_ORT_VERSION: JSON.stringify(ort.version),
      GIGASTT_TARGET: JSON.stringify(t.name),
    },
  });
  if (!result.success) {
    rmSync(tmpDir, { recursive: true, force: true });
    throw new Error(`${t.name}: bun build failed:\n${result.logs.map((l) => String(l)).join("\n")}`);
  }
  let resigned = false;
  if (t.os === "darwin") {
    const bytes = new Uint8Array(readFileSync(tmpOut));
    try {
      verifyCodeSignature(bytes);
    } catch (e) {
      log(`${t.artifact}: Bun ${Bun.version} left an invalid code signature (${(e as Error).message}); signing ad hoc`);
      writeFileSync(tmpOut, adhocSign(bytes, "gigastt"), { mode: 0o755 });
      resigned = true;
    }
  }
  try {
    checkArtifact(tmpOut, t, ort.files);
    renameSync(tmpOut, out);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  writeFileSync(stampPath, stamp);
  const seconds = (performance.now() - started) / 1000;
  log(`${t.artifact}: ${(statSync(out).size / 1e6).toFixed(1)} MB, onnxruntime ${ort.version} (${ort.files.map((f) => f.name).join(" + ")})${resigned ? ", re-signed ad hoc" : ""}, ${seconds.toFixed(1)} s`);
  return { target: t.name, path: out, skipped: false, ortVersion: ort.version, resigned, seconds };
}

/** Writes SHA256SUMS over every `gigastt-<target>` executable present in `outdir`. */
export function writeSums(outdir: string): string {
  const present = TARGET_NAMES.map((n) => join(outdir, target(n).artifact)).filter((p) => existsSync(p));
  const path = join(outdir, "SHA256SUMS");
  writeFileSync(path, formatSums(sumsOf(present)));
  return path;
}

/** The release target of the machine running the build (`linux-x64`, …), or null when it is none of them. */
export function hostTarget(platform: string = process.platform, arch: string = process.arch): TargetName | null {
  const name = `${platform}-${arch}`;
  return isTargetName(name) ? name : null;
}

/**
 * `--target` values (comma lists, repeatable) → targets. None given: every
 * target with `all`, else the host's.
 */
export function parseTargets(values: readonly string[] | undefined, opts: { all?: boolean; host?: TargetName | null } = { all: true }): Target[] {
  const names = (values ?? []).flatMap((v) => v.split(",")).map((s) => s.trim()).filter(Boolean);
  if (names.length > 0 && opts.all) throw new Error("--all and --target exclude each other");
  if (names.length === 0) {
    if (opts.all) return TARGET_NAMES.map(target);
    const host = opts.host === undefined ? hostTarget() : opts.host;
    if (!host) throw new Error(`this machine (${process.platform}-${process.arch}) is not a release target: pass --target (known: ${TARGET_NAMES.join(", ")}) or --all`);
    return [target(host)];
  }
  for (const n of names) if (!isTargetName(n)) throw new Error(`unknown target '${n}' (known: ${TARGET_NAMES.join(", ")})`);
  return [...new Set(names as TargetName[])].map(target);
}

export async function compileAll(opts: { targets: Target[]; outdir: string; ifChanged?: boolean; ortPinned?: boolean }): Promise<CompileResult[]> {
  mkdirSync(opts.outdir, { recursive: true });
  const results: CompileResult[] = [];
  for (const t of opts.targets) results.push(await compileTarget(t, opts));
  writeSums(opts.outdir);
  return results;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      target: { type: "string", multiple: true },
      // every release target (what `bun run release` builds); the default is this machine's
      all: { type: "boolean", default: false },
      outdir: { type: "string", default: join(ROOT, "dist") },
      "if-changed": { type: "boolean", default: false },
      // test aid: build with the pinned darwin-x64 onnxruntime-node package (1.23.2) for any target,
      // so its JS wrapper + addon pairing can be run on this machine (test/ship/ort-pinned.test.ts)
      "ort-pinned": { type: "boolean", default: false },
    },
    strict: true,
  });
  try {
    await compileAll({ targets: parseTargets(values.target, { all: values.all }), outdir: values.outdir!, ifChanged: values["if-changed"], ortPinned: values["ort-pinned"] });
  } catch (e) {
    process.stderr.write(`compile: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
