/**
 * A model dir this process cannot write to (a folder the Rust server filled, mounted
 * read-only; another owner's folder): catalog-sized files are hashed against the catalog and
 * used without a lock; anything that would need a download fails with a clear error.
 * A real read-only tmpfs as root (CI runs as root, like the chroot suite), a 0555 dir otherwise.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseManifest } from "../../src/store/catalog.ts";
import { syncModel } from "../../src/store/ensure.ts";
import type { HfTestServer } from "../helpers/hf-server.ts";
import { NAMES, env, fastNet, startServer, tempDir, failure } from "./fixtures.ts";

const root = tempDir("gigastt-ro-");
const dir = join(root, "models");
mkdirSync(dir);
const asRoot = process.getuid?.() === 0;
if (asRoot) {
  const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir], { stderr: "pipe" });
  if (m.exitCode !== 0) throw new Error(`mount tmpfs failed (root needs CAP_SYS_ADMIN for this suite): ${m.stderr}`);
}
const mode = asRoot ? "read-only tmpfs" : "0555 dir";

/** Puts exactly these files in the dir, then makes it read-only. */
function fill(files: Record<string, Uint8Array>): void {
  if (asRoot) expect(Bun.spawnSync(["mount", "-o", "remount,rw", dir]).exitCode).toBe(0);
  else chmodSync(dir, 0o755);
  for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true, force: true });
  for (const [n, data] of Object.entries(files)) writeFileSync(join(dir, n), data);
  if (asRoot) expect(Bun.spawnSync(["mount", "-o", "remount,ro", dir]).exitCode).toBe(0);
  else chmodSync(dir, 0o555);
}

let server: HfTestServer;
let stderr: string[];
beforeAll(async () => {
  server = await startServer();
});
beforeEach(() => {
  stderr = [];
});
afterAll(async () => {
  await server.close();
  if (asRoot) Bun.spawnSync(["umount", dir]);
  else chmodSync(dir, 0o755);
  rmSync(root, { recursive: true, force: true });
});

const sync = () =>
  syncModel({ modelDir: dir, precision: "fp32", catalog: parseManifest(JSON.stringify(server.manifest())), env: env(server), net: fastNet(), stderr: (s) => void stderr.push(s) });

describe(`read-only model dir (${mode})`, () => {
  test("catalog-sized files without a lock are hashed against the catalog and used; nothing is fetched or written", async () => {
    fill(Object.fromEntries(server.files));
    const report = await sync();
    expect([...report.adopted].sort()).toEqual(Object.values(NAMES).sort());
    expect(report.downloaded).toEqual([]);
    expect(server.log.length).toBe(0);
    expect(existsSync(join(dir, ".gigastt-lock.json"))).toBe(false);
    expect(stderr.join("")).toContain("not writable");
  });

  test("a file that fails the hash is refused, naming it (exit 4)", async () => {
    const files = Object.fromEntries(server.files);
    files[NAMES.joint] = new Uint8Array(files[NAMES.joint]!.length);
    fill(files);
    const e = await failure(sync());
    expect(e.code).toBe("checksum_mismatch");
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain(NAMES.joint);
    expect(e.message).toContain("not writable");
  });

  test("a missing file cannot be downloaded: one error naming the dir, the file and its URL (exit 4)", async () => {
    const files = Object.fromEntries(server.files);
    delete files[NAMES.vocab];
    fill(files);
    const e = await failure(sync());
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain(`cannot download into ${dir}: the directory is not writable`);
    expect(e.message).toContain(`${server.url}/${server.repo}/resolve/${server.revision}/${NAMES.vocab}`);
    expect(server.log.length).toBe(0);
  });
});
