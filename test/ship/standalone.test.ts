/**
 * The linux-x64 executable copied alone into an empty folder, run with an
 * empty HOME, no Bun, no node_modules anywhere on its path: --version,
 * transcribe and serve (REST + a live WebSocket stream) on the tone model;
 * onnxruntime's native files extracted once into the versioned cache, also
 * when two first runs race, and with HOME missing or read-only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { makeToneModelDir, phraseToAudio, wavBytes } from "../helpers/tone.ts";
import { golos } from "../helpers/golos.ts";
import { concat } from "../helpers/wav.ts";
import { pcm16, splitBytes, WsClient } from "../server/streaming-helpers.ts";
import pkg from "../../package.json" with { type: "json" };
import { DOCS_URL, ENDPOINTS } from "../../src/server/routes/system.ts";
import { PAGE_CSP, pageHtml, WORKLET_JS, WORKLET_PATH } from "../../src/server/ui/page.ts";
import { DIST, ensureDist, run, type ServeProcess, startServe } from "./helpers.ts";

const PHRASE = "привет мир, как дела?";
let base: string;
let bin: string;
let model: string;
let wav: string;

/** environment of a bare machine: nothing but PATH to coreutils and the HOME under test */
function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", ...extra };
}

function runtimeDirs(cacheRoot: string): string[] {
  const root = join(cacheRoot, "gigastt", "runtime");
  return existsSync(root) ? readdirSync(root) : [];
}

beforeAll(async () => {
  await ensureDist();
  base = mkdtempSync(join(tmpdir(), "gigastt-alone-"));
  mkdirSync(join(base, "bin"));
  bin = join(base, "bin", "gigastt");
  copyFileSync(join(DIST, "gigastt-linux-x64"), bin);
  model = makeToneModelDir();
  wav = join(base, "hello.wav");
  writeFileSync(wav, wavBytes(phraseToAudio(PHRASE).samples));
  // nothing to fall back on: no node_modules up the tree from the binary
  for (let d = dirname(bin); ; d = dirname(d)) {
    expect(existsSync(join(d, "node_modules"))).toBe(false);
    if (d === dirname(d)) break;
  }
}, 600_000);

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

function freshHome(name: string): string {
  const h = join(base, name);
  mkdirSync(h);
  return h;
}

