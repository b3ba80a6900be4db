/**
 * The model store against a real HTTP server on loopback (no fetch mocks): clean download,
 * resume after a dropped connection, ignored Range, 5xx/429 retries, wrong bytes, size
 * mismatch, redirect chains, timeouts, offline and no-route failures, model-dir rules.
 * Every case checks that nothing unverified is ever installed under a model file name.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { modelSizeText, parseManifest } from "../../src/store/catalog.ts";
import { ensureModel, syncModel } from "../../src/store/ensure.ts";
import { DIR_LOCK_FILE, acquireDirLock } from "../../src/store/dirlock.ts";
import { readLock, writeLock } from "../../src/store/lockfile.ts";
import { HF_REPO, HF_REVISION } from "../../src/store/catalog.ts";
import { HfTestServer, generatedBytes } from "../helpers/hf-server.ts";
import { NAMES, env, expectInstalled, expectNothingCorrupt, fastNet, modelFiles, startServer, tempDir, failure } from "./fixtures.ts";

let server: HfTestServer;
let dir: string;
let stderr: string[];
/** set by a case that itself leaves other bytes under a model file name */
let ownBytes = false;

async function sync(over: Partial<Parameters<typeof syncModel>[0]> = {}, net = fastNet()) {
  return syncModel({
    modelDir: dir,
    precision: "fp32",
    catalog: parseManifest(JSON.stringify(server.manifest()), "test-manifest"),
    env: env(server),
    net,
    stderr: (s) => void stderr.push(s),
    tty: false,
    ...over,
  });
}

