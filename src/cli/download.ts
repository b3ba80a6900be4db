/**
 * `gigastt download`: fetch and verify the model (pinned catalog or `--manifest`),
 * print where it went.
 */
import { existsSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { defineCommand } from "citty";
import { resolveModelDir } from "../model/files.ts";
import { type EnsureOptions, syncModel } from "../store/ensure.ts";
import { warningsOn } from "../log.ts";
import { MODEL_FILE_NAMES } from "../model/files.ts";
import { INT8_ENCODER } from "../quantize/file.ts";
import { ensureExactInt8Encoder } from "../quantize/safe.ts";
import { cpuInt8Features } from "../runtime/cpu.ts";
import { type Env, resolveOffline, resolvePrecision, resolveSkipQuantize } from "../store/env.ts";
import { readLock } from "../store/lockfile.ts";
import { formatBytes } from "../store/progress.ts";

export interface DownloadArgs {
  readonly precision?: string;
  readonly modelDir?: string;
  readonly manifest?: string;
  readonly offline?: boolean;
  readonly quiet?: boolean;
  readonly skipQuantize?: boolean;
}

export interface StoreCliDeps {
  readonly env?: Env;
  readonly stdout?: (s: string) => void;
  readonly stderr?: (s: string) => void;
  readonly tty?: boolean;
  /** test hooks: network timeouts/retry policy, lock polling */
  readonly net?: EnsureOptions["net"];
  readonly lockPollMs?: number;
  readonly freeBytes?: (dir: string) => number;
}

export async function runDownload(args: DownloadArgs, deps: StoreCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const stdout = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const precision = resolvePrecision(args.precision, env);
  const modelDir = resolveModelDir(args.modelDir, env);
  const report = await syncModel({
    modelDir,
    precision,
    offline: resolveOffline(args.offline, env),
    manifest: args.manifest,
    quiet: args.quiet,
    env,
    warnings: warningsOn(),
    ...(deps.stderr ? { stderr: deps.stderr } : {}),
    ...(deps.tty !== undefined ? { tty: deps.tty } : {}),
    ...(deps.net ? { net: deps.net } : {}),
    ...(deps.lockPollMs !== undefined ? { lockPollMs: deps.lockPollMs } : {}),
    ...(deps.freeBytes ? { freeBytes: deps.freeBytes } : {}),
  });
  const lock = readLock(report.dir);
  const what = report.catalog.source === "builtin" ? precision : `manifest ${report.catalog.source}`;
  const lines = report.catalog.files.map((f) => {
    const entry = lock?.files[f.name];
    const status = report.downloaded.includes(f.name)
      ? "downloaded, verified"
      : report.adopted.includes(f.name)
        ? "verified"
        : report.unverified.includes(f.name) || !entry
        ? "present, unverified"
        : "verified";
    return `  ${f.name}  ${entry ? formatBytes(entry.size) : ""}  ${status}`;
  });
  stdout(`model (${what}) ready in ${report.dir}\n${lines.join("\n")}\n`);
  // like the Rust server's download: the int8 encoder (here the dynamic one `serve` runs partials on)
  if (precision === "fp32" && !resolveSkipQuantize(args.skipQuantize, env) && existsSync(join(report.dir, MODEL_FILE_NAMES.encoder))) {
    const stderr = deps.stderr ?? ((s: string) => void process.stderr.write(s));
    try {
      // the same decision serve makes (exact on this CPU), so serve finds the file ready
      const q = ensureExactInt8Encoder({
        path: join(report.dir, INT8_ENCODER.dynamic),
        fp32Source: join(report.dir, MODEL_FILE_NAMES.encoder),
        saturates: cpuInt8Features().u8s8Saturates,
        create: true,
      });
      if (q.note) stderr(`${q.note}\n`);
      if (q.path) {
        const made = q.action === "used" ? "present" : `created by quantization (${q.seconds.toFixed(1)} s)`;
        stdout(`  ${basename(q.path)}  ${formatBytes(statSync(q.path).size)}  ${made}, for streaming partials\n`);
      }
    } catch (e) {
      if (warningsOn()) stderr(`warning: could not create ${INT8_ENCODER.dynamic} (${e instanceof Error ? e.message : String(e)}); streaming partials will use the fp32 encoder\n`);
    }
  }
  return 0;
}

export function makeDownloadCommand(deps: StoreCliDeps = {}) {
  return defineCommand({
    meta: { name: "download", description: "Download and verify the GigaAM v3 model (pinned revision, SHA-256 checked, resumable)" },
    args: {
      precision: { type: "enum", options: ["fp32", "int8"], description: "Model precision (default $GIGASTT_PRECISION or fp32)", valueHint: "PRECISION" },
      "model-dir": { type: "string", description: "Model directory (default $GIGASTT_MODEL_DIR or ~/.gigastt/models)", valueHint: "DIR" },
      manifest: { type: "string", description: "JSON manifest {repo, revision, files:[{name,size,sha256}]} replacing the built-in catalog", valueHint: "FILE" },
      offline: { type: "boolean", description: "Never download: only verify what is present (also GIGASTT_OFFLINE=1)" },
      quiet: { type: "boolean", description: "No progress output" },
      "skip-quantize": { type: "boolean", description: "Do not create the int8 encoder for streaming partials (GIGASTT_SKIP_QUANTIZE)" },
    },
    run: ({ args }) =>
      runDownload(
        {
          precision: args.precision as string | undefined,
          modelDir: args["model-dir"],
          manifest: args.manifest,
          offline: args.offline,
          quiet: args.quiet,
          skipQuantize: args["skip-quantize"],
        },
        deps,
      ),
  });
}

export default makeDownloadCommand();
