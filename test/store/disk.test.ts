/**
 * Disk full. On a real small tmpfs when this process may mount one (root with CAP_SYS_ADMIN);
 * otherwise the stand-in: the free-space figure is injected for the early check, and the
 * partial is a symlink to /dev/full (every write fails with ENOSPC) for the mid-write case.
 * The test names say which one ran.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { parseManifest } from "../../src/store/catalog.ts";
import { DIR_LOCK_FILE } from "../../src/store/dirlock.ts";
import { syncModel } from "../../src/store/ensure.ts";
import type { HfTestServer } from "../helpers/hf-server.ts";
import { NAMES, env, expectInstalled, fastNet, startServer, tempDir, failure } from "./fixtures.ts";

const SMALL = 512 * 1024;

function tryMountTmpfs(dir: string, bytes: number): boolean {
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir], { stdout: "ignore", stderr: "ignore" });
  return r.exitCode === 0;
}

const root = tempDir("gigastt-disk-");
const dir = join(root, "models");
mkdirSync(dir);
const mounted = tryMountTmpfs(dir, SMALL);
const mode = mounted ? "real tmpfs" : "stand-in: injected free space, /dev/full partial";
let server: HfTestServer;

beforeAll(async () => {
  server = await startServer(); // 600 kB encoder + ~100 kB more: more than SMALL
});
afterAll(async () => {
  await server.close();
  if (mounted) Bun.spawnSync(["umount", dir]);
  rmSync(root, { recursive: true, force: true });
});


describe("disk full", () => {
  // needs a filesystem that really fills up (the stand-in cannot make the lock file's own write fail)
  if (mounted)
    test("a full disk fails with disk_full at once, even where the lock file cannot be written, and leaves no lock behind (real tmpfs)", async () => {
      // sizes unknown up front (no manifest sizes): the lock file's own write is the first to hit ENOSPC
      const catalog = parseManifest(JSON.stringify(server.manifest([NAMES.joint], { withHashes: false })));
      const filler = join(dir, "filler");
      Bun.spawnSync(["sh", "-c", `cat /dev/zero > ${filler}`]);
      try {
        for (let run = 0; run < 2; run++) {
          const stderr: string[] = [];
          const e = await failure(syncModel({ modelDir: dir, precision: "fp32", catalog, env: env(server), net: fastNet(), stderr: (s) => void stderr.push(s), lockPollMs: 10 }));
          expect(e.code).toBe("disk_full");
          expect(e.exitCode).toBe(6);
          // the second run does not wait for a lock nobody holds
          expect(stderr.join("")).not.toContain("waiting");
          expect(existsSync(join(dir, DIR_LOCK_FILE))).toBe(false);
        }
        expect(existsSync(join(dir, NAMES.joint))).toBe(false);
        expect(server.log.length).toBe(0);
      } finally {
        rmSync(filler, { force: true });
      }
    });

  test(`the early free-space check refuses with the numbers before any request (${mode})`, async () => {
    const e = await failure(
      syncModel({
        modelDir: dir,
        precision: "fp32",
        catalog: parseManifest(JSON.stringify(server.manifest())),
        env: env(server),
        net: fastNet(),
        stderr: () => {},
        ...(mounted ? {} : { freeBytes: () => SMALL }),
      }),
    );
    expect(e.code).toBe("disk_full");
    expect(e.exitCode).toBe(6);
    expect(e.message).toContain(dir);
    expect(e.message).toMatch(/needs .* \(\d+ bytes\) more, .* \(\d+ bytes\) free/);
    expect(server.log.length).toBe(0);
  });

  test(`ENOSPC while writing: disk_full, the partial is kept for resume, nothing installed (${mode})`, async () => {
    // no size known up front (no size in the manifest, no X-Linked-Size, chunked body): the early check cannot catch it
    const catalog = parseManifest(JSON.stringify(server.manifest([NAMES.encoder], { withHashes: false })));
    server.fault(NAMES.encoder, { linkedSize: null, chunked: true });
    const partial = join(dir, `${NAMES.encoder}.partial`);
    if (!mounted) symlinkSync("/dev/full", partial);
    const e = await failure(syncModel({ modelDir: dir, precision: "fp32", catalog, env: env(server), net: fastNet(), stderr: () => {} }));
    expect(e.code).toBe("disk_full");
    expect(e.exitCode).toBe(6);
    expect(e.message).toContain(NAMES.encoder);
    expect(existsSync(join(dir, NAMES.encoder))).toBe(false);
    if (mounted) {
      // the bytes that made it are a correct prefix, and freeing space lets the next run resume from them
      const kept = statSync(partial).size;
      expect(kept).toBeGreaterThan(0);
      expect(e.message).toContain("to resume");
      const data = server.files.get(NAMES.encoder)!;
      expect(Buffer.compare(readFileSync(partial), Buffer.from(data.subarray(0, kept)))).toBe(0);
      expect(Bun.spawnSync(["mount", "-o", `remount,size=${4 * SMALL}`, dir]).exitCode).toBe(0);
      await syncModel({ modelDir: dir, precision: "fp32", catalog, env: env(server), net: fastNet(), stderr: () => {} });
      expectInstalled(dir, server, [NAMES.encoder]);
      expect(server.statsOf(NAMES.encoder).starts.at(-1)).toBe(kept);
    } else {
      rmSync(partial);
    }
  });
});
