/**
 * `gigastt cache-gc` on generated model folders: stale derived files go, model
 * files and what is in use stay, `--dry-run` touches nothing, a folder another
 * gigastt holds is refused, `--dedupe` hardlinks identical files.
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { runCacheGc } from "../../src/cli/cache-gc.ts";
import { cacheGc } from "../../src/store/cache-gc.ts";
import { DIR_LOCK_FILE } from "../../src/store/dirlock.ts";
import { readLock, recordInLock } from "../../src/store/lockfile.ts";
import { writeMappedLayout } from "../../src/store/mapped.ts";
import { makeToneModelDir } from "../helpers/tone.ts";

const HOUR = 3_600_000;

/** a tone-model folder with a fresh mapped encoder, a stale mapped decoder, an orphan, partials and a Rust optimized_cache */
function pollutedFolder(): { dir: string; fresh: string[]; stale: string[]; old: string[]; young: string[]; originals: string[] } {
  const dir = makeToneModelDir();
  const originals = readdirSync(dir).map((n) => join(dir, n));
  const enc = writeMappedLayout(join(dir, "v3_e2e_rnnt_encoder.onnx"));
  const dec = writeMappedLayout(join(dir, "v3_e2e_rnnt_decoder.onnx"));
  recordInLock(dir, { repo: "o/r", revision: "rev" }, { ...enc.entries, ...dec.entries });
  // the decoder changed after its layout was derived
  const t = new Date(Date.now() + 5000);
  utimesSync(join(dir, "v3_e2e_rnnt_decoder.onnx"), t, t);
  writeFileSync(join(dir, "v3_e2e_rnnt_joint.mapped.onnx.data"), "orphan");
  const oldPartial = join(dir, "v3_e2e_rnnt_encoder.int8.onnx.partial");
  writeFileSync(oldPartial, "half a download");
  const past = new Date(Date.now() - 2 * HOUR);
  utimesSync(oldPartial, past, past);
  const young = join(dir, "v3_e2e_rnnt_encoder.onnx.partial");
  writeFileSync(young, "being written");
  // a Rust install's lean rnnt set beside ours, and its optimized graphs
  writeFileSync(join(dir, "v3_rnnt_encoder_int8.onnx"), "rust int8");
  mkdirSync(join(dir, "optimized_cache"));
  for (const n of ["v3_rnnt_encoder_int8_optimized.onnx", "v3_rnnt_encoder_optimized.onnx", "v3_e2e_rnnt_encoder_int8_optimized.onnx", "README"]) writeFileSync(join(dir, "optimized_cache", n), n);
  return {
    dir,
    originals: [...originals, join(dir, "v3_rnnt_encoder_int8.onnx")],
    fresh: [enc.paths.graph, enc.paths.data, join(dir, "optimized_cache", "v3_rnnt_encoder_int8_optimized.onnx"), join(dir, "optimized_cache", "README")],
    stale: [dec.paths.graph, dec.paths.data],
    old: [
      join(dir, "v3_e2e_rnnt_joint.mapped.onnx.data"),
      oldPartial,
      join(dir, "optimized_cache", "v3_rnnt_encoder_optimized.onnx"),
      join(dir, "optimized_cache", "v3_e2e_rnnt_encoder_int8_optimized.onnx"),
    ],
    young: [young],
  };
}

describe("cache-gc", () => {
  test("--dry-run lists what would go and touches nothing", async () => {
    const f = pollutedFolder();
    const r = await cacheGc(f.dir, { dryRun: true });
    expect(r.removed.map((i) => i.path).sort()).toEqual([...f.stale, ...f.old].sort());
    for (const p of [...f.originals, ...f.fresh, ...f.stale, ...f.old, ...f.young]) expect(existsSync(p)).toBe(true);
    expect(existsSync(join(f.dir, DIR_LOCK_FILE))).toBe(false);
  });

  test("removes stale layouts, orphans, old partials and Rust's unused optimized graphs; keeps model files, fresh layouts, young partials; the lock forgets what went", async () => {
    const f = pollutedFolder();
    let out = "";
    expect(await runCacheGc({ modelDir: f.dir }, { env: {}, stdout: (s) => void (out += s) })).toBe(0);
    for (const p of [...f.stale, ...f.old]) expect(existsSync(p)).toBe(false);
    for (const p of [...f.originals, ...f.fresh, ...f.young]) expect(existsSync(p)).toBe(true);
    const lock = readLock(f.dir)!;
    expect(Object.keys(lock.files).sort()).toEqual(["v3_e2e_rnnt_encoder.mapped.onnx", "v3_e2e_rnnt_encoder.mapped.onnx.data"]);
    expect(out).toContain(`${f.dir}: removed 6 file(s)`);
    expect(out).toContain("v3_e2e_rnnt_decoder.onnx changed since it was derived");
    expect(out).toContain("written in the last hour");
    // a second run finds nothing more
    const again = await cacheGc(f.dir);
    expect(again.removed).toEqual([]);
  });

  test("a folder another live gigastt holds (a download) is refused, nothing removed", async () => {
    const f = pollutedFolder();
    writeFileSync(join(f.dir, DIR_LOCK_FILE), JSON.stringify({ pid: process.pid, startedAt: Date.now(), host: hostname() }));
    await expect(cacheGc(f.dir)).rejects.toThrow(/is in use by another gigastt/);
    for (const p of [...f.stale, ...f.old]) expect(existsSync(p)).toBe(true);
  });

  test("--dedupe hardlinks identical files (dry run first counts them)", async () => {
    const dir = makeToneModelDir();
    mkdirSync(join(dir, "copy"));
    copyFileSync(join(dir, "v3_e2e_rnnt_encoder.onnx"), join(dir, "copy", "v3_e2e_rnnt_encoder.onnx"));
    const dry = await cacheGc(dir, { dedupe: true, dryRun: true });
    expect(dry.dedupe).toMatchObject({ groups: 1, hardlinked: 1 });
    expect(statSync(join(dir, "copy", "v3_e2e_rnnt_encoder.onnx")).nlink).toBe(1);
    const r = await cacheGc(dir, { dedupe: true });
    expect(r.dedupe).toMatchObject({ groups: 1, hardlinked: 1, freedBytes: statSync(join(dir, "v3_e2e_rnnt_encoder.onnx")).size });
    expect(statSync(join(dir, "v3_e2e_rnnt_encoder.onnx")).ino).toBe(statSync(join(dir, "copy", "v3_e2e_rnnt_encoder.onnx")).ino);
  });

  test("a folder that does not exist is a usage error", async () => {
    await expect(cacheGc(join(makeToneModelDir(), "nope"))).rejects.toThrow(/no model folder at/);
  });
});
