/**
 * The mapped layout: each ONNX graph re-saved with its weights in one external data file, aligned,
 * so onnxruntime maps the weights (file pages shared by every session, every Worker and every process
 * on the host) instead of copying them into each session (measured: docs/MODEL.md §8, BENCHMARKS.md).
 *
 *   v3_e2e_rnnt_encoder.onnx  (untouched)
 *   v3_e2e_rnnt_encoder.mapped.onnx       the graph, small tensors inline, metadata naming its source
 *   v3_e2e_rnnt_encoder.mapped.onnx.data  every tensor of ≥ 1 KiB, each at a 4 KiB boundary
 *
 * `mappedState` says whether the derived pair is there and matches its source (size and mtime the
 * graph recorded, the data file's size): a header read, milliseconds. `writeMappedLayout` derives it
 * once: both files through `.partial` names, the data read back and compared with the source tensor
 * by tensor before the graph is renamed into place (the graph is the commit: a crash leaves no graph
 * that points at a data file it does not match). Synchronous and heavy (the source is parsed):
 * `serve` runs it in the quantize Worker (../quantize/worker.ts).
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { onnx } from "onnx-proto";
import { GigasttError } from "../errors.ts";
import { regularFile } from "../model/files.ts";
import { readModelHeader } from "../quantize/inspect.ts";
import type { LockEntry } from "./lockfile.ts";

/** Bumped when the layout changes: older derived files are rewritten. */
export const MAPPED_LAYOUT_VERSION = "1";
/** Tensors smaller than this stay inline in the graph (shapes, scalars: onnx's own default). */
export const INLINE_BELOW = 1024;
/** Every external tensor starts at a page boundary (onnxruntime maps from the aligned-down offset itself, so this only keeps weights page- and cache-aligned). */
export const ALIGN = 4096;

const KEY = {
  layout: "gigastt.mapped.layout",
  source: "gigastt.mapped.source",
  sourceSize: "gigastt.mapped.source_size",
  sourceMtime: "gigastt.mapped.source_mtime_ms",
  dataSize: "gigastt.mapped.data_size",
} as const;

export interface MappedPaths {
  /** the graph onnxruntime opens */
  readonly graph: string;
  /** its external data file (the name the graph refers to: same folder) */
  readonly data: string;
}

/** `x.onnx` → `x.mapped.onnx` + `x.mapped.onnx.data`, beside the source (or in `dir`, `--optimized-cache-dir`). */
export function mappedPaths(source: string, dir?: string): MappedPaths {
  const base = basename(source).replace(/\.onnx$/i, "");
  const graph = join(dir ?? dirname(source), `${base}.mapped.onnx`);
  return { graph, data: `${graph}.data` };
}

export type MappedState =
  | { readonly kind: "fresh"; readonly paths: MappedPaths }
  | { readonly kind: "missing"; readonly paths: MappedPaths }
  | { readonly kind: "stale"; readonly paths: MappedPaths; readonly why: string };

/** Whether the derived pair of `source` exists and matches it (no hashing: the header and two stats). */
export function mappedState(source: string, dir?: string): MappedState {
  const paths = mappedPaths(source, dir);
  const g = regularFile(paths.graph);
  if (!g) return { kind: "missing", paths };
  const src = regularFile(source);
  if (!src) return { kind: "stale", paths, why: `${basename(source)} is missing` };
  let meta: Readonly<Record<string, string>>;
  try {
    meta = readModelHeader(paths.graph).metadata;
  } catch (e) {
    return { kind: "stale", paths, why: `${basename(paths.graph)} is not an ONNX file (${(e as Error).message})` };
  }
  if (meta[KEY.layout] !== MAPPED_LAYOUT_VERSION) return { kind: "stale", paths, why: `layout ${meta[KEY.layout] ?? "unknown"}, current ${MAPPED_LAYOUT_VERSION}` };
  if (meta[KEY.sourceSize] !== String(src.size) || meta[KEY.sourceMtime] !== String(Math.floor(src.mtimeMs)))
    return { kind: "stale", paths, why: `${basename(source)} changed since it was derived` };
  const d = regularFile(paths.data);
  if (!d || String(d.size) !== meta[KEY.dataSize]) return { kind: "stale", paths, why: `${basename(paths.data)} is missing or has the wrong size` };
  return { kind: "fresh", paths };
}

/** A staging file older than this is a crashed writer's, not a concurrent one's. */
export const STALE_PARTIAL_MS = 3_600_000;

/** Removes staging files of `paths` that a crashed writer left (older than STALE_PARTIAL_MS). */
export function removeStalePartials(paths: MappedPaths, nowMs: number = Date.now()): string[] {
  const dir = dirname(paths.graph);
  const prefixes = [`${basename(paths.graph)}.`, `${basename(paths.data)}.`];
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    if (!n.endsWith(".partial") || !prefixes.some((p) => n.startsWith(p)) || !/\.\d+-[0-9a-f]+\.partial$/.test(n)) continue;
    const p = join(dir, n);
    try {
      if (nowMs - statSync(p).mtimeMs < STALE_PARTIAL_MS) continue;
      unlinkSync(p);
      removed.push(n);
    } catch {}
  }
  return removed;
}

export interface MappedWriteResult {
  readonly paths: MappedPaths;
  /** lock entries of the two derived files, by file name */
  readonly entries: Readonly<Record<string, LockEntry>>;
  readonly tensors: number;
  readonly dataBytes: number;
  readonly seconds: number;
}

