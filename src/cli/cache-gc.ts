/**
 * `gigastt cache-gc [--model-dir DIR] [--dry-run] [--dedupe]`: remove what the
 * model folder holds but no longer needs (see src/store/cache-gc.ts); prints
 * what it removed (or would remove) and the space freed.
 */
import { defineCommand } from "citty";
import { resolveModelDir } from "../model/files.ts";
import { cacheGc, type GcItem } from "../store/cache-gc.ts";
import type { Env } from "../store/env.ts";

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

export async function runCacheGc(args: { modelDir?: string; dryRun?: boolean; dedupe?: boolean }, deps: { env?: Env; stdout?: (s: string) => void } = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const dir = resolveModelDir(args.modelDir, deps.env ?? process.env);
  const r = await cacheGc(dir, { dryRun: args.dryRun === true, dedupe: args.dedupe === true });
  const verb = r.dryRun ? "would free" : "freed";
  const total = r.removed.reduce((n, i) => n + i.bytes, 0);
  const lines = [`${dir}: ${r.dryRun ? "would remove" : "removed"} ${r.removed.length} file(s), ${verb} ${mib(total)}; kept ${r.kept.length} derived file(s) in use`];
  const list = (items: readonly GcItem[], mark: string) => {
    for (const i of items) lines.push(`  ${mark} ${i.path} (${i.why}${i.bytes ? `, ${mib(i.bytes)}` : ""})`);
  };
  list(r.removed, "-");
  list(r.leftAlone, "=");
  list(r.failed, "!");
  if (r.dedupe) lines.push(`dedupe: ${r.dedupe.groups} group(s) of identical files, ${r.dedupe.hardlinked} hardlink(s), ${verb} ${mib(r.dedupe.freedBytes)}`);
  out(`${lines.join("\n")}\n`);
  return r.failed.length > 0 ? 1 : 0;
}

export default defineCommand({
  meta: { name: "cache-gc", description: "Remove stale derived files from the model folder (old mapped layouts, unfinished downloads, Rust's stale optimized graphs); never a model file" },
  args: {
    "model-dir": { type: "string", description: "Model directory (default $GIGASTT_MODEL_DIR or ~/.gigastt/models)", valueHint: "DIR" },
    "dry-run": { type: "boolean", description: "Only report what would be removed" },
    dedupe: { type: "boolean", description: "Also hardlink identical files in the folder (SHA-256)" },
  },
  run: ({ args }) => runCacheGc({ modelDir: args["model-dir"], dryRun: args["dry-run"], dedupe: args.dedupe }),
});
