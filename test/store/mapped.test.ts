/**
 * The mapped layout (src/store/mapped.ts, mapped-model.ts): each graph's weights in one aligned
 * external data file that onnxruntime maps, derived once beside untouched originals, verified,
 * recorded in the lock file and loaded by every Worker.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { INT8_FILE_NAMES, MODEL_FILE_NAMES, selectModelFiles } from "../../src/model/files.ts";
import { createSession, tensorF32, tensorI64 } from "../../src/runtime/ort.ts";
import type { Catalog } from "../../src/store/catalog.ts";
import { readLock, writeLock } from "../../src/store/lockfile.ts";
import { ALIGN, INLINE_BELOW, mappedPaths, mappedState, removeStalePartials, STALE_PARTIAL_MS, writeMappedLayout } from "../../src/store/mapped.ts";
import { type MappedLog, useMappedLayout } from "../../src/store/mapped-model.ts";
import { verifyModel } from "../../src/store/verify.ts";
import { makeToneModelDir, phraseToAudio } from "../helpers/tone.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function toneDir(): string {
  const d = makeToneModelDir();
  dirs.push(d);
  return d;
}
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const quiet = (): MappedLog & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) };
};
const derive = async (s: string) => writeMappedLayout(s);

/** the joint graph (the tone model's has weights; its encoder has none) on fixed inputs */
async function joint(file: string): Promise<Float32Array> {
  const n = 3;
  const enc = Float32Array.from({ length: n * 768 }, (_, i) => Math.sin(i * 0.37));
  const dec = Float32Array.from({ length: n * 320 }, (_, i) => Math.cos(i * 0.11));
  const s = await createSession(file);
  const r = await s.run({ enc: tensorF32(enc, [n, 768, 1]), dec: tensorF32(dec, [n, 320, 1]) });
  await s.release();
  return r.joint!.data as Float32Array;
}