function tensorsOf(graph: onnx.IGraphProto): onnx.ITensorProto[] {
  return (graph.initializer ?? []) as onnx.ITensorProto[];
}

function fail(file: string, why: string, cause?: unknown): GigasttError {
  return new GigasttError("model_invalid", `cannot derive the mapped layout of ${basename(file)}: ${why}`, { ...(cause ? { cause } : {}), details: { file: basename(file) } });
}

function ioError(out: string, e: unknown): GigasttError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") return new GigasttError("disk_full", `not enough disk space to write ${basename(out)}`, { cause: e });
  return new GigasttError("model_invalid", `cannot write ${basename(out)}: ${code ?? (e as Error).message}`, { cause: e, details: { file: basename(out) } });
}

/**
 * Derives the mapped pair of `source` (overwriting a stale one); the source is only read.
 * Throws `model_invalid` (not an ONNX file, a read-back mismatch, a folder that cannot be written)
 * or `disk_full`.
 */
export function writeMappedLayout(source: string, now: () => number = () => performance.now(), dir?: string): MappedWriteResult {
  const t0 = now();
  const paths = mappedPaths(source, dir);
  const srcStat = statSync(source);
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(readFileSync(source));
  } catch (e) {
    throw fail(source, `not an ONNX model (${(e as Error).message})`, e);
  }
  if (!model.graph) throw fail(source, "no graph");
  removeStalePartials(paths);
  // unique per writer: replicas sharing a model volume can have the same pid (pid namespaces)
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}.partial`;
  const dataTmp = `${paths.data}.${tag}`;
  const graphTmp = `${paths.graph}.${tag}`;
  const dataName = basename(paths.data);
  const placed: { t: onnx.ITensorProto; bytes: Uint8Array; offset: number }[] = [];
  const dataHash = createHash("sha256");
  let offset = 0;
  try {
    const fd = openSync(dataTmp, "w", 0o644);
    try {
      const pad = new Uint8Array(ALIGN);
      for (const t of tensorsOf(model.graph)) {
        const raw = t.rawData;
        if (!raw || raw.length < INLINE_BELOW || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) continue;
        const start = Math.ceil(offset / ALIGN) * ALIGN;
        if (start > offset) {
          const gap = pad.subarray(0, start - offset);
          writeSync(fd, gap);
          dataHash.update(gap);
        }
        writeSync(fd, raw);
        dataHash.update(raw);
        placed.push({ t, bytes: raw, offset: start });
        offset = start + raw.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // read back: the file holds exactly the source's bytes at the offsets the graph will name
    verifyData(dataTmp, placed, offset, source);
    for (const p of placed) {
      // absent, not empty: the tensor's bytes live only in the data file
      delete (p.t as { rawData?: Uint8Array }).rawData;
      p.t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      p.t.externalData = [
        { key: "location", value: dataName },
        { key: "offset", value: String(p.offset) },
        { key: "length", value: String(p.bytes.length) },
      ];
    }
    const meta = (model.metadataProps ?? []).filter((m) => !String(m.key ?? "").startsWith("gigastt.mapped."));
    meta.push(
      { key: KEY.layout, value: MAPPED_LAYOUT_VERSION },
      { key: KEY.source, value: basename(source) },
      { key: KEY.sourceSize, value: String(srcStat.size) },
      { key: KEY.sourceMtime, value: String(Math.floor(srcStat.mtimeMs)) },
      { key: KEY.dataSize, value: String(offset) },
    );
    model.metadataProps = meta.map((m) => onnx.StringStringEntryProto.create(m));
    const graphBytes = onnx.ModelProto.encode(model).finish();
    writeFileSync(graphTmp, graphBytes, { mode: 0o644 });
    const gfd = openSync(graphTmp, "r");
    try {
      fsyncSync(gfd);
    } finally {
      closeSync(gfd);
    }
    // the graph is the commit: drop the old one first, so no graph ever names a data file it does not match
    rmSync(paths.graph, { force: true });
    renameSync(dataTmp, paths.data);
    renameSync(graphTmp, paths.graph);
    fsyncDir(dirname(source));
    const entries: Record<string, LockEntry> = {
      [basename(paths.graph)]: { size: graphBytes.length, sha256: createHash("sha256").update(graphBytes).digest("hex") },
      [dataName]: { size: offset, sha256: dataHash.digest("hex") },
    };
    return { paths, entries, tensors: placed.length, dataBytes: offset, seconds: (now() - t0) / 1000 };
  } catch (e) {
    for (const f of [dataTmp, graphTmp]) {
      try {
        unlinkSync(f);
      } catch {}
    }
    if (e instanceof GigasttError) throw e;
    throw ioError(paths.graph, e);
  }
}

function verifyData(file: string, placed: readonly { bytes: Uint8Array; offset: number }[], size: number, source: string): void {
  if (statSync(file).size !== size) throw fail(source, `${basename(file)} has ${statSync(file).size} bytes, expected ${size}`);
  const fd = openSync(file, "r");
  try {
    let buf = new Uint8Array(0);
    for (const p of placed) {
      if (buf.length < p.bytes.length) buf = new Uint8Array(p.bytes.length);
      const view = buf.subarray(0, p.bytes.length);
      let got = 0;
      while (got < view.length) {
        const n = readSync(fd, view, got, view.length - got, p.offset + got);
        if (n <= 0) break;
        got += n;
      }
      if (got !== view.length || Buffer.compare(view, p.bytes) !== 0) throw fail(source, `read-back of ${basename(file)} differs at offset ${p.offset}`);
    }
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not every filesystem can fsync a folder; the renames are still atomic
  }
}
