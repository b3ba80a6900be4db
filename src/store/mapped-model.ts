/**
 * `useMappedLayout`: the model files every Worker loads, in the mapped layout (./mapped.ts).
 *
 * For each graph a Worker opens (encoder, decoder, joint, and the partial encoder when there is one):
 * a fresh derived pair is used as is (a header read); a missing or stale one is derived once — off
 * the calling thread by default (the quantize Worker) — and, when the folder has a lock file,
 * recorded in it, so `models verify` hashes the derived files too. The original files are only read,
 * so a folder the Rust gigastt filled (or any other) keeps working as it was. A folder that cannot
 * be written, a full disk or a file that cannot be derived costs memory, never the server: that graph
 * loads from its original file, with one warning.
 */
import { basename, dirname } from "node:path";
import { isGigasttError } from "../errors.ts";
import type { ModelFiles } from "../model/files.ts";
import { readLock, recordInLock } from "./lockfile.ts";
import { type MappedWriteResult, mappedState, writeMappedLayout } from "./mapped.ts";

export interface MappedLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface MappedModelOptions {
  readonly files: ModelFiles;
  /** the encoder of streaming partials, when it is not the main one */
  readonly partialEncoder?: string;
  readonly log: MappedLog;
  /** derives one file's pair (default: `writeMappedLayout` in the quantize Worker), in `dir` when given */
  readonly derive?: (source: string, dir?: string) => Promise<MappedWriteResult>;
  /** `--optimized-cache-dir`: the derived pairs live here instead of beside their sources (a read-only model folder) */
  readonly cacheDir?: string;
}

export interface MappedModel {
  readonly files: ModelFiles;
  readonly partialEncoder?: string;
  /** graphs now loaded from a mapped pair, and the ones that fell back to their original file */
  readonly mapped: readonly string[];
  readonly unmapped: readonly string[];
}

async function deriveInWorker(source: string, dir?: string): Promise<MappedWriteResult> {
  const { mappedLayoutInWorker } = await import("../quantize/in-worker.ts");
  return mappedLayoutInWorker(source, undefined, dir);
}

export async function useMappedLayout(opts: MappedModelOptions): Promise<MappedModel> {
  const { files, log } = opts;
  const derive = opts.derive ?? deriveInWorker;
  const mapped: string[] = [];
  const unmapped: string[] = [];
  const resolved = new Map<string, string>();
  const one = async (source: string): Promise<string> => {
    const known = resolved.get(source);
    if (known) return known;
    const state = mappedState(source, opts.cacheDir);
    let path = source;
    if (state.kind === "fresh") path = state.paths.graph;
    else {
      const started = performance.now();
      log.info(`writing the mapped layout of ${basename(source)} (one-time: its weights in a file the Workers share)`, state.kind === "stale" ? { why: state.why } : {});
      try {
        const r = await derive(source, opts.cacheDir);
        // the lock file lists the model folder's own files: a pair in a cache folder is not one of them
        if (!opts.cacheDir) recordDerived(dirname(source), r, log);
        log.info("mapped layout ready", { file: basename(r.paths.graph), tensors: r.tensors, data_mb: Math.round(r.dataBytes / 1e6), seconds: Math.round((performance.now() - started) / 100) / 10 });
        path = r.paths.graph;
      } catch (e) {
        log.warn(`could not write the mapped layout of ${basename(source)}: it loads from the original file (each Worker holds its own copy of the weights)`, {
          error: e instanceof Error ? e.message : String(e),
          ...(isGigasttError(e) ? { code: e.code } : {}),
        });
      }
    }
    (path === source ? unmapped : mapped).push(basename(source));
    resolved.set(source, path);
    return path;
  };
  const encoder = await one(files.encoder);
  const decoder = await one(files.decoder);
  const joint = await one(files.joint);
  const partialEncoder = opts.partialEncoder ? await one(opts.partialEncoder) : undefined;
  return {
    files: Object.freeze({ ...files, encoder, decoder, joint }),
    ...(partialEncoder ? { partialEncoder } : {}),
    mapped,
    unmapped,
  };
}

/** The derived files join the lock file when the folder has one (its origin stays the lock's own). */
function recordDerived(dir: string, r: MappedWriteResult, log: MappedLog): void {
  try {
    const lock = readLock(dir);
    if (lock) recordInLock(dir, lock, r.entries);
  } catch (e) {
    log.warn("could not record the mapped layout in the lock file", { error: e instanceof Error ? e.message : String(e) });
  }
}
