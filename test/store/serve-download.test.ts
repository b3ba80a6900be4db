/**
 * `serve` obtains the model on first run through the store; a SIGTERM/SIGINT while that
 * download (or the wait for another process's download) is under way stops it at once:
 * the process exits 0, the partial stays for the next run, the dir lock is released.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { runServe } from "../../src/cli/serve.ts";
import { parseManifest } from "../../src/store/catalog.ts";
import { DIR_LOCK_FILE } from "../../src/store/dirlock.ts";
import { ensureModel } from "../../src/store/ensure.ts";
import type { HfTestServer } from "../helpers/hf-server.ts";
import { NAMES, env, expectNothingCorrupt, fastNet, startServer, tempDir } from "./fixtures.ts";

let server: HfTestServer;
let dir: string;
beforeEach(async () => {
  server = await startServer();
  dir = tempDir();
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test.each(["SIGTERM", "SIGINT"] as const)("%s during the first-run download stops it at once and exits 0", async (sig) => {
  server.fault(NAMES.encoder, { bytesPerSec: 300_000 }); // 2 s for the whole encoder
  const signals = new EventEmitter();
  let loaded = false;
  const t0 = Date.now();
  const run = runServe(["--port", "0", "--model-dir", dir, "--log-level", "silent"], {
    env: env(server),
    isTTY: false,
    signals: signals as unknown as Pick<NodeJS.Process, "on" | "off">,
    // the store's ensureModel, on the test server's catalog, with whatever serve passes
    obtainModel: (o) => ensureModel({ ...o, catalog: parseManifest(JSON.stringify(server.manifest())), net: fastNet(), stderr: () => {} }),
    loadTranscriber: async () => {
      loaded = true;
      throw new Error("not reached");
    },
  });
  while (server.statsOf(NAMES.encoder).bytesSent < 60_000) {
    if (Date.now() - t0 > 10_000) throw new Error("the download did not start");
    await Bun.sleep(10);
  }
  signals.emit(sig, sig);
  expect(await run).toBe(0);
  expect(loaded).toBe(false);
  expect(existsSync(join(dir, NAMES.encoder))).toBe(false);
  expect(statSync(join(dir, `${NAMES.encoder}.partial`)).size).toBeGreaterThan(0);
  expect(existsSync(join(dir, DIR_LOCK_FILE))).toBe(false);
  expectNothingCorrupt(dir, server);
});
