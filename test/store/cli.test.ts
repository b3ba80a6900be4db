/**
 * `gigastt download` and `gigastt models` end to end: in-process through the real CLI runner
 * (exit codes, messages), and as real subprocesses for two concurrent downloads on one dir
 * and for a `kill -9` in the middle of a download followed by a new run.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { type StoreCliDeps, makeDownloadCommand } from "../../src/cli/download.ts";
import { makeModelsCommand } from "../../src/cli/models.ts";
import { runCli } from "../../src/cli/run.ts";
import { DIR_LOCK_FILE } from "../../src/store/dirlock.ts";
import { syncModel } from "../../src/store/ensure.ts";
import { parseManifest } from "../../src/store/catalog.ts";
import type { HfTestServer } from "../helpers/hf-server.ts";
import { NAMES, env, expectInstalled, expectNothingCorrupt, fastNet, startServer, tempDir } from "./fixtures.ts";

const ROOT = resolve(import.meta.dir, "../..");
const MAIN = join(ROOT, "src/main.ts");

let server: HfTestServer;
let dir: string;
let manifest: string;

beforeEach(async () => {
  server = await startServer();
  dir = tempDir();
  manifest = server.writeManifest(join(tempDir("gigastt-manifest-"), "manifest.json"));
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[], extraEnv: Record<string, string> = {}, deps: Partial<StoreCliDeps> = {}) {
  let stdout = "";
  let stderr = "";
  const d: StoreCliDeps = {
    env: env(server, extraEnv),
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    tty: false,
    net: fastNet(),
    ...deps,
  };
  const root = defineCommand({ meta: { name: "gigastt" }, subCommands: { download: makeDownloadCommand(d), models: makeModelsCommand(d) } });
  const code = await runCli(root, argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

describe("gigastt download / models (in-process CLI)", () => {
  test("Rust 2.15's download flags: --progress json is NDJSON on stdout (download, verify, done), the rest on stderr", async () => {
    const r = await cli(["download", "--model-dir", dir, "--manifest", manifest, "--progress", "json", "--skip-quantize", "--skip-diarization", "--prequantized=false", "--model-variant", "e2e_rnnt"]);
    expect(r.code).toBe(0);
    const events = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.every((e) => typeof e.phase === "string")).toBe(true);
    const downloads = events.filter((e) => e.phase === "download");
    for (const name of Object.values(NAMES)) {
      const last = downloads.filter((e) => e.file === name).at(-1);
      expect(last, name).toBeDefined();
      expect(last!.bytes_done).toBe(last!.bytes_total);
    }
    expect(events.filter((e) => e.phase === "verify").map((e) => e.file).sort()).toEqual(Object.values(NAMES).sort());
    expect(events.at(-1)).toEqual({ phase: "done", model_dir: dir });
    expect(r.stderr).toContain(`ready in ${dir}`);
    expectInstalled(dir, server);
  });

  test("--progress json: a failure ends stdout with one error event carrying Rust's kind", async () => {
    const r = await cli(["download", "--model-dir", dir, "--manifest", manifest, "--progress", "json", "--offline"]);
    expect(r.code).toBe(4);
    const last = JSON.parse(r.stdout.trimEnd().split("\n").at(-1)!);
    expect(last).toMatchObject({ phase: "error", kind: "network" });
    expect(typeof last.message).toBe("string");
  });

  test.each([
    [["--model-variant", "rnnt"], "feature_unavailable", "--model-variant rnnt"],
    [["--model-variant", "ml_ctc_large"], "feature_unavailable", "multilingual CTC"],
    [["--ane"], "feature_unavailable", "--ane"],
    [["--model-variant", "whisper"], "usage", "--model-variant"],
    [["--progress", "xml"], "usage", "--progress"],
    [["--fp32", "--precision", "int8"], "usage", "--fp32"],
  ])("download %j → %s (exit 2), one line naming it", async (flags, code, named) => {
    const r = await cli(["download", "--model-dir", dir, "--manifest", manifest, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(code);
    expect(r.stderr).toContain(named);
    expect(r.stderr.trim().split("\n").length).toBe(1);
  });

  test("GIGASTT_MODEL_VARIANT=rnnt is refused the same way", async () => {
    const r = await cli(["download", "--model-dir", dir, "--manifest", manifest], { GIGASTT_MODEL_VARIANT: "rnnt" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("GIGASTT_MODEL_VARIANT=rnnt");
  });

  test("download fetches, verifies and prints where it went; models list/verify/path agree", async () => {
    const r = await cli(["download", "--model-dir", dir, "--manifest", manifest]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`ready in ${dir}`);
    expect(r.stdout).toContain(`${NAMES.encoder}`);
    expect(r.stdout).toContain("downloaded, verified");
    expectInstalled(dir, server);

    const list = await cli(["models", "list", "--model-dir", dir, "--manifest", manifest, "--json"]);
    expect(list.code).toBe(0);
    const json = JSON.parse(list.stdout);
    expect(json.dir).toBe(dir);
    expect(json.sets[0].complete).toBe(true);
    expect(json.sets[0].files.map((f: { status: string }) => f.status)).toEqual(["locked", "locked", "locked", "locked"]);
    expect(json.sets[0].files[0].url).toBe(`${server.url}/${server.repo}/resolve/${server.revision}/${NAMES.encoder}`);

    const ok = await cli(["models", "verify", "--model-dir", dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^ok +${NAMES.encoder.replace(/\./g, "\\.")} `, "m"));

    const path = await cli(["models", "path"], { GIGASTT_MODEL_DIR: dir });
    expect(path.stdout).toBe(`${dir}\n`);
  });

  test("models list after a --manifest install heads the set with the manifest's source, not the catalog's", async () => {
    expect((await cli(["download", "--model-dir", dir, "--manifest", manifest, "--quiet", "--skip-quantize"])).code).toBe(0);
    const r = await cli(["models", "list", "--model-dir", dir]);
    expect(r.code).toBe(0);
    const head = r.stdout.split("\n").find((l) => l.startsWith("fp32: "))!;
    expect(head).toStartWith(`fp32: ${server.repo}@${server.revision}`);
    expect(head).toContain("built-in catalog has istupakov/gigaam-v3-onnx@");
    const json = JSON.parse((await cli(["models", "list", "--model-dir", dir, "--json"])).stdout);
    expect(json.sets[0]).toMatchObject({ set: "fp32", repo: server.repo, revision: server.revision, catalog: { repo: "istupakov/gigaam-v3-onnx", source: "builtin" } });
    // an empty folder: the catalog's own source, no `catalog` note
    const fresh = JSON.parse((await cli(["models", "list", "--model-dir", tempDir(), "--json"])).stdout);
    expect(fresh.sets[0]).toMatchObject({ set: "fp32", repo: "istupakov/gigaam-v3-onnx" });
    expect(fresh.sets[0].catalog).toBeUndefined();
  });

  test("models verify prints one aligned table (status, file, size, details)", async () => {
    expect((await cli(["download", "--model-dir", dir, "--manifest", manifest, "--quiet", "--skip-quantize"])).code).toBe(0);
    rmSync(join(dir, NAMES.joint));
    const r = await cli(["models", "verify", "--model-dir", dir]);
    const rows = r.stdout.trimEnd().split("\n").slice(1);
    expect(rows.length).toBe(4);
    // every file name starts in the same column, and every size ends in the same column
    const nameCol = rows.map((l) => l.indexOf("v3_e2e_rnnt_"));
    expect(new Set(nameCol).size).toBe(1);
    const withSize = rows.filter((l) => !l.startsWith("MISSING"));
    const ends = withSize.map((l) => l.search(/B  sha256 /));
    expect(new Set(ends).size).toBe(1);
    expect(rows.every((l) => l === l.trimEnd())).toBe(true);
  });

  test("models verify exits 1 naming the file whose bytes changed (same size)", async () => {
    expect((await cli(["download", "--model-dir", dir, "--manifest", manifest, "--quiet"])).code).toBe(0);
    const p = join(dir, NAMES.decoder);
    const buf = readFileSync(p);
    buf[100] = buf[100]! ^ 1;
    writeFileSync(p, buf);
    const r = await cli(["models", "verify", "--model-dir", dir, "--manifest", manifest]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^MISMATCH +${NAMES.decoder.replace(/\./g, "\\.")} `, "m"));
    expect(r.stderr).toContain(`${NAMES.decoder} (mismatch)`);
    expect(r.stdout).toMatch(new RegExp(`^ok +${NAMES.encoder.replace(/\./g, "\\.")} `, "m"));
  });

  test("models verify --precision int8: the Rust server's _int8 encoder is reported as present but unverifiable, not missing", async () => {
    writeFileSync(join(dir, "v3_e2e_rnnt_encoder_int8.onnx"), "rust-quantized");
    const r = await cli(["models", "verify", "--model-dir", dir, "--precision", "int8"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^UNVERIFIED +v3_e2e_rnnt_encoder\.int8\.onnx +\S.* present as v3_e2e_rnnt_encoder_int8\.onnx/m);
    expect(r.stdout).toMatch(/^MISSING +v3_e2e_rnnt_decoder\.int8\.onnx$/m);
  });

  test("models verify on an empty dir reports every missing file (exit 1)", async () => {
    const r = await cli(["models", "verify", "--model-dir", dir]);
    expect(r.code).toBe(1);
    for (const n of Object.values(NAMES)) expect(r.stdout).toMatch(new RegExp(`^MISSING +${n.replace(/\./g, "\\.")}$`, "m"));
  });

  test("the built-in catalog lists fp32 and int8 sets with pinned URLs", async () => {
    const r = await cli(["models", "list", "--model-dir", dir, "--json"], { HF_ENDPOINT: "https://huggingface.co" });
    const json = JSON.parse(r.stdout);
    expect(json.sets.map((s: { set: string }) => s.set)).toEqual(["fp32", "int8"]);
    expect(json.sets[1].files.map((f: { name: string }) => f.name)).toEqual([
      "v3_e2e_rnnt_encoder.int8.onnx",
      "v3_e2e_rnnt_decoder.int8.onnx",
      "v3_e2e_rnnt_joint.int8.onnx",
      "v3_e2e_rnnt_vocab.txt",
    ]);
    expect(json.sets[0].files[0].url).toBe(
      "https://huggingface.co/istupakov/gigaam-v3-onnx/resolve/322c3b29492673eb7d0b434bfa9dfb8653e34d02/v3_e2e_rnnt_encoder.onnx",
    );
  });

  test("wrong bytes: exit 4 with one error line naming the file, no stack trace, nothing installed", async () => {
    server.fault(NAMES.decoder, { corrupt: true });
    const r = await cli(["download", "--model-dir", dir, "--manifest", manifest, "--quiet"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`error\\[checksum_mismatch\\]: ${NAMES.decoder.replace(/\./g, "\\.")}: SHA-256 mismatch`));
    expect(r.stderr).not.toContain("    at ");
    expect(existsSync(join(dir, NAMES.decoder))).toBe(false);
    expect(existsSync(join(dir, `${NAMES.decoder}.partial`))).toBe(false);
    expectNothingCorrupt(dir, server);
  });

  test("GIGASTT_OFFLINE=yes: exit 4 listing files and URLs; an invalid boolean is a usage error", async () => {
    const r = await cli(["download", "--model-dir", dir, "--manifest", manifest], { GIGASTT_OFFLINE: "yes" });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("error[offline]");
    expect(r.stderr).toContain(`${server.url}/${server.repo}/resolve/${server.revision}/${NAMES.vocab}`);
    expect(server.log.length).toBe(0);
    const bad = await cli(["download", "--model-dir", dir], { GIGASTT_OFFLINE: "maybe" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("GIGASTT_OFFLINE");
  });

  test("network failure after retries exits 5", async () => {
    server.fault(NAMES.vocab, { status: Array.from({ length: 30 }, () => ({ status: 500 })) });
    const r = await cli(["download", "--model-dir", dir, "--manifest", manifest, "--quiet"], {}, { net: fastNet({ retryBudgetMs: 5_000 }) });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("error[network_error]");
  });

  test("usage errors: bad --precision, bad GIGASTT_PRECISION, unknown flag, bad manifest", async () => {
    expect((await cli(["download", "--precision", "fp16"])).code).toBe(2);
    const envBad = await cli(["download", "--model-dir", dir], { GIGASTT_PRECISION: "fp16" });
    expect(envBad.code).toBe(2);
    expect(envBad.stderr).toContain("GIGASTT_PRECISION");
    expect((await cli(["download", "--bogus"])).code).toBe(2);
    const mf = join(dir, "bad.json");
    writeFileSync(mf, '{"repo":"a/b","revision":"r","files":[{"name":"../x"}]}');
    const bad = await cli(["download", "--model-dir", dir, "--manifest", mf]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid manifest");
    expect((await cli(["models"])).code).toBe(2);
  });
});

function spawnCli(args: string[], extraEnv: Record<string, string> = {}) {
  return Bun.spawn(["bun", MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: dir, HF_ENDPOINT: server.url, ...extraEnv },
    stdout: "pipe",
    stderr: "pipe",
  });
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

describe("real processes", () => {
  test("two concurrent downloads on one dir: one waits, then reuses the finished files", async () => {
    server.fault(NAMES.encoder, { bytesPerSec: 1_000_000 });
    const a = spawnCli(["download", "--model-dir", dir, "--manifest", manifest]);
    await until(() => server.statsOf(NAMES.encoder).bytesSent > 0 || server.log.length > 2, "the first download to start");
    const b = spawnCli(["download", "--model-dir", dir, "--manifest", manifest]);
    const [ca, cb] = await Promise.all([a.exited, b.exited]);
    const errB = await new Response(b.stderr).text();
    const errA = await new Response(a.stderr).text();
    expect([ca, cb]).toEqual([0, 0]);
    expect(errA + errB).toContain("is downloading the model into");
    expect(errA + errB).toContain("waiting");
    for (const name of server.files.keys()) {
      expect(server.statsOf(name).contentRequests).toBe(1);
      expect(server.statsOf(name).bytesSent).toBe(server.files.get(name)!.length);
    }
    expect(await new Response(b.stdout).text()).toContain(`ready in ${dir}`);
    expectInstalled(dir, server);
    expect(existsSync(join(dir, DIR_LOCK_FILE))).toBe(false);
  }, 20_000);

  test("kill -9 mid-download, then a new run takes over the stale lock and resumes the partial", async () => {
    const data = server.files.get(NAMES.encoder)!;
    server.fault(NAMES.encoder, { bytesPerSec: 600_000 });
    const a = spawnCli(["download", "--model-dir", dir, "--manifest", manifest]);
    await until(() => server.statsOf(NAMES.encoder).bytesSent >= 250_000, "the encoder download to be under way");
    a.kill(9);
    expect(await a.exited).not.toBe(0);
    expect(existsSync(join(dir, NAMES.encoder))).toBe(false); // nothing unverified under the final name
    expect(existsSync(join(dir, DIR_LOCK_FILE))).toBe(true); // left behind by the dead process
    const partial = statSync(join(dir, `${NAMES.encoder}.partial`)).size;
    expect(partial).toBeGreaterThan(0);
    expect(Buffer.compare(readFileSync(join(dir, `${NAMES.encoder}.partial`)), Buffer.from(data.subarray(0, partial)))).toBe(0);

    server.fault(NAMES.encoder, { bytesPerSec: undefined });
    const sentBefore = server.statsOf(NAMES.encoder).bytesSent;
    await syncModel({ modelDir: dir, precision: "fp32", catalog: parseManifest(readFileSync(manifest, "utf8")), env: env(server), net: fastNet(), stderr: () => {}, lockPollMs: 20 });
    expectInstalled(dir, server);
    const st = server.statsOf(NAMES.encoder);
    expect(st.starts.at(-1)).toBe(partial);
    expect(st.bytesSent - sentBefore).toBe(data.length - partial);
    expect(existsSync(join(dir, DIR_LOCK_FILE))).toBe(false);
  }, 20_000);
});
