import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Catalog } from "./catalog.ts";
import { inspectDir, toDownload } from "./inspect.ts";
import { LOCK_FILE, readLock, recordInLock, writeLock } from "./lockfile.ts";

const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);
const catalog: Catalog = {
  repo: "o/r",
  revision: "rev",
  source: "test",
  files: [
    { name: "locked.onnx", size: 3, sha256: SHA_A },
    { name: "stale.onnx", size: 3, sha256: SHA_A },
    { name: "unlocked.onnx", size: 3, sha256: SHA_A },
    { name: "foreign.onnx", size: 3, sha256: SHA_A },
    { name: "missing.onnx", size: 3, sha256: SHA_A },
    { name: "int8.onnx", aliases: ["int8_alt.onnx"] },
  ],
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gigastt-inspect-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("model-dir rules", () => {
  test("each file is judged against the lock and the catalog", () => {
    writeFileSync(join(dir, "locked.onnx"), "abc");
    writeFileSync(join(dir, "stale.onnx"), "abcdef");
    writeFileSync(join(dir, "unlocked.onnx"), "abc");
    writeFileSync(join(dir, "foreign.onnx"), "a model from elsewhere");
    writeFileSync(join(dir, "int8_alt.onnx"), "rust-quantized");
    writeLock(dir, { repo: "o/r", revision: "rev", files: { "locked.onnx": { size: 3, sha256: SHA_A }, "stale.onnx": { size: 3, sha256: SHA_A } } });
    const s = inspectDir(dir, catalog);
    expect(s.files.map((f) => [f.file.name, f.kind])).toEqual([
      ["locked.onnx", "locked"],
      ["stale.onnx", "stale"],
      ["unlocked.onnx", "unlocked"],
      ["foreign.onnx", "foreign"],
      ["missing.onnx", "missing"],
      ["int8.onnx", "foreign"],
    ]);
    const alias = s.files[5]!;
    expect(alias.kind === "foreign" && alias.path).toBe(join(dir, "int8_alt.onnx"));
    expect(toDownload(s).map((f) => f.name)).toEqual(["stale.onnx", "missing.onnx"]);
  });

  test("the lock is authoritative: an entry of another version than the catalog's is used (marked), a wrong size is stale", () => {
    writeFileSync(join(dir, "locked.onnx"), "abcd");
    writeFileSync(join(dir, "stale.onnx"), "abc");
    writeLock(dir, { repo: "me/mirror", revision: "newer", files: { "locked.onnx": { size: 4, sha256: SHA_B }, "stale.onnx": { size: 4, sha256: SHA_B } } });
    const [locked, stale] = inspectDir(dir, catalog).files;
    expect(locked).toEqual({ kind: "locked", file: catalog.files[0]!, entry: { size: 4, sha256: SHA_B }, otherVersion: true });
    expect(stale!.kind).toBe("stale");
    writeLock(dir, { repo: "o/r", revision: "rev", files: { "locked.onnx": { size: 4, sha256: SHA_A } } });
    expect(inspectDir(dir, catalog).files[0]).toMatchObject({ kind: "locked", otherVersion: true }); // catalog size 3
    writeFileSync(join(dir, "locked.onnx"), "abc");
    writeLock(dir, { repo: "o/r", revision: "rev", files: { "locked.onnx": { size: 3, sha256: SHA_A } } });
    expect(inspectDir(dir, catalog).files[0]).toEqual({ kind: "locked", file: catalog.files[0]!, entry: { size: 3, sha256: SHA_A } });
  });
});

describe("lock file", () => {
  test("round-trips, merges entries, sorts keys, leaves no temp file", () => {
    recordInLock(dir, { repo: "o/r", revision: "rev" }, { "b.onnx": { size: 1, sha256: SHA_B } });
    recordInLock(dir, { repo: "o/r", revision: "rev2" }, { "a.onnx": { size: 2, sha256: SHA_A } });
    const lock = readLock(dir)!;
    expect(lock).toEqual({ repo: "o/r", revision: "rev2", files: { "a.onnx": { size: 2, sha256: SHA_A }, "b.onnx": { size: 1, sha256: SHA_B } } });
    const text = readFileSync(join(dir, LOCK_FILE), "utf8");
    expect(text.indexOf("a.onnx")).toBeLessThan(text.indexOf("b.onnx"));
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    expect(readLock(mkdtempSync(join(tmpdir(), "gigastt-nolock-")))).toBeNull();
  });

  test("a lock that cannot be written for lack of space is disk_full (exit 6), leaving no temp file", () => {
    symlinkSync("/dev/full", join(dir, `${LOCK_FILE}.${process.pid}.tmp`)); // every write: ENOSPC
    let err: unknown;
    try {
      recordInLock(dir, { repo: "o/r", revision: "rev" }, { "a.onnx": { size: 2, sha256: SHA_A } });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "disk_full", exitCode: 6 });
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a corrupt lock is a clear model_invalid error naming the file", () => {
    writeFileSync(join(dir, LOCK_FILE), "{not json");
    expect(() => readLock(dir)).toThrow(join(dir, LOCK_FILE));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ repo: "o/r", revision: "r", files: { x: { size: 1, sha256: "nope" } } }));
    expect(() => readLock(dir)).toThrow("bad entry for x");
  });
});