describe("linux-x64 executable alone in an empty folder", () => {
  test("--version prints version, commit and onnxruntime version without extracting anything", async () => {
    const home = freshHome("home-version");
    const r = await run([bin, "--version"], { env: bareEnv({ HOME: home }), cwd: dirname(bin) });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?, onnxruntime 1\.30\.0, linux-x64\)\n$/);
    expect(readdirSync(home)).toEqual([]);
  });

  test("transcribe: native files extracted once into ~/.cache/gigastt/runtime/<version+hash>/", async () => {
    const home = freshHome("home-transcribe");
    const r = await run([bin, "transcribe", "--model-dir", model, wav], { env: bareEnv({ HOME: home }), cwd: dirname(bin) });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(PHRASE);
    const dirs = runtimeDirs(join(home, ".cache"));
    expect(dirs).toHaveLength(1);
    expect(dirs[0]).toMatch(/^ort-1\.30\.0-linux-x64-[0-9a-f]{16}$/);
    const dir = join(home, ".cache", "gigastt", "runtime", dirs[0]!);
    expect(readdirSync(dir).sort()).toEqual(["libonnxruntime.so.1", "onnxruntime_binding.node"]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(home, ".cache"))).toEqual(["gigastt"]); // no onnxruntime telemetry store (~/.cache/Microsoft)
    const ino = statSync(join(dir, "libonnxruntime.so.1")).ino;
    const again = await run([bin, "transcribe", "--model-dir", model, wav], { env: bareEnv({ HOME: home }) });
    expect(again.stdout.trim()).toBe(PHRASE);
    expect(statSync(join(dir, "libonnxruntime.so.1")).ino).toBe(ino);
  }, 60_000);

  test("XDG_CACHE_HOME wins over HOME", async () => {
    const home = freshHome("home-xdg");
    const xdg = freshHome("xdg");
    const r = await run([bin, "transcribe", "--model-dir", model, wav], { env: bareEnv({ HOME: home, XDG_CACHE_HOME: xdg }) });
    expect(r.stdout.trim()).toBe(PHRASE);
    expect(runtimeDirs(xdg)).toHaveLength(1);
    expect(runtimeDirs(join(home, ".cache"))).toEqual([]);
  }, 60_000);

  test("two first runs at once both succeed and share one verified folder", async () => {
    const home = freshHome("home-race");
    const rs = await Promise.all([0, 1].map(() => run([bin, "transcribe", "--model-dir", model, wav], { env: bareEnv({ HOME: home }) })));
    for (const r of rs) expect({ code: r.code, text: r.stdout.trim() }).toEqual({ code: 0, text: PHRASE });
    const dirs = runtimeDirs(join(home, ".cache"));
    expect(dirs).toHaveLength(1);
    expect(readdirSync(join(home, ".cache", "gigastt", "runtime", dirs[0]!)).sort()).toEqual(["libonnxruntime.so.1", "onnxruntime_binding.node"]);
  }, 60_000);

  test("no HOME at all, or a read-only one: a private folder under TMPDIR", async () => {
    for (const [label, env] of [
      ["unset", {}],
      ["read-only (/proc)", { HOME: "/proc" }],
    ] as const) {
      const tmp = freshHome(`tmp-${label.replace(/\W/g, "")}`);
      const r = await run([bin, "transcribe", "--model-dir", model, wav], { env: bareEnv({ ...env, TMPDIR: tmp }), cwd: tmp });
      expect({ label, code: r.code, text: r.stdout.trim() }).toEqual({ label, code: 0, text: PHRASE });
      expect(r.stderr).not.toContain("telemetry"); // onnxruntime's own warning about a read-only HOME
      // only our folder: no onnxruntime telemetry log (mat-debug-<pid>.log) nor its `:memory:.ses` in the working directory
      const roots = readdirSync(tmp);
      expect(roots).toEqual([`gigastt-runtime-${process.getuid!()}`]);
      expect(statSync(join(tmp, roots[0]!)).mode & 0o777).toBe(0o700);
    }
  }, 60_000);

  test("nowhere to extract to: error[runtime_unavailable], exit 1, for transcribe and serve", async () => {
    const env = bareEnv({ HOME: "/proc", TMPDIR: "/proc" }); // not writable, even for root
    for (const args of [["transcribe", "--model-dir", model, wav], ["serve", "--port", "0", "--model-dir", model, "--offline"]]) {
      const r = await run([bin, ...args], { env });
      expect({ cmd: args[0], code: r.code }).toEqual({ cmd: args[0], code: 1 });
      expect(r.stderr).toContain("error[runtime_unavailable]: cannot extract and load the onnxruntime native files in any folder (/proc/.cache/gigastt/runtime/ort-1.30.0-linux-x64-");
      expect(r.stderr).toContain("set GIGASTT_RUNTIME_DIR to a writable folder that allows executables");
      expect(r.stderr).not.toContain("internal");
    }
  }, 60_000);

  describe("serve", () => {
    let srv: ServeProcess;
    let home: string;
    beforeAll(async () => {
      home = freshHome("home-serve");
      // short drain window: idle keep-alive connections from this test process hold the drain open until it ends
      srv = await startServe([bin, "serve", "--port", "0", "--model-dir", model, "--offline", "--shutdown-drain-secs", "2", "--metrics", "--enable-jobs"], { env: bareEnv({ HOME: home }), cwd: dirname(bin) });
    }, 60_000);
    afterAll(async () => {
      if (srv && srv.proc.exitCode === null) srv.proc.kill("SIGKILL");
    });

    test("the quantize Worker runs inside the binary (the tone encoder has no MatMul weight: a warning, partials stay fp32)", async () => {
      const deadline = Date.now() + 20_000;
      while (!srv.log().includes("model loaded: ready") && Date.now() < deadline) await Bun.sleep(50);
      expect(srv.log()).toContain("creating the int8 encoder for streaming partials");
      expect(srv.log()).toContain("no MatMul with a constant weight to quantize");
      expect(srv.log()).not.toContain("quantize worker");
      const m = (await (await fetch(`${srv.url}/v1/models`)).json()) as { partial_encoder: string };
      expect(m.partial_encoder).toBe("fp32");
    }, 30_000);

    test("/health answers ok", async () => {
      const r = await fetch(`${srv.url}/health`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { status: string }).status).toBe("ok");
    });

    test("/metrics (prom-client) works inside the binary: gigastt's families and the process metrics", async () => {
      const r = await fetch(`${srv.url}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
      const text = await r.text();
      for (const name of ["gigastt_http_requests_total", "gigastt_pool_size", "gigastt_inference_real_time_factor", "process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_gc_duration_seconds", "nodejs_active_handles_total"])
        expect(text).toContain(`# TYPE ${name} `);
    });

    test("the built-in page and its worklet are inside the binary, byte for byte the source's, with the strict CSP", async () => {
      const r = await fetch(`${srv.url}/`, { headers: { accept: "text/html" } });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(pageHtml({ version: pkg.version, endpoints: ENDPOINTS, docs: DOCS_URL }));
      expect(r.headers.get("content-security-policy")).toBe(PAGE_CSP);
      expect(r.headers.get("permissions-policy")).toContain("microphone=(self)");
      const w = await fetch(`${srv.url}${WORKLET_PATH}`);
      expect(await w.text()).toBe(WORKLET_JS);
    });

    test("REST transcription", async () => {
      const r = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: await Bun.file(wav).bytes() });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { text: string }).text).toBe(PHRASE);
    });

    test("jobs (bun:sqlite inside the binary): submit → done → result; the store in ~/.gigastt/jobs; `gigastt jobs list`", async () => {
      const sub = await fetch(`${srv.url}/v1/jobs`, { method: "POST", body: await Bun.file(wav).bytes() });
      expect(sub.status).toBe(202);
      const { job_id } = (await sub.json()) as { job_id: string };
      const deadline = Date.now() + 20_000;
      let status = "";
      while (status !== "done" && Date.now() < deadline) {
        status = ((await (await fetch(`${srv.url}/v1/jobs/${job_id}`)).json()) as { status: string }).status;
        if (status !== "done") await Bun.sleep(50);
      }
      expect(status).toBe("done");
      expect(((await (await fetch(`${srv.url}/v1/jobs/${job_id}/result`)).json()) as { text: string }).text).toBe(PHRASE);
      expect(existsSync(join(home, ".gigastt", "jobs", "jobs.db"))).toBe(true);
      const list = await run([bin, "jobs", "list", "--url", srv.url], { env: bareEnv({ HOME: home }) });
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(job_id);
    }, 30_000);

    test("live WebSocket stream: ready → PCM16 frames → stop → final", async () => {
      const c = await WsClient.open(srv.ws);
      const ready = await c.next("ready");
      expect(ready.sample_rate).toBe(48000);
      c.json({ type: "configure", sample_rate: 16000 });
      for (const f of splitBytes(pcm16(phraseToAudio(PHRASE).samples), 3200)) {
        c.send(f);
        await Bun.sleep(2);
      }
      c.json({ type: "stop" });
      await c.closed;
      expect(c.ofType("error")).toEqual([]);
      expect(c.ofType("final").map((m) => m.text).filter(Boolean).join(" ")).toBe(PHRASE);
    }, 30_000);

    test("the binary's own healthcheck sees it (also --ready through GIGASTT_PORT); SIGTERM exits 0", async () => {
      const ok = await run([bin, "healthcheck", "--url", `${srv.url}/health`], { env: bareEnv({ HOME: home }) });
      expect(ok.code).toBe(0);
      const ready = await run([bin, "healthcheck", "--ready"], { env: bareEnv({ HOME: home, GIGASTT_PORT: new URL(srv.url).port }) });
      expect({ code: ready.code, out: ready.stdout }).toEqual({ code: 0, out: `healthy: ${srv.url}/ready answered 200\n` });
      expect(await srv.stop()).toBe(0);
      const down = await run([bin, "healthcheck", "--url", `${srv.url}/health`, "--timeout-ms", "1000"], { env: bareEnv({ HOME: home }) });
      expect(down.code).toBe(1);
    }, 30_000);
  });

  describe("serve --vad", () => {
    let srv: ServeProcess;
    let mixed: Uint8Array;
    beforeAll(async () => {
      // Golos speech, then the tones of "как дела" (words to the tone model, not speech to Silero)
      mixed = wavBytes(concat(await golos(0), new Float32Array(16000), phraseToAudio("как дела").samples));
      srv = await startServe([bin, "serve", "--port", "0", "--model-dir", model, "--offline", "--skip-quantize", "--vad"], { env: bareEnv({ HOME: freshHome("home-vad") }), cwd: dirname(bin) });
    }, 60_000);
    afterAll(async () => {
      if (srv && srv.proc.exitCode === null) await srv.stop();
    });

    test("the embedded Silero VAD runs inside the binary: ?vad=true drops the tones, ?vad=false keeps them", async () => {
      const words = async (q: string) => {
        const r = await fetch(`${srv.url}/v1/transcribe?vad=${q}`, { method: "POST", body: mixed });
        expect(r.status).toBe(200);
        return ((await r.json()) as { words: { word: string; start: number }[] }).words.filter((w) => w.start >= 5).map((w) => w.word);
      };
      expect((await words("false")).length).toBeGreaterThan(0); // the tones' pieces (the tone model's words)
      expect(await words("true")).toEqual([]);
    }, 30_000);
  });
});
