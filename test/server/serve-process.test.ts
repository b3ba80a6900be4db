/**
 * `gigastt serve` as a real process: usage errors exit 2 before anything is
 * bound or loaded; SIGTERM/SIGINT drain with a REST upload in flight and
 * exit 0; SIGHUP reloads limits keeping CLI overrides; missing model exits 4.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeToneModelDir, phraseToAudio, piecesToText, wavBytes } from "../helpers/tone.ts";

// real processes (bun start + model load) take a few seconds each on a loaded 2-core machine
setDefaultTimeout(30_000);

const MAIN = join(import.meta.dir, "../../src/main.ts");
const BASE_ENV = { PATH: process.env.PATH ?? "", HOME: mkdtempSync(join(tmpdir(), "gigastt-home-")), GIGASTT_OFFLINE: "1", NO_COLOR: "1" };

let modelDir = "";
beforeAll(() => {
  modelDir = makeToneModelDir();
});

interface Proc {
  readonly proc: ReturnType<typeof Bun.spawn>;
  /** stderr so far, parsed JSON lines (non-JSON lines kept as {raw}) */
  readonly lines: Record<string, unknown>[];
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<number>;
}

const live: Proc[] = [];
afterEach(() => {
  for (const p of live.splice(0)) p.proc.kill("SIGKILL");
});
afterAll(() => {
  for (const p of live.splice(0)) p.proc.kill("SIGKILL");
});

