/**
 * `gigastt models list|verify|path`: what the catalog holds and what is installed,
 * a full hash check, and the model directory.
 */
import { defineCommand } from "citty";
import { EXIT } from "../errors.ts";
import { resolveModelDir } from "../model/files.ts";
import type { Precision } from "../types.ts";
import { type Catalog, builtinCatalog, fileUrl, loadManifest } from "../store/catalog.ts";
import { type Env, hfEndpoint, resolvePrecision } from "../store/env.ts";
import { type FileState, inspectDir } from "../store/inspect.ts";
import { LOCK_FILE } from "../store/lockfile.ts";
import { formatBytes } from "../store/progress.ts";
import { verifyModel } from "../store/verify.ts";
import type { StoreCliDeps } from "./download.ts";

const STATUS: Record<FileState["kind"], string> = {
  locked: "installed",
  stale: "stale (will be downloaded again)",
  unlocked: "present (not yet verified)",
  foreign: "present (unverified, not the catalog's file)",
  missing: "missing",
};

const modelDirArg = {
  "model-dir": { type: "string", description: "Model directory (default $GIGASTT_MODEL_DIR or ~/.gigastt/models)", valueHint: "DIR" },
} as const;
const manifestArg = {
  manifest: { type: "string", description: "JSON manifest replacing the built-in catalog", valueHint: "FILE" },
} as const;

function out(deps: StoreCliDeps): (s: string) => void {
  return deps.stdout ?? ((s: string) => void process.stdout.write(s));
}

export async function runList(args: { modelDir?: string; manifest?: string; json?: boolean }, deps: StoreCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const dir = resolveModelDir(args.modelDir, env);
  const base = hfEndpoint(env);
  const sets: [string, Catalog][] = args.manifest
    ? [["manifest", loadManifest(args.manifest)]]
    : (["fp32", "int8"] as Precision[]).map((p) => [p, builtinCatalog(p)]);
  const report = sets.map(([set, catalog]) => {
    const state = inspectDir(dir, catalog);
    // what is installed came from where the lock says (e.g. `download --manifest` of a mirror), not
    // necessarily from the catalog this set is listed against
    const lock = state.lock;
    const installedFrom =
      lock && state.files.some((s) => s.kind === "locked") && (lock.repo !== catalog.repo || lock.revision !== catalog.revision) ? { repo: lock.repo, revision: lock.revision } : null;
    return {
      set,
      repo: installedFrom?.repo ?? catalog.repo,
      revision: installedFrom?.revision ?? catalog.revision,
      ...(installedFrom ? { catalog: { repo: catalog.repo, revision: catalog.revision, source: catalog.source } } : {}),
      files: state.files.map((s) => ({
        name: s.file.name,
        size: s.kind === "locked" ? s.entry.size : (s.file.size ?? null),
        sha256: s.kind === "locked" ? s.entry.sha256 : (s.file.sha256 ?? null),
        status: s.kind,
        url: fileUrl(base, catalog, s.file.name),
        ...(s.kind === "foreign" ? { path: s.path } : {}),
        ...(s.kind === "locked" && s.otherVersion ? { otherVersion: true } : {}),
      })),
      complete: state.files.every((s) => s.kind === "locked" || s.kind === "foreign"),
    };
  });
  if (args.json) {
    out(deps)(`${JSON.stringify({ dir, endpoint: base, sets: report }, null, 2)}\n`);
    return EXIT.ok;
  }
  const lines = [`model dir: ${dir}`];
  for (const s of report) {
    const from = "catalog" in s && s.catalog ? `  (installed from it, per ${LOCK_FILE}; the ${s.catalog.source === "builtin" ? "built-in catalog" : s.catalog.source} has ${s.catalog.repo}@${s.catalog.revision})` : "";
    lines.push("", `${s.set}: ${s.repo}@${s.revision}${s.complete ? "  (ready)" : ""}${from}`);
    for (const f of s.files) {
      const size = f.size !== null ? formatBytes(f.size) : "size from server";
      lines.push(`  ${f.name.padEnd(32)} ${size.padStart(16)}  ${STATUS[f.status]}${"otherVersion" in f ? " (another version than the catalog's, per the lock file)" : ""}`);
    }
  }
  out(deps)(`${lines.join("\n")}\n`);
  return EXIT.ok;
}