describe("writeMappedLayout", () => {
  test("moves every tensor of ≥ 1 KiB into one aligned data file, leaves the original untouched, and computes the same", async () => {
    const dir = toneDir();
    const src = join(dir, MODEL_FILE_NAMES.joint);
    const before = sha(src);
    const r = writeMappedLayout(src);
    expect(sha(src)).toBe(before);
    expect(r.paths).toEqual(mappedPaths(src));
    expect(r.paths.graph.endsWith("v3_e2e_rnnt_joint.mapped.onnx")).toBe(true);
    expect(r.tensors).toBeGreaterThan(0);
    const g = onnx.ModelProto.decode(readFileSync(r.paths.graph));
    let external = 0;
    for (const t of g.graph?.initializer ?? []) {
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) {
        expect(t.rawData?.length ?? 0).toBeLessThan(INLINE_BELOW);
        continue;
      }
      external++;
      const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      expect(kv.location).toBe("v3_e2e_rnnt_joint.mapped.onnx.data");
      expect(Number(kv.offset) % ALIGN).toBe(0);
      expect(t.rawData?.length ?? 0).toBe(0);
    }
    expect(external).toBe(r.tensors);
    expect(readFileSync(r.paths.data).length).toBe(r.dataBytes);
    // the lock entries are the files' own hashes
    expect(r.entries["v3_e2e_rnnt_joint.mapped.onnx"]!.sha256).toBe(sha(r.paths.graph));
    expect(r.entries["v3_e2e_rnnt_joint.mapped.onnx.data"]!.sha256).toBe(sha(r.paths.data));
    expect(readdirSync(dir).some((n) => n.includes(".partial"))).toBe(false);
    expect([...(await joint(r.paths.graph))]).toEqual([...(await joint(src))]);
  });

  test("mappedState: missing, fresh, stale when the source changes or the data file is cut", () => {
    const dir = toneDir();
    const src = join(dir, MODEL_FILE_NAMES.joint);
    expect(mappedState(src).kind).toBe("missing");
    const r = writeMappedLayout(src);
    expect(mappedState(src).kind).toBe("fresh");
    const later = new Date(Date.now() + 5000);
    utimesSync(src, later, later);
    expect(mappedState(src)).toMatchObject({ kind: "stale" });
    writeMappedLayout(src);
    expect(mappedState(src).kind).toBe("fresh");
    writeFileSync(r.paths.data, readFileSync(r.paths.data).subarray(1));
    expect(mappedState(src)).toMatchObject({ kind: "stale" });
  });

  test("a crashed writer's staging files are removed by the next derivation; a concurrent writer's are kept", () => {
    const dir = toneDir();
    const src = join(dir, MODEL_FILE_NAMES.joint);
    const p = mappedPaths(src);
    const old = `${p.data}.77-deadbeef.partial`;
    const live = `${p.graph}.78-cafe0001.partial`;
    writeFileSync(old, "x");
    writeFileSync(live, "y");
    const past = new Date(Date.now() - STALE_PARTIAL_MS - 60_000);
    utimesSync(old, past, past);
    writeMappedLayout(src);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(removeStalePartials(p, Date.now() + STALE_PARTIAL_MS + 60_000)).toEqual(["v3_e2e_rnnt_joint.mapped.onnx.78-cafe0001.partial"]);
    expect(mappedState(src).kind).toBe("fresh");
  });

  test("a file that is not ONNX is refused with model_invalid, leaving nothing behind", () => {
    const dir = toneDir();
    const src = join(dir, "junk.onnx");
    writeFileSync(src, new Uint8Array([0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
    expect(() => writeMappedLayout(src)).toThrow(expect.objectContaining({ code: "model_invalid" }));
    expect(readdirSync(dir).filter((n) => n.startsWith("junk"))).toEqual(["junk.onnx"]);
  });
});

describe("useMappedLayout", () => {
  test("derives once, records the derived files in the lock, and models verify checks them", async () => {
    const dir = toneDir();
    const origin = { repo: "istupakov/gigaam-v3-onnx", revision: "abc" };
    writeLock(dir, { ...origin, files: {} });
    const files = selectModelFiles(dir, "fp32");
    let derived = 0;
    const log = quiet();
    const m = await useMappedLayout({ files, log, derive: async (s) => (derived++, writeMappedLayout(s)) });
    expect(derived).toBe(3);
    expect(m.files.encoder).toBe(mappedPaths(files.encoder).graph);
    expect(m.files.decoder).toBe(mappedPaths(files.decoder).graph);
    expect(m.files.joint).toBe(mappedPaths(files.joint).graph);
    expect(m.files.vocab).toBe(files.vocab);
    expect(m.files.precision).toBe("fp32");
    expect(m.unmapped).toEqual([]);
    const lock = readLock(dir)!;
    expect(lock.repo).toBe(origin.repo);
    expect(Object.keys(lock.files).sort()).toEqual(
      ["decoder", "encoder", "joint"].flatMap((g) => [`v3_e2e_rnnt_${g}.mapped.onnx`, `v3_e2e_rnnt_${g}.mapped.onnx.data`]).sort(),
    );
    const none: Catalog = { repo: origin.repo, revision: origin.revision, files: [], source: "test" };
    expect((await verifyModel(dir, none)).ok).toBe(true);
    // the second start only reads headers
    const again = await useMappedLayout({ files, log, derive: async (s) => (derived++, writeMappedLayout(s)) });
    expect(derived).toBe(3);
    expect(again.files).toEqual(m.files);
    // a flipped byte in a derived data file is what `models verify` reports
    const data = mappedPaths(files.joint).data;
    const b = readFileSync(data);
    b[b.length - 1] = b[b.length - 1]! ^ 0xff;
    writeFileSync(data, b);
    const v = await verifyModel(dir, none);
    expect(v.ok).toBe(false);
    expect(v.entries.find((e) => e.name === "v3_e2e_rnnt_joint.mapped.onnx.data")?.status).toBe("mismatch");
  });

  test("no lock file: none is created; the int8 partial encoder (a Rust-named folder too) is mapped like the rest", async () => {
    const dir = toneDir();
    // the Rust gigastt's int8 encoder name, as a Rust-filled folder holds it
    const rustInt8 = join(dir, INT8_FILE_NAMES.encoder[1]);
    writeFileSync(rustInt8, readFileSync(join(dir, MODEL_FILE_NAMES.encoder)));
    const files = selectModelFiles(dir, "int8");
    expect(files.encoder).toBe(rustInt8);
    const m = await useMappedLayout({ files, partialEncoder: rustInt8, log: quiet(), derive });
    expect(m.files.encoder).toBe(mappedPaths(rustInt8).graph);
    expect(m.partialEncoder).toBe(mappedPaths(rustInt8).graph);
    expect(existsSync(join(dir, ".gigastt-lock.json"))).toBe(false);
    // the folder still selects the same originals
    expect(selectModelFiles(dir, "int8")).toEqual(files);
  });

  test("a graph that cannot be derived loads from its original file, with one warning", async () => {
    const dir = toneDir();
    const files = selectModelFiles(dir, "fp32");
    const log = quiet();
    const m = await useMappedLayout({
      files,
      log,
      derive: async (s) => {
        if (s === files.decoder) throw Object.assign(new Error("EROFS: read-only file system"), { code: "EROFS" });
        return writeMappedLayout(s);
      },
    });
    expect(m.files.decoder).toBe(files.decoder);
    expect(m.files.encoder).toBe(mappedPaths(files.encoder).graph);
    expect(m.unmapped).toEqual(["v3_e2e_rnnt_decoder.onnx"]);
    expect(log.lines.filter((l) => l.startsWith("warn"))).toHaveLength(1);
  });

  test("by default the pair is written in the quantize Worker, and the Workers transcribe from it", async () => {
    const dir = toneDir();
    const files = selectModelFiles(dir, "fp32");
    const m = await useMappedLayout({ files, log: quiet() });
    expect(m.mapped).toEqual(["v3_e2e_rnnt_encoder.onnx", "v3_e2e_rnnt_decoder.onnx", "v3_e2e_rnnt_joint.onnx"]);
    const audio = phraseToAudio("привет мир");
    const a = await Transcriber.fromFiles(m.files, { workers: 2 });
    const b = await Transcriber.fromFiles(files, { workers: 1 });
    try {
      const [ra, rb] = await Promise.all([a.transcribe(audio.samples), b.transcribe(audio.samples)]);
      expect(ra.text).toBe("привет мир");
      expect(ra).toEqual(rb);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("serve", () => {
  test("loads every graph, the int8 partial encoder included, from the mapped layout; the originals stay as they were", async () => {
    const { EventEmitter } = await import("node:events");
    const { runServe } = await import("../../src/cli/serve.ts");
    const dir = toneDir();
    const files = selectModelFiles(dir, "fp32");
    const int8 = join(dir, INT8_FILE_NAMES.encoder[0]);
    writeFileSync(int8, readFileSync(files.encoder));
    const before = [files.encoder, files.decoder, files.joint, int8].map(sha);
    const signals = new EventEmitter();
    let seen: { encoder: string; decoder: string; joint: string; partial?: string; lazy?: boolean } | undefined;
    let loaded!: () => void;
    const ready = new Promise<void>((r) => (loaded = r));
    const run = runServe(["--port", "0", "--model-dir", dir, "--log-level", "silent", "--workers", "1"], {
      isTTY: false,
      signals: signals as unknown as Pick<NodeJS.Process, "on" | "off">,
      obtainModel: async () => files,
      partialEncoder: async () => int8,
      loadTranscriber: async (f, workers, o) => {
        seen = { encoder: f.encoder, decoder: f.decoder, joint: f.joint, ...(o?.partialEncoder ? { partial: o.partialEncoder } : {}), lazy: o?.lazyPartialWorkers };
        const t = await Transcriber.fromFiles(f, { workers, ...o });
        loaded();
        return t;
      },
    });
    await ready;
    signals.emit("SIGTERM", "SIGTERM");
    expect(await run).toBe(0);
    expect(seen).toEqual({
      encoder: mappedPaths(files.encoder).graph,
      decoder: mappedPaths(files.decoder).graph,
      joint: mappedPaths(files.joint).graph,
      partial: mappedPaths(int8).graph,
      // ready without waiting for the partial Worker (it loads after the main ones)
      lazy: true,
    });
    expect([files.encoder, files.decoder, files.joint, int8].map(sha)).toEqual(before);
  });
});