function spawnServe(args: string[], env: Record<string, string> = {}): Proc {
  const proc = Bun.spawn(["bun", MAIN, "serve", ...args], { env: { ...BASE_ENV, ...env }, stdout: "pipe", stderr: "pipe" });
  const lines: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  void (async () => {
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          lines.push(JSON.parse(line));
        } catch {
          lines.push({ raw: line });
        }
        for (const w of waiters.splice(0)) w();
      }
    }
  })();
  const p: Proc = {
    proc,
    lines,
    exited: proc.exited,
    async waitFor(pred, ms = 20_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`log line not seen; got:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), Bun.sleep(100)]);
      }
    },
  };
  live.push(p);
  return p;
}

async function runServe(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn(["bun", MAIN, "serve", ...args], { env: { ...BASE_ENV, ...env }, stdout: "pipe", stderr: "pipe" });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  return { code, stderr };
}

/** starts a server on an ephemeral port and waits until /ready is 200 */
async function startReady(extra: string[] = [], env: Record<string, string> = {}) {
  const p = spawnServe(["--port", "0", "--model-dir", modelDir, "--workers", "1", ...extra], env);
  const listening = await p.waitFor((l) => l.msg === "gigastt listening");
  const url = String(listening.url);
  await p.waitFor((l) => l.msg === "model loaded: ready");
  expect((await fetch(`${url}/ready`)).status).toBe(200);
  return { p, url };
}

describe("usage errors exit 2 before binding or loading anything", () => {
  test.each([
    [["--port", "99999"], {}, "--port"],
    [["--pool-size", "0"], {}, "--pool-size"],
    [["--host", "0.0.0.0"], {}, "--bind-all"],
    [["--host", "example.com"], {}, "--host"],
    [["--rate-limit-per-minute", "5", "--rate-limit-burst", "0"], {}, "--rate-limit-burst"],
    [["--trust-proxy=999.0.0.0/8"], {}, "--trust-proxy"],
    [["--log-format", "xml"], {}, "log-format"],
    [["--no-such-flag"], {}, "--no-such-flag"],
    [[], { GIGASTT_METRICS: "perhaps" }, "GIGASTT_METRICS"],
    [[], { GIGASTT_IDLE_TIMEOUT_SECS: "-5" }, "GIGASTT_IDLE_TIMEOUT_SECS"],
    [[], { GIGASTT_ALLOW_BIND_ANY: "2" }, "GIGASTT_ALLOW_BIND_ANY"],
  ])("%j %j", async (args, env, named) => {
    // a model dir that does not exist: the model would fail with exit 4, so exit 2 proves validation ran first
    const { code, stderr } = await runServe([...(args as string[]), "--model-dir", "/nonexistent/models"], env as Record<string, string>);
    expect(code).toBe(2);
    expect(stderr).toContain(named);
    expect(stderr).not.toContain("gigastt listening");
  });

  test("a broken --config file exits 2 naming the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gigastt-cfg-"));
    const file = join(dir, "gigastt.toml");
    writeFileSync(file, "idle_timeout_secs = = 3\n");
    const { code, stderr } = await runServe(["--config", file]);
    expect(code).toBe(2);
    expect(stderr).toContain("invalid_config");
    expect(stderr).toContain(file);
  });
});

test("a missing model exits 4 (offline) after releasing the port", async () => {
  const empty = mkdtempSync(join(tmpdir(), "gigastt-empty-"));
  const { code, stderr } = await runServe(["--port", "0", "--model-dir", empty]);
  expect(code).toBe(4);
  expect(stderr).toContain("gigastt listening");
});

test("a model file corrupted on disk: exit 4 with model_invalid naming the file, once, no stack trace, nothing left behind", async () => {
  for (const [file, corrupt] of [
    ["v3_e2e_rnnt_encoder.onnx", (b: Buffer) => Buffer.alloc(b.length, 7)], // same size, garbage
    ["v3_e2e_rnnt_joint.onnx", (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))], // truncated
  ] as const) {
    const dir = makeToneModelDir();
    writeFileSync(join(dir, file), corrupt(readFileSync(join(dir, file))));
    const before = readdirSync(dir).sort();
    const t0 = performance.now();
    const { code, stderr } = await runServe(["--port", "0", "--model-dir", dir, "--offline", "--workers", "1"]);
    expect(code).toBe(4);
    expect(performance.now() - t0).toBeLessThan(15_000);
    // one fatal line (a JSON log line: stderr is not a TTY), naming the file
    const errors = stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: string; msg: string; code?: string; exit_code?: number })
      .filter((l) => l.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "model_invalid", exit_code: 4 });
    expect(errors[0]!.msg).toContain(file);
    expect(stderr).not.toContain("    at ");
    // no half-written int8 encoder, no partials; the only new files are the complete mapped layouts
    // (issue 14) of the graphs that are intact, never one of the corrupted file
    const stem = file.replace(/\.onnx$/, "");
    const added = readdirSync(dir).filter((f) => !before.includes(f));
    expect(added.every((f) => /\.mapped\.onnx(\.data)?$/.test(f) && !f.startsWith(stem))).toBe(true);
    expect(added.filter((f) => f.endsWith(".mapped.onnx")).map((f) => `${f}.data`).sort()).toEqual(added.filter((f) => f.endsWith(".data")).sort());
  }
});

test("a port in use exits 2 with a clear message", async () => {
  const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x") });
  try {
    const { code, stderr } = await runServe(["--port", String(blocker.port), "--model-dir", modelDir]);
    expect(code).toBe(2);
    expect(stderr).toContain("already in use");
  } finally {
    blocker.stop(true);
  }
});

describe("signals", () => {
  test.each(["SIGTERM", "SIGINT"] as const)("%s drains: the REST upload in flight gets its transcript, new requests get 503, exit 0", async (signal) => {
    const { p, url } = await startReady(["--shutdown-drain-secs", "10"]);
    const audio = phraseToAudio("привет мир");
    const wav = wavBytes(audio.samples);
    // a slow upload: half now, the rest after the signal
    let push!: (b: Uint8Array | null) => void;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        push = (b) => (b ? c.enqueue(b) : c.close());
      },
    });
    const half = wav.length >> 1;
    push(wav.subarray(0, half));
    const inFlight = fetch(`${url}/v1/transcribe`, { method: "POST", body, duplex: "half" } as RequestInit);
    await Bun.sleep(300);
    p.proc.kill(signal);
    await p.waitFor((l) => l.msg === "draining");
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ reason: "shutting_down" });
    const fresh = await fetch(`${url}/v1/models`);
    expect(fresh.status).toBe(503);
    expect(((await fresh.json()) as { code: string }).code).toBe("shutting_down");
    push(wav.subarray(half));
    push(null);
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { text: string }).text).toBe(piecesToText(audio.pieces));
    expect(await p.exited).toBe(0);
    expect(p.lines.some((l) => l.msg === "drained" && l.clean === true)).toBe(true);
  });

  test("past the drain window a request still uploading is cut and the exit is still 0", async () => {
    const { p, url } = await startReady(["--shutdown-drain-secs", "1"]);
    let push!: (b: Uint8Array) => void;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        push = (b) => c.enqueue(b);
      },
    });
    // a long upload that keeps arriving (1000 bytes every 100 ms): not stalled, so only the window ends it
    const audio = wavBytes(phraseToAudio("привет").samples);
    push(audio.subarray(0, 1000));
    const trickle = setInterval(() => {
      try {
        push(new Uint8Array(1000));
      } catch {
        // the server cut the upload: the stream is closed
      }
    }, 100);
    const stuck = fetch(`${url}/v1/transcribe`, { method: "POST", body, duplex: "half" } as RequestInit).then(
      (r) => r.status,
      () => "cut",
    );
    try {
      await Bun.sleep(300);
      const t0 = performance.now();
      p.proc.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      expect(performance.now() - t0).toBeLessThan(4000);
      expect(await stuck).toBe("cut");
      expect(p.lines.some((l) => l.msg === "drain window expired: closing remaining connections")).toBe(true);
    } finally {
      clearInterval(trickle);
    }
  });

  test("a stalled upload does not hold the drain: it ends with 503 shutting_down, the exit is clean", async () => {
    const { p, url } = await startReady(["--shutdown-drain-secs", "10"]);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(wavBytes(phraseToAudio("привет").samples).subarray(0, 1000));
      },
    });
    const stalled = fetch(`${url}/v1/transcribe`, { method: "POST", body, duplex: "half" } as RequestInit).then(
      async (r) => [r.status, ((await r.json()) as { code: string }).code],
      () => "cut",
    );
    await Bun.sleep(300);
    const t0 = performance.now();
    p.proc.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(4000); // not the 10 s window
    expect(await stalled).toEqual([503, "shutting_down"]);
    expect(p.lines.some((l) => l.msg === "drained" && l.clean === true)).toBe(true);
  });

  test("a second signal during the drain closes at once, still exit 0", async () => {
    const { p, url } = await startReady(["--shutdown-drain-secs", "30"]);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(wavBytes(phraseToAudio("привет").samples).subarray(0, 1000));
      },
    });
    const stuck = fetch(`${url}/v1/transcribe`, { method: "POST", body, duplex: "half" } as RequestInit).catch(() => "cut");
    await Bun.sleep(300);
    const t0 = performance.now();
    p.proc.kill("SIGTERM");
    await p.waitFor((l) => l.msg === "draining");
    p.proc.kill("SIGINT");
    expect(await p.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(await stuck).toBe("cut");
    expect(p.lines.some((l) => l.msg === "second signal: closing now")).toBe(true);
  });

  test("SIGHUP reloads limits from --config, keeps CLI overrides, keeps the old limits on a parse error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gigastt-cfg-"));
    const file = join(dir, "gigastt.toml");
    writeFileSync(file, "idle_timeout_secs = 100\nrate_limit_burst = 5\n");
    const { p, url } = await startReady(["--config", file, "--rate-limit-burst", "3"]);
    writeFileSync(file, "idle_timeout_secs = 200\nrate_limit_burst = 50\nrate_limit_per_minute = 1\n");
    p.proc.kill("SIGHUP");
    const reloaded = await p.waitFor((l) => typeof l.msg === "string" && l.msg.startsWith("SIGHUP: config reloaded"));
    // CLI --rate-limit-burst 3 still wins over the file's 50; the limiter turned on
    expect(reloaded.changed).toEqual({ idleTimeoutSecs: { from: 100, to: 200 }, rateLimitPerMinute: { from: 0, to: 1 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/nope`)).status);
    expect(statuses).toEqual([404, 404, 404, 429]);
    writeFileSync(file, "idle_timeout_secs = [oops\n");
    p.proc.kill("SIGHUP");
    await p.waitFor((l) => l.msg === "SIGHUP: config reload failed, keeping the current limits");
    expect((await fetch(`${url}/nope`)).status).toBe(429);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    p.proc.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });
});

