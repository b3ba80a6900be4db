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
import { createNdjsonProgress, formatBytes } from "../store/progress.ts";
import { GigasttError, isGigasttError } from "../errors.ts";
import { MODEL_VARIANTS, refuseVariant } from "../server/flag-schema.ts";

export interface DownloadArgs {
  readonly precision?: string;
  /** Rust 2.15: `e2e_rnnt` only (its `rnnt`, `ml_ctc`, `ml_ctc_large` → feature_unavailable); GIGASTT_MODEL_VARIANT */
  readonly modelVariant?: string;
  /** Rust 2.15: the fp32 set (= --precision fp32) */
  readonly fp32?: boolean;
  /** Rust 2.15: the pre-quantized int8 set (= --precision int8), ignored with --fp32 */
  readonly prequantized?: boolean;
  /** Rust 2.15: `human` (default) or `json` (NDJSON events on stdout); GIGASTT_DOWNLOAD_PROGRESS */
  readonly progress?: string;
  /** Rust 2.15's Apple Neural Engine packages: not here */
  readonly ane?: boolean;
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

/** Rust 2.15's download flags, mapped onto ours (or refused in one line). */
function rustDownloadFlags(args: DownloadArgs, env: Env): { precision: string | undefined; json: boolean } {
  const variant = args.modelVariant ?? (env.GIGASTT_MODEL_VARIANT?.trim() || undefined);
  if (variant !== undefined) {
    const from = args.modelVariant !== undefined ? `--model-variant ${variant}` : `GIGASTT_MODEL_VARIANT=${variant}`;
    if (!(MODEL_VARIANTS as readonly string[]).includes(variant.trim().toLowerCase()))
      throw new GigasttError("usage", `invalid value '${variant}' for '${args.modelVariant !== undefined ? "--model-variant" : "GIGASTT_MODEL_VARIANT"}': expected ${MODEL_VARIANTS.join(", ")}`);
    const why = refuseVariant(variant);
    if (why) throw new GigasttError("feature_unavailable", `${from}: ${why}`);
  }
  if (args.ane) throw new GigasttError("feature_unavailable", "--ane: the Apple Neural Engine (Core ML) encoder packages belong to the Rust gigastt's macOS builds; this server runs onnxruntime on the CPU: remove it");
  let precision = args.precision;
  if (args.fp32) {
    if (precision !== undefined && precision !== "fp32") throw new GigasttError("usage", `'--fp32' and '--precision ${precision}' disagree: give one`);
    precision = "fp32";
  } else if (args.prequantized) {
    if (precision !== undefined && precision !== "int8") throw new GigasttError("usage", `'--prequantized' and '--precision ${precision}' disagree: give one`);
    precision = "int8";
  }
  const progress = (args.progress ?? (env.GIGASTT_DOWNLOAD_PROGRESS?.trim() || "human")).toLowerCase();
  if (progress !== "human" && progress !== "json")
    throw new GigasttError("usage", `invalid value '${args.progress ?? env.GIGASTT_DOWNLOAD_PROGRESS}' for '${args.progress !== undefined ? "--progress" : "GIGASTT_DOWNLOAD_PROGRESS"}': expected human or json`);
  return { precision, json: progress === "json" };
}

/** `--progress json`'s error kinds (the Rust gigastt's): what a sidecar retries on */
function errorKind(e: unknown): string {
  const code = isGigasttError(e) ? e.code : "";
  if (code === "network_error" || code === "offline") return "network";
  if (code === "disk_full") return "disk";
  if (code === "checksum_mismatch") return "checksum";
  return "other";
}

export async function runDownload(args: DownloadArgs, deps: StoreCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const rust = rustDownloadFlags(args, env);
  if (!rust.json) return download(args, rust.precision, env, deps, out, null);
  // NDJSON owns stdout: every other line goes to stderr
  const event = (o: Record<string, unknown>) => out(`${JSON.stringify(o)}\n`);
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  try {
    return await download(args, rust.precision, env, deps, err, event);
  } catch (e) {
    event({ phase: "error", kind: errorKind(e), message: e instanceof Error ? e.message : String(e) });
    throw e;
  }
}

async function download(args: DownloadArgs, precisionArg: string | undefined, env: Env, deps: StoreCliDeps, stdout: (s: string) => void, event: ((o: Record<string, unknown>) => void) | null): Promise<number> {
  const precision = resolvePrecision(precisionArg, env);
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
    ...(event ? { progress: () => createNdjsonProgress((line) => (deps.stdout ?? ((s: string) => void process.stdout.write(s)))(line)) } : {}),
  });
  for (const f of report.catalog.files) event?.({ phase: "verify", file: f.name });
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
      if (q.path && q.action !== "used") event?.({ phase: "quantize", file: basename(q.path) });
      if (q.path) {
        const made = q.action === "used" ? "present" : `created by quantization (${q.seconds.toFixed(1)} s)`;
        stdout(`  ${basename(q.path)}  ${formatBytes(statSync(q.path).size)}  ${made}, for streaming partials\n`);
      }
    } catch (e) {
      if (warningsOn()) stderr(`warning: could not create ${INT8_ENCODER.dynamic} (${e instanceof Error ? e.message : String(e)}); streaming partials will use the fp32 encoder\n`);
    }
  }
  event?.({ phase: "done", model_dir: report.dir });
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
      "model-variant": { type: "string", description: "Rust gigastt's recognition head: only e2e_rnnt here (rnnt, ml_ctc, ml_ctc_large → feature_unavailable; GIGASTT_MODEL_VARIANT)", valueHint: "VARIANT" },
      fp32: { type: "boolean", description: "The fp32 set, as --precision fp32 (Rust gigastt's flag)" },
      prequantized: { type: "boolean", description: "The pre-quantized int8 set, as --precision int8; ignored with --fp32 (Rust gigastt's flag)" },
      progress: { type: "string", description: "human (default: progress on stderr) or json (NDJSON events on stdout: download, verify, quantize, done, error; GIGASTT_DOWNLOAD_PROGRESS)", valueHint: "MODE" },
      "skip-diarization": { type: "boolean", description: "Accepted for Rust gigastt scripts: no diarization model is ever downloaded here" },
      ane: { type: "boolean", description: "Rust gigastt's Apple Neural Engine packages → feature_unavailable" },
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
          modelVariant: args["model-variant"],
          fp32: args.fp32,
          prequantized: args.prequantized,
          progress: args.progress,
          ane: args.ane,
        },
        deps,
      ),
  });
}

export default makeDownloadCommand();