beforeEach(async () => {
  server = await startServer();
  dir = tempDir();
  stderr = [];
});
afterEach(async () => {
  // whatever a case did, a file under a served name is byte-identical to the served file
  // (except where a case put other bytes there itself, on purpose)
  if (!ownBytes) expectNothingCorrupt(dir, server);
  ownBytes = false;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("download", () => {
  test("clean download installs verified files, writes the lock, and a second run fetches nothing", async () => {
    const report = await sync();
    expect([...report.downloaded].sort()).toEqual(Object.values(NAMES).sort());
    expectInstalled(dir, server);
    for (const [name, data] of server.files) {
      expect(server.statsOf(name).bytesSent).toBe(data.length);
      expect(server.statsOf(name).contentRequests).toBe(1);
    }
    // HF layout: the resolve URL redirects to a CDN path; X-Linked headers come on the redirect
    const enc = server.log.filter((r) => r.file === NAMES.encoder);
    expect(enc.map((r) => r.status)).toEqual([302, 200]);
    expect(enc[0]!.path).toBe(`/${server.repo}/resolve/${server.revision}/${NAMES.encoder}`);
    const lock = readLock(dir)!;
    expect(lock.repo).toBe(server.repo);
    expect(lock.revision).toBe(server.revision);
    // non-TTY progress: plain lines with percentages
    expect(stderr.join("")).toContain(`downloading ${NAMES.encoder}: `);
    expect(stderr.join("")).toMatch(/100\.0%/);

    const before = server.log.length;
    const files = await ensureModel({ modelDir: dir, precision: "fp32", catalog: parseManifest(JSON.stringify(server.manifest())), env: env(server), net: fastNet(), stderr: () => {} });
    expect(server.log.length).toBe(before);
    expect(files.encoder).toBe(join(dir, NAMES.encoder));
    expect(files.vocab).toBe(join(dir, NAMES.vocab));
  });

  test("a connection dropped mid-file is resumed with Range: received bytes are not fetched again", async () => {
    const size = server.files.get(NAMES.encoder)!.length;
    server.fault(NAMES.encoder, { dropAfter: 200_000 });
    const net = fastNet();
    await sync({}, net);
    expectInstalled(dir, server);
    const st = server.statsOf(NAMES.encoder);
    expect(st.starts).toEqual([0, 200_000]);
    expect(st.bytesSent).toBe(size);
    expect(server.log.filter((r) => r.file === NAMES.encoder && r.range).map((r) => r.range)).toEqual(["bytes=200000-", "bytes=200000-"]);
    expect(net.waits.length).toBe(1);
  });

  test("a server that ignores Range gets a fresh download, never a spliced file", async () => {
    const size = server.files.get(NAMES.encoder)!.length;
    server.fault(NAMES.encoder, { dropAfter: 150_000, ignoreRange: true });
    await sync();
    expectInstalled(dir, server);
    const st = server.statsOf(NAMES.encoder);
    expect(st.starts).toEqual([0, 0]);
    expect(st.bytesSent).toBe(150_000 + size);
    expect(stderr.join("")).toContain("does not support resuming");
  });

  test("an existing partial from an earlier run is resumed", async () => {
    const data = server.files.get(NAMES.encoder)!;
    writeFileSync(join(dir, `${NAMES.encoder}.partial`), data.subarray(0, 123_456));
    await sync();
    expectInstalled(dir, server);
    expect(server.statsOf(NAMES.encoder).starts).toEqual([123_456]);
    expect(server.statsOf(NAMES.encoder).bytesSent).toBe(data.length - 123_456);
  });

  test("a partial longer than the file starts over from zero (size known from the catalog)", async () => {
    const data = server.files.get(NAMES.joint)!;
    writeFileSync(join(dir, `${NAMES.joint}.partial`), new Uint8Array(data.length + 500).fill(3));
    await sync();
    expectInstalled(dir, server);
    expect(server.statsOf(NAMES.joint).starts).toEqual([0]);
    expect(stderr.join("")).toContain("longer than the file");
  });

  test("a partial longer than the file starts over when the size is only the server's (Range refused with 416)", async () => {
    const catalog = parseManifest(JSON.stringify(server.manifest(undefined, { withHashes: false })));
    const data = server.files.get(NAMES.joint)!;
    writeFileSync(join(dir, `${NAMES.joint}.partial`), new Uint8Array(data.length + 500).fill(3));
    await sync({ catalog });
    expectInstalled(dir, server);
    expect(server.log.filter((r) => r.file === NAMES.joint).map((r) => r.status)).toEqual([302, 416, 302, 200]);
    expect(server.statsOf(NAMES.joint).starts).toEqual([0]);
    expect(stderr.join("")).toContain("HTTP 416");
  });

  test("a corrupt partial (wrong prefix) fails the hash after resume, is discarded and fetched whole", async () => {
    const data = server.files.get(NAMES.encoder)!;
    writeFileSync(join(dir, `${NAMES.encoder}.partial`), new Uint8Array(100_000).fill(1));
    await sync();
    expectInstalled(dir, server);
    expect(server.statsOf(NAMES.encoder).starts).toEqual([100_000, 0]);
    expect(server.statsOf(NAMES.encoder).bytesSent).toBe(data.length - 100_000 + data.length);
  });

  test("a partial that something else wrote to during the download is never installed", async () => {
    server.fault(NAMES.encoder, { bytesPerSec: 1_500_000 });
    const run = sync();
    const partial = join(dir, `${NAMES.encoder}.partial`);
    while (server.statsOf(NAMES.encoder).bytesSent < 100_000) await Bun.sleep(5);
    appendFileSync(partial, new Uint8Array(1_000_000).fill(7)); // beyond anything this download writes
    server.fault(NAMES.encoder, { bytesPerSec: undefined });
    await run;
    expectInstalled(dir, server);
    expect(stderr.join("")).toContain("changed on disk");
    expect(server.statsOf(NAMES.encoder).starts).toEqual([0, 0]);
  });

  test("503 twice then OK: retried with exponential backoff", async () => {
    server.fault(NAMES.decoder, { status: [{ status: 503 }, { status: 503 }] });
    const net = fastNet();
    await sync({}, net);
    expectInstalled(dir, server);
    expect(net.waits).toEqual([1000, 2000]); // base·2ⁿ with jitter factor 1 (random 0.5)
    expect(server.log.filter((r) => r.file === NAMES.decoder).map((r) => r.status)).toEqual([503, 503, 302, 200]);
    expect(stderr.join("")).toContain("HTTP 503");
  });

  test("408 is retried like 5xx", async () => {
    server.fault(NAMES.joint, { status: [{ status: 408 }] });
    const net = fastNet();
    await sync({}, net);
    expectInstalled(dir, server);
    expect(net.waits).toEqual([1000]);
  });

  test("no response within the connect timeout is retried", async () => {
    server.fault(NAMES.vocab, { noResponse: 1 });
    const net = fastNet({ connectTimeoutMs: 200 });
    await sync({}, net);
    expectInstalled(dir, server);
    expect(server.log.filter((r) => r.file === NAMES.vocab).map((r) => r.status)).toEqual([0, 302, 200]);
    expect(stderr.join("")).toContain("no response from");
  });

  test("429 with Retry-After waits as long as the server asks", async () => {
    server.fault(NAMES.joint, { status: [{ status: 429, retryAfter: "7" }] });
    const net = fastNet();
    await sync({}, net);
    expectInstalled(dir, server);
    expect(net.waits).toEqual([7000]);
  });

  test("retries stop at the waiting budget: network_error, exit 5, nothing installed", async () => {
    server.fault(NAMES.joint, { status: Array.from({ length: 50 }, () => ({ status: 502 })) });
    const net = fastNet({ retryBudgetMs: 10_000 });
    const e = await failure(sync({}, net));
    expect(e.code).toBe("network_error");
    expect(e.exitCode).toBe(5);
    expect(e.message).toContain(NAMES.joint);
    expect(e.message).toContain("HTTP 502");
    expect(net.waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10_000);
    expect(existsSync(join(dir, NAMES.joint))).toBe(false);
    expectNothingCorrupt(dir, server);
  });

  test("the waiting budget is shared by all files of a run", async () => {
    server.fault(NAMES.encoder, { status: [{ status: 503, retryAfter: "6" }] });
    server.fault(NAMES.vocab, { status: [{ status: 503, retryAfter: "6" }] });
    const net = fastNet({ retryBudgetMs: 10_000 });
    const e = await failure(sync({}, net));
    expect(e.code).toBe("network_error");
    expect(e.message).toContain(NAMES.vocab);
    expect(e.message).toContain("gave up after 6.0 s of retries");
    expect(net.waits).toEqual([6000]);
    expect(existsSync(join(dir, NAMES.encoder))).toBe(true);
    expect(existsSync(join(dir, NAMES.vocab))).toBe(false);
  });

  test("a Retry-After beyond the budget fails at once without waiting", async () => {
    server.fault(NAMES.joint, { status: [{ status: 429, retryAfter: "120" }] });
    const net = fastNet();
    const e = await failure(sync({}, net));
    expect(e.code).toBe("network_error");
    expect(e.message).toContain("asked to wait 120.0 s");
    expect(net.waits).toEqual([]);
  });

  test("4xx other than 408/429 is not retried (exit 4, URL named)", async () => {
    const catalog = parseManifest(JSON.stringify(server.manifest()));
    server.files.delete(NAMES.vocab);
    const net = fastNet();
    const e = await failure(sync({ catalog }, net));
    expect(e.code).toBe("model_missing");
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain("HTTP 404");
    expect(e.message).toContain(`/resolve/${server.revision}/${NAMES.vocab}`);
    expect(net.waits).toEqual([]);
  });

  test("wrong bytes: checksum error, partial removed, nothing installed", async () => {
    server.fault(NAMES.decoder, { corrupt: true });
    const e = await failure(sync());
    expect(e.code).toBe("checksum_mismatch");
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain(NAMES.decoder);
    expect(e.message).toContain("SHA-256 mismatch");
    expect(existsSync(join(dir, NAMES.decoder))).toBe(false);
    expect(existsSync(join(dir, `${NAMES.decoder}.partial`))).toBe(false);
    expect(readLock(dir)?.files[NAMES.decoder]).toBeUndefined();
    expectNothingCorrupt(dir, server);
  });

  test("size mismatch reported by the server fails before the body is read", async () => {
    server.fault(NAMES.decoder, { linkedSize: 12345 });
    const e = await failure(sync());
    expect(e.code).toBe("checksum_mismatch");
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain("size mismatch: the server reports 12345 bytes");
    expect(existsSync(join(dir, `${NAMES.decoder}.partial`))).toBe(false);
    expect(existsSync(join(dir, NAMES.decoder))).toBe(false);
  });

  test("a catalog size that differs from what the server sends fails before the body is read", async () => {
    const m = server.manifest();
    m.files = m.files.map((f) => (f.name === NAMES.joint ? { ...f, size: f.size! + 1 } : f));
    server.fault(NAMES.joint, { linkedSize: null });
    const e = await failure(sync({ catalog: parseManifest(JSON.stringify(m)) }));
    expect(e.code).toBe("checksum_mismatch");
    expect(e.message).toContain(`the server sends 30000 bytes, expected 30001`);
    expect(existsSync(join(dir, NAMES.joint))).toBe(false);
  });

  test("a body longer than the expected size is refused and discarded", async () => {
    server.fault(NAMES.decoder, { extraBytes: 10, chunked: true });
    const e = await failure(sync());
    expect(e.code).toBe("checksum_mismatch");
    expect(e.message).toContain("more than the expected");
    expect(existsSync(join(dir, NAMES.decoder))).toBe(false);
    expect(existsSync(join(dir, `${NAMES.decoder}.partial`))).toBe(false);
  });

  test("a redirect chain is followed; too long a chain is refused", async () => {
    server.fault(NAMES.joint, { redirects: 5 });
    await sync();
    expectInstalled(dir, server);
    expect(server.log.filter((r) => r.file === NAMES.joint).map((r) => r.status)).toEqual([302, 302, 302, 302, 302, 200]);

    const dir2 = tempDir();
    server.fault(NAMES.joint, { redirects: 12 });
    const e = await failure(sync({ modelDir: dir2 }));
    expect(e.code).toBe("model_missing");
    expect(e.message).toContain("too many redirects");
    expect(existsSync(join(dir2, NAMES.joint))).toBe(false);
    rmSync(dir2, { recursive: true, force: true });
  });

  test("a stalled body hits the idle timeout and is resumed", async () => {
    server.fault(NAMES.encoder, { stallAfter: 100_000 });
    const net = fastNet({ idleTimeoutMs: 300 });
    await sync({}, net);
    expectInstalled(dir, server);
    expect(server.statsOf(NAMES.encoder).starts).toEqual([0, 100_000]);
    expect(stderr.join("")).toContain("no data for 0.3 s");
  });

  test("HF_TOKEN is sent as a bearer token to the endpoint only, never to a redirect target on another origin", async () => {
    const other = server.url.replace("127.0.0.1", "localhost");
    server.fault(NAMES.encoder, { redirectBase: other });
    await sync({ env: env(server, { HF_TOKEN: "hf_secret" }) });
    expectInstalled(dir, server);
    const enc = server.log.filter((r) => r.file === NAMES.encoder);
    expect(enc.map((r) => r.authorization)).toEqual(["Bearer hf_secret", null]);
    const vocab = server.log.filter((r) => r.file === NAMES.vocab);
    expect(vocab.map((r) => r.authorization)).toEqual(["Bearer hf_secret", "Bearer hf_secret"]);
  });

  test("HTTP_PROXY routes requests through the proxy; NO_PROXY bypasses it", async () => {
    // the test server also answers absolute-form (proxy) requests; the endpoint host does not resolve
    const e = { HF_ENDPOINT: "http://hf-mirror.invalid", HTTP_PROXY: server.url };
    await sync({ env: e });
    expectInstalled(dir, server);
    expect(server.log.length).toBeGreaterThan(0);
    expect(server.log.every((r) => r.viaProxy)).toBe(true);

    const dir2 = tempDir();
    const err = await failure(sync({ modelDir: dir2, env: { ...e, NO_PROXY: "localhost,.invalid" } }));
    expect(err.code).toBe("offline"); // went direct: DNS failure → no route
    rmSync(dir2, { recursive: true, force: true });
  });
});

describe("interruption (an abort signal, e.g. serve on SIGTERM)", () => {
  test("stops a transfer mid-file at once: the partial is kept for resume, nothing installed, the dir lock released", async () => {
    server.fault(NAMES.encoder, { bytesPerSec: 400_000 });
    const stop = new AbortController();
    const run = sync({ signal: stop.signal });
    const t0 = Date.now();
    while (server.statsOf(NAMES.encoder).bytesSent < 100_000) {
      if (Date.now() - t0 > 10_000) throw new Error("the download did not start");
      await Bun.sleep(10);
    }
    stop.abort();
    const e = await failure(run);
    expect(e.code).toBe("shutting_down");
    expect(e.message).toContain("interrupted");
    expect(existsSync(join(dir, NAMES.encoder))).toBe(false);
    const kept = statSync(join(dir, `${NAMES.encoder}.partial`)).size;
    expect(kept).toBeGreaterThan(0);
    expect(existsSync(join(dir, DIR_LOCK_FILE))).toBe(false);
    expectNothingCorrupt(dir, server);
    // the next run resumes from the kept bytes
    server.fault(NAMES.encoder, { bytesPerSec: undefined });
    await sync();
    expectInstalled(dir, server);
    expect(server.statsOf(NAMES.encoder).starts.at(-1)).toBe(kept);
  });

  test("stops a retry wait and the wait for another process's download lock", async () => {
    server.fault(NAMES.encoder, { status: [{ status: 503, retryAfter: "30" }] });
    const stop = new AbortController();
    const slept: number[] = [];
    const run = sync({ signal: stop.signal }, fastNet({ sleep: (ms) => (slept.push(ms), Bun.sleep(ms)) }));
    while (slept.length === 0) await Bun.sleep(5);
    stop.abort();
    expect((await failure(run)).code).toBe("shutting_down");
    expect(slept).toEqual([30_000]);

    const held = await acquireDirLock(dir);
    try {
      const stop2 = new AbortController();
      const waiting = sync({ signal: stop2.signal, lockPollMs: 10 });
      while (!stderr.join("").includes("waiting for it to finish")) await Bun.sleep(5);
      stop2.abort();
      expect((await failure(waiting)).code).toBe("shutting_down");
    } finally {
      held.release();
    }
  });
});

describe("HTTPS_PROXY", () => {
  test("https requests tunnel through HTTPS_PROXY (CONNECT host:443); NO_PROXY bypasses it", async () => {
    const e = { HF_ENDPOINT: "https://hf-mirror.invalid", HTTPS_PROXY: server.url };
    const err = await failure(sync({ env: e }, fastNet({ retryBudgetMs: 3_000 })));
    expect(err.code).toBe("network_error"); // the test proxy refuses the tunnel
    expect(server.log.length).toBeGreaterThan(0);
    expect(server.log.every((r) => r.method === "CONNECT" && r.path === "hf-mirror.invalid:443")).toBe(true);
    expect(existsSync(join(dir, NAMES.encoder))).toBe(false);

    const before = server.log.length;
    const direct = await failure(sync({ env: { ...e, NO_PROXY: ".invalid" } }));
    expect(direct.code).toBe("offline"); // went direct: DNS failure
    expect(server.log.length).toBe(before);
  });
});

describe("structured output (serve's JSON logs)", () => {
  test("with a log, warnings, notices and progress are log events and nothing is written as text", async () => {
    const events: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      info: (msg: string, fields?: Record<string, unknown>) => void events.push({ level: "info", msg, fields }),
      warn: (msg: string, fields?: Record<string, unknown>) => void events.push({ level: "warn", msg, fields }),
    };
    await sync({ log });
    expect(stderr).toEqual([]);
    const progress = events.filter((e) => e.msg === "download");
    for (const name of Object.values(NAMES)) {
      const mine = progress.filter((e) => e.fields!.file === name);
      expect(mine.length).toBeGreaterThanOrEqual(2);
      expect(mine.length).toBeLessThanOrEqual(6); // start, ≤ 3 steps of 25 %, done (fast: no 10 s lines)
      expect(mine.at(-1)!.fields).toMatchObject({ file: name, bytes: server.files.get(name)!.length, total: server.files.get(name)!.length, pct: 100, done: true });
    }
  });
});

describe("offline and unreachable", () => {
  test("--offline with missing files lists each file, its URL and the folder (exit 4)", async () => {
    const e = await failure(sync({ offline: true }));
    expect(e.code).toBe("offline");
    expect(e.exitCode).toBe(4);
    for (const name of Object.values(NAMES)) {
      expect(e.message).toContain(name);
      expect(e.message).toContain(`${server.url}/${server.repo}/resolve/${server.revision}/${name}`);
    }
    expect(e.message).toContain(dir);
    expect(server.log.length).toBe(0);
  });

  test("the offline error names the other ways out: HF_ENDPOINT for a mirror, the int8 set with its size", async () => {
    const e = await failure(syncModel({ modelDir: dir, precision: "fp32", offline: true, env: {}, stderr: () => {}, tty: false }));
    expect(e.code).toBe("offline");
    expect(e.message).toContain("HF_ENDPOINT");
    expect(e.message).toContain(`--precision int8`);
    expect(e.message).toContain(modelSizeText("int8"));
    expect(e.message).toContain(modelSizeText("fp32"));
    // already int8: no advice to switch to it; a manifest's set: no built-in sizes
    const i8 = await failure(syncModel({ modelDir: dir, precision: "int8", offline: true, env: {}, stderr: () => {}, tty: false }));
    expect(i8.message).toContain("HF_ENDPOINT");
    expect(i8.message).not.toContain("--precision int8");
    expect((await failure(sync({ offline: true }))).message).not.toContain("--precision int8");
  });

  test("connection refused fails at once as offline (no retries)", async () => {
    const url = server.url;
    await server.close();
    server = await startServer(); // for afterEach
    const net = fastNet();
    const e = await failure(sync({ env: { HF_ENDPOINT: url } }, net));
    expect(e.code).toBe("offline");
    expect(e.message).toContain("connection refused");
    expect(e.message).toContain(`${url}/`);
    expect(net.waits).toEqual([]);
  });

  test("DNS failure fails at once as offline", async () => {
    const net = fastNet();
    const e = await failure(sync({ env: { HF_ENDPOINT: "http://no-such-host.invalid" } }, net));
    expect(e.code).toBe("offline");
    expect(e.message).toContain("DNS");
    expect(net.waits).toEqual([]);
  });

  test("offline int8 on a Rust-filled folder: its _int8 encoder plus the fp32 decoder and joint, one warning", async () => {
    ownBytes = true; // the folder holds other bytes under the served names on purpose
    for (const name of [...Object.values(NAMES), "v3_e2e_rnnt_encoder_int8.onnx"]) writeFileSync(join(dir, name), `not the catalog's ${name}`);
    const files = await ensureModel({ modelDir: dir, precision: "int8", offline: true, env: { HF_ENDPOINT: "http://127.0.0.1:1" }, stderr: (s) => void stderr.push(s) });
    expect(files.encoder).toBe(join(dir, "v3_e2e_rnnt_encoder_int8.onnx"));
    expect(files.decoder).toBe(join(dir, NAMES.decoder));
    expect(files.joint).toBe(join(dir, NAMES.joint));
    const warning = stderr.filter((l) => l.includes("using the fp32 file"));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toContain("v3_e2e_rnnt_decoder.int8.onnx, v3_e2e_rnnt_joint.int8.onnx");
    expect(server.log.length).toBe(0);
    // without the fp32 joint there is nothing to fall back to: the offline error names the int8 joint
    rmSync(join(dir, NAMES.joint));
    const e = await failure(ensureModel({ modelDir: dir, precision: "int8", offline: true, env: {}, stderr: () => {} }));
    expect(e.code).toBe("offline");
    expect(e.message).toContain("v3_e2e_rnnt_joint.int8.onnx");
    expect(e.message).not.toContain("v3_e2e_rnnt_decoder.int8.onnx");
  });

  test("offline with a complete locked model works without the network", async () => {
    await sync();
    const before = server.log.length;
    await sync({ offline: true });
    expect(server.log.length).toBe(before);
  });
});

describe("model-dir rules", () => {
  test("catalog-sized files without a lock are hashed once and locked; only missing files are fetched", async () => {
    for (const n of [NAMES.encoder, NAMES.vocab]) writeFileSync(join(dir, n), server.files.get(n)!);
    const report = await sync();
    expect([...report.adopted].sort()).toEqual([NAMES.encoder, NAMES.vocab].sort());
    expect([...report.downloaded].sort()).toEqual([NAMES.decoder, NAMES.joint].sort());
    expect(server.statsOf(NAMES.encoder).requests).toBe(0);
    expectInstalled(dir, server);
  });

  test("a catalog-sized file with the wrong hash is downloaded again", async () => {
    const data = server.files.get(NAMES.decoder)!;
    writeFileSync(join(dir, NAMES.decoder), new Uint8Array(data.length));
    await sync();
    expectInstalled(dir, server);
    expect(stderr.join("")).toContain("does not match the pinned SHA-256");
  });

  test("foreign files (sizes not the catalog's, no lock) are used as is with one warning line", async () => {
    ownBytes = true;
    for (const n of Object.values(NAMES)) writeFileSync(join(dir, n), "generated test model");
    const report = await sync();
    expect(report.downloaded).toEqual([]);
    expect([...report.unverified].sort()).toEqual(Object.values(NAMES).sort());
    expect(server.log.length).toBe(0);
    const warnings = stderr.join("").split("\n").filter((l) => l.startsWith("warning:"));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain("unverified");
    expect(readLock(dir)).toBeNull();
  });

  test("staging files of a crashed Rust gigastt (<file>.partial.<pid>.<nanos>) are removed; a live one is kept", async () => {
    const dead = Bun.spawnSync(["true"]).pid;
    const stale = join(dir, `${NAMES.encoder}.partial.${dead}.123456789`);
    const live = join(dir, `${NAMES.decoder}.partial.${process.pid}.123456789`);
    writeFileSync(stale, "x");
    writeFileSync(live, "x");
    await sync();
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  test("a locked file with a wrong size is re-downloaded, never used", async () => {
    await sync();
    writeFileSync(join(dir, NAMES.joint), "truncated");
    stderr = [];
    await sync();
    expectInstalled(dir, server);
    expect(server.statsOf(NAMES.joint).contentRequests).toBe(2);
    expect(stderr.join("")).toContain("the lock file says");
  });

  test("the lock is authoritative: a locked file is not re-hashed at load (size check only)", async () => {
    ownBytes = true;
    await sync();
    // same size, different bytes: only `models verify` (full hash) can tell
    const p = join(dir, NAMES.joint);
    const buf = readFileSync(p);
    buf[0] = buf[0]! ^ 0xff;
    writeFileSync(p, buf);
    const before = server.log.length;
    await sync();
    expect(server.log.length).toBe(before);
    expect(statSync(p).size).toBe(server.files.get(NAMES.joint)!.length);
  });

  test("the lock is authoritative over the catalog: a model fetched with --manifest (mirror, newer revision) is then used by a run on the built-in catalog, offline too, with one warning", async () => {
    // a "newer revision" of joint on the mirror: other bytes, other size than the built-in (pinned) catalog's
    await sync();
    const before = server.log.length;
    stderr = [];
    const files = await ensureModel({
      modelDir: dir,
      precision: "fp32",
      offline: true,
      catalog: parseManifest(JSON.stringify({ ...server.manifest(), files: server.manifest().files.map((f) => (f.name === NAMES.joint ? { ...f, size: 1234, sha256: "0".repeat(64) } : f)) }), "builtin-like"),
      env: env(server),
      net: fastNet(),
      stderr: (s) => void stderr.push(s),
    });
    expect(server.log.length).toBe(before); // nothing fetched, nothing overwritten
    expect(files.joint).toBe(join(dir, NAMES.joint));
    expectInstalled(dir, server);
    const warnings = stderr.join("").split("\n").filter((l) => l.startsWith("warning:"));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain(NAMES.joint);
    expect(warnings[0]).toContain("another version");
  });
});

describe("int8-style files (hash from the server)", () => {
  test("files without a catalog hash are verified against X-Linked-Etag and recorded in the lock", async () => {
    const catalog = parseManifest(JSON.stringify(server.manifest(undefined, { withHashes: false })));
    await sync({ catalog });
    expectInstalled(dir, server);
  });

  test("a wrong X-Linked-Etag makes the download fail its checksum", async () => {
    const catalog = parseManifest(JSON.stringify(server.manifest(undefined, { withHashes: false })));
    server.fault(NAMES.joint, { etag: `"${"ab".repeat(32)}"` });
    const e = await failure(sync({ catalog }));
    expect(e.code).toBe("checksum_mismatch");
    expect(existsSync(join(dir, NAMES.joint))).toBe(false);
  });

  test("no catalog hash and no X-Linked-Etag: refused, nothing installed", async () => {
    const catalog = parseManifest(JSON.stringify(server.manifest(undefined, { withHashes: false })));
    server.fault(NAMES.joint, { etag: null });
    const e = await failure(sync({ catalog }));
    expect(e.code).toBe("model_invalid");
    expect(e.message).toContain("X-Linked-Etag");
    expect(existsSync(join(dir, NAMES.joint))).toBe(false);
  });
});

describe("precision and the built-in catalog", () => {
  test("int8: the .int8.onnx graphs are verified against X-Linked-Etag, locked, and selected for loading", async () => {
    const int8 = ["v3_e2e_rnnt_encoder.int8.onnx", "v3_e2e_rnnt_decoder.int8.onnx", "v3_e2e_rnnt_joint.int8.onnx"];
    const s8 = await HfTestServer.start({
      files: { [int8[0]!]: generatedBytes(200_000, 7), [int8[1]!]: generatedBytes(20_000, 8), [int8[2]!]: generatedBytes(10_000, 9), [NAMES.vocab]: server.files.get(NAMES.vocab)! },
    });
    try {
      const m = s8.manifest(int8, { withHashes: false });
      m.files.push(s8.manifest([NAMES.vocab]).files[0]!);
      const files = await ensureModel({ modelDir: dir, precision: "int8", catalog: parseManifest(JSON.stringify(m)), env: { HF_ENDPOINT: s8.url }, net: fastNet(), stderr: () => {} });
      expectInstalled(dir, s8);
      expect(files.precision).toBe("int8");
      expect(files.encoder).toBe(join(dir, int8[0]!));
      expect(files.decoder).toBe(join(dir, int8[1]!));
      expect(files.joint).toBe(join(dir, int8[2]!));
    } finally {
      await s8.close();
    }
  });

  test("without a manifest the pinned built-in URLs are requested, and files that are not the pinned ones are refused", async () => {
    const pinned = await HfTestServer.start({ repo: HF_REPO, revision: HF_REVISION, files: modelFiles() });
    try {
      const e = await failure(
        syncModel({ modelDir: dir, precision: "fp32", env: { HF_ENDPOINT: pinned.url }, net: fastNet(), stderr: () => {}, freeBytes: () => 2 ** 40 }),
      );
      expect(e.code).toBe("checksum_mismatch");
      expect(e.message).toContain("the catalog expects 885084534");
      expect(pinned.log[0]!.path).toBe(`/istupakov/gigaam-v3-onnx/resolve/322c3b29492673eb7d0b434bfa9dfb8653e34d02/${NAMES.encoder}`);
      expect(existsSync(join(dir, NAMES.encoder))).toBe(false);
    } finally {
      await pinned.close();
    }
  });
});

describe("disk space", () => {
  test("the free-space check fails early with the numbers (disk_full, exit 6)", async () => {
    const e = await failure(sync({ freeBytes: () => 100_000 }));
    expect(e.code).toBe("disk_full");
    expect(e.exitCode).toBe(6);
    expect(e.message).toMatch(/needs .*\(\d+ bytes\) more, .*\(100000 bytes\) free/);
    expect(server.log.length).toBe(0);
  });
});