describe("API key rotation", () => {
  test("SIGHUP re-reads --api-key-file: the new key works, the old one gets 401; no key reaches the log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gigastt-keys-"));
    const file = join(dir, "keys");
    writeFileSync(file, "first-key-00000001\n");
    const { p, url } = await startReady(["--api-key-file", file]);
    const models = (k: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${k}` } }).then((r) => r.status);
    expect(await models("first-key-00000001")).toBe(200);
    writeFileSync(file, "# rotated\nsecond-key-0000002\n");
    p.proc.kill("SIGHUP");
    await p.waitFor((l) => l.msg === "api keys reloaded");
    expect(await models("first-key-00000001")).toBe(401);
    expect(await models("second-key-0000002")).toBe(200);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    p.proc.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    const all = JSON.stringify(p.lines);
    expect(all).not.toContain("first-key-00000001");
    expect(all).not.toContain("second-key-0000002");
  });
});

describe("logs as an operator reads them", () => {
  test("JSON mode: every stderr line is one JSON object (the model store's warning and the access lines too)", async () => {
    // no --workers: the default is chosen from cores and memory, and logged with the reason
    const p = spawnServe(["--port", "0", "--model-dir", modelDir]);
    const listening = await p.waitFor((l) => l.msg === "gigastt listening");
    expect(listening.rest).toContain(`POST ${listening.url}/v1/audio/transcriptions`);
    const workers = await p.waitFor((l) => l.msg === "inference workers");
    expect(workers).toMatchObject({ level: "info", limited_by: expect.stringMatching(/^(cores|memory)$/), reason: expect.any(String) });
    await p.waitFor((l) => l.msg === "model loaded: ready");
    const warn = await p.waitFor((l) => typeof l.msg === "string" && l.msg.startsWith("using unverified model files"));
    expect(warn).toMatchObject({ level: "warn", dir: modelDir });
    const r = await fetch(`${listening.url}/v1/transcribe`, { method: "POST", body: new Uint8Array(0) });
    expect(r.status).toBe(400);
    await p.waitFor((l) => l.msg === "request" && l.status === 400);
    p.proc.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    await Bun.sleep(50);
    expect(p.lines.filter((l) => "raw" in l)).toEqual([]);
  });

  test("--log-level error silences the warnings; a fatal error in JSON mode is a JSON line too", async () => {
    // nothing is logged at this level, so the port is chosen here (free a moment ago) and /ready is polled
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const p = spawnServe(["--port", String(port), "--model-dir", modelDir, "--workers", "1", "--log-level", "error"]);
    const until = Date.now() + 20_000;
    for (;;) {
      const status = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status, () => 0);
      if (status === 200) break;
      if (Date.now() > until) throw new Error("the server never became ready");
      await Bun.sleep(100);
    }
    p.proc.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    // the tone model's "unverified model files" warning (and every info line) is gone
    expect(p.lines).toEqual([]);
    const empty = mkdtempSync(join(tmpdir(), "gigastt-empty-"));
    const { code, stderr } = await runServe(["--port", "0", "--model-dir", empty, "--log-level", "error"]);
    expect(code).toBe(4);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", code: "offline", exit_code: 4, msg: expect.stringMatching(/^error\[offline\]: /) });
  });
});