export async function runVerify(args: { modelDir?: string; manifest?: string; precision?: string }, deps: StoreCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const dir = resolveModelDir(args.modelDir, env);
  const catalog = args.manifest ? loadManifest(args.manifest) : builtinCatalog(resolvePrecision(args.precision, env));
  const stderr = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const result = await verifyModel(dir, catalog, (name) => stderr(`hashing ${name}...\n`));
  // one aligned table: status, file, size, then what was found
  const rows = result.entries.map((e): [string, string, string, string] => {
    switch (e.status) {
      case "ok":
        return ["ok", e.name, formatBytes(e.size ?? 0), `sha256 ${e.actual}`];
      case "mismatch":
        return [
          "MISMATCH",
          e.name,
          e.size !== undefined ? formatBytes(e.size) : "",
          `expected sha256 ${e.expected}${e.expectedSize !== undefined && e.expectedSize !== e.size ? ` and ${e.expectedSize} bytes` : ""} (${e.against}), got ${e.actual} (${e.size} bytes)`,
        ];
      case "missing":
        return ["MISSING", e.name, "", ""];
      case "unverifiable":
        return [
          "UNVERIFIED",
          e.name,
          e.size !== undefined ? formatBytes(e.size) : "",
          e.alias ? `present as ${e.alias}, which has no published SHA-256 to check against` : "no lock entry and no pinned SHA-256 (run 'gigastt download' to fetch a verified copy)",
        ];
    }
  });
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => `${r[0].padEnd(w[0]!)}  ${r[1].padEnd(w[1]!)}  ${r[2].padStart(w[2]!)}  ${r[3]}`.trimEnd());
  out(deps)(`${result.dir}\n${lines.join("\n")}\n`);
  if (!result.ok) {
    const bad = result.entries.filter((e) => e.status !== "ok").map((e) => `${e.name} (${e.status})`);
    stderr(`error: model verification failed in ${result.dir}: ${bad.join(", ")}\n`);
    return EXIT.runtime;
  }
  return EXIT.ok;
}

export function makeModelsCommand(deps: StoreCliDeps = {}) {
  return defineCommand({
    meta: { name: "models", description: "List, verify or locate the installed model" },
    subCommands: {
      list: defineCommand({
        meta: { name: "list", description: "Show the catalog (fp32 and int8 sets) and what is installed" },
        args: { ...modelDirArg, ...manifestArg, json: { type: "boolean", description: "Machine-readable output" } },
        run: ({ args }) => runList({ modelDir: args["model-dir"], manifest: args.manifest, json: args.json }, deps),
      }),
      verify: defineCommand({
        meta: { name: "verify", description: "Full SHA-256 check against the lock file (or the catalog); exit 1 on any mismatch" },
        args: {
          ...modelDirArg,
          ...manifestArg,
          precision: { type: "enum", options: ["fp32", "int8"], description: "Which set to check besides the lock (default $GIGASTT_PRECISION or fp32)", valueHint: "PRECISION" },
        },
        run: ({ args }) => runVerify({ modelDir: args["model-dir"], manifest: args.manifest, precision: args.precision as string | undefined }, deps),
      }),
      path: defineCommand({
        meta: { name: "path", description: "Print the model directory" },
        args: { ...modelDirArg },
        run: ({ args }) => {
          out(deps)(`${resolveModelDir(args["model-dir"], deps.env ?? process.env)}\n`);
          return EXIT.ok;
        },
      }),
    },
  });
}

export default makeModelsCommand();
