import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobsLayout, type JobsFs, NODE_FS, receiveToFile, writeAtomic } from "./files.ts";

async function* chunks(...parts: string[]) {
  for (const p of parts) yield new TextEncoder().encode(p);
}

function layout(): JobsLayout {
  const l = new JobsLayout(mkdtempSync(join(tmpdir(), "gigastt-jobfiles-")));
  l.ensure();
  return l;
}

test("an upload is stored whole with its SHA-256", async () => {
  const l = layout();
  const r = await receiveToFile(chunks("abc", "def"), l.tmp("u"));
  expect(r).toEqual({ bytes: 6, sha256: new Bun.CryptoHasher("sha256").update("abcdef").digest("hex") });
  expect(readFileSync(l.tmp("u"), "utf8")).toBe("abcdef");
});

test("a failing upload (client gone, full disk) leaves no file; ENOSPC is disk_full", async () => {
  const l = layout();
  async function* broken() {
    yield new Uint8Array(10);
    throw new Error("client went away");
  }
  await expect(receiveToFile(broken(), l.tmp("a"))).rejects.toThrow("client went away");
  expect(existsSync(l.tmp("a"))).toBe(false);
  const full: JobsFs = {
    async create(p) {
      const f = await NODE_FS.create(p);
      return { ...f, write: async () => Promise.reject(Object.assign(new Error("no space"), { code: "ENOSPC" })) };
    },
  };
  await expect(receiveToFile(chunks("x"), l.tmp("b"), full)).rejects.toMatchObject({ code: "disk_full", http: 507 });
  expect(readdirSync(l.tmpDir)).toEqual([]);
});

test("writeAtomic replaces the file whole; sweep removes tmp files and files without a row", async () => {
  const l = layout();
  await writeAtomic(l.result("a"), l.resultsDir, l.tmp("a.result"), '{"v":1}');
  await writeAtomic(l.result("a"), l.resultsDir, l.tmp("a.result"), '{"v":2}');
  expect(readFileSync(l.result("a"), "utf8")).toBe('{"v":2}');
  writeFileSync(l.tmp("half-written"), "x");
  writeFileSync(l.audio("orphan"), "x");
  writeFileSync(l.audio("a"), "x");
  expect(l.sweep(new Set(["a"]))).toBe(2);
  expect(readdirSync(l.tmpDir)).toEqual([]);
  expect(readdirSync(l.audioDir)).toEqual(["a"]);
  expect(readdirSync(l.resultsDir)).toEqual(["a.json"]);
});
