/**
 * A Rust gigastt 2.15 deployment switched to this server unchanged: a systemd unit's
 * `ExecStart` (with its `Environment=` lines and a TOML config holding Rust's keys, one unknown)
 * and a docker-compose service's `command:` and `environment:` (with several Rust 2.15 flags)
 * start `gigastt serve` as a real process, reach `/ready` on a real socket, transcribe, and
 * serve `/metrics` on `--metrics-listen`. Only the port (0: any free one) and the folders are
 * the test's. Tone model.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeToneModelDir, phraseToAudio, wavBytes } from "../helpers/tone.ts";

setDefaultTimeout(60_000);

const MAIN = join(import.meta.dir, "../../src/main.ts");

const live: ReturnType<typeof Bun.spawn>[] = [];
afterEach(() => {
  for (const p of live.splice(0)) p.kill("SIGKILL");
});

/** starts `bun src/main.ts ARGS`; resolves the JSON stderr lines as they come */
function start(args: string[], env: Record<string, string>) {
  const home = mkdtempSync(join(tmpdir(), "gigastt-home-"));
  const proc = Bun.spawn(["bun", MAIN, ...args], { env: { PATH: process.env.PATH ?? "", HOME: home, GIGASTT_OFFLINE: "1", NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe" });
  live.push(proc);
  const lines: Record<string, unknown>[] = [];
  void (async () => {
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          lines.push(JSON.parse(line));
        } catch {
          lines.push({ raw: line });
        }
      }
    }
  })();
  const waitFor = async (pred: (l: Record<string, unknown>) => boolean, ms = 45_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`log line not seen (exit ${proc.exitCode}); got:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
      await Bun.sleep(100);
    }
  };
  return { proc, lines, waitFor };
}

/** ExecStart's words (double quotes group; no other shell syntax in a unit line) */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

async function readyAndTranscribe(p: ReturnType<typeof start>) {
  const listening = await p.waitFor((l) => l.msg === "gigastt listening");
  const url = String(listening.url).replace("0.0.0.0", "127.0.0.1");
  await p.waitFor((l) => l.msg === "model loaded: ready");
  const ready = await fetch(`${url}/ready`);
  expect(ready.status).toBe(200);
  const r = await fetch(`${url}/v1/transcribe?format=text`, { method: "POST", body: wavBytes(phraseToAudio("привет мир").samples, 16000) });
  expect(r.status).toBe(200);
  expect((await r.text()).trim()).toBe("привет мир");
  return { url, listening };
}

test("a Rust-style systemd unit (ExecStart, Environment=, a TOML config with Rust's keys) reaches /ready", async () => {
  const models = makeToneModelDir();
  const etc = mkdtempSync(join(tmpdir(), "gigastt-etc-"));
  const cache = join(mkdtempSync(join(tmpdir(), "gigastt-cache-")), "optimized");
  const jobs = mkdtempSync(join(tmpdir(), "gigastt-jobs-"));
  writeFileSync(
    join(etc, "gigastt.toml"),
    [
      "idle_timeout_secs = 120",
      "ws_frame_max_bytes = 524288",
      "body_limit_bytes = 52428800",
      "rate_limit_per_minute = 600",
      "rate_limit_burst = 20",
      "max_session_secs = 3600",
      "shutdown_drain_secs = 10",
      "pool_checkout_timeout_secs = 30",
      "inference_timeout_secs = 300",
      "max_audio_secs = 0",
      "jobs_enabled = true",
      "jobs_ttl_secs = 7200",
      "jobs_max = 50",
      "jobs_max_bytes = 268435456",
      "jobs_retry = 2",
      "some_future_key = 1",
    ].join("\n"),
  );
  const unit = `[Service]
Environment=GIGASTT_TRUST_PROXY=1
Environment=GIGASTT_ENCODER_INTRA_THREADS=1
Environment=GIGASTT_JOBS_DIR=${jobs}
ExecStart=/usr/local/bin/gigastt --log-level info serve --host 127.0.0.1 --port 0 --model-dir ${models} --model-variant e2e_rnnt --punctuation auto --itn auto --pool-size 2 --pool-min-size 1 --inference-timeout-secs 120 --max-audio-secs 7200 --metrics --metrics-listen 127.0.0.1:0 --endpoint-mode auto --optimized-cache-dir ${cache} --config ${join(etc, "gigastt.toml")}
`;
  const env = Object.fromEntries([...unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const exec = words(/^ExecStart=(.*)$/m.exec(unit)![1]!).slice(1);
  const p = start(exec, env);
  const { url, listening } = await readyAndTranscribe(p);
  // the unknown key is one warning line, not fatal
  const warned = p.lines.filter((l) => l.level === "warn" && String(l.msg).includes("some_future_key"));
  expect(warned.length).toBe(1);
  // --metrics-listen: its own listener; the jobs API is on (jobs_enabled in the file)
  const metrics = String(listening.metrics);
  expect(metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  expect((await fetch(metrics)).status).toBe(200);
  expect((await fetch(`${url}/metrics`)).status).toBe(404);
  expect((await fetch(`${url}/v1/jobs`)).status).toBe(200);
  p.proc.kill("SIGTERM");
  expect(await p.proc.exited).toBe(0);
});

test("a docker-compose service (command: and environment: with Rust 2.15 flags) reaches /ready", async () => {
  const models = makeToneModelDir();
  const compose = Bun.YAML.parse(`
services:
  gigastt:
    image: ghcr.io/ekhodzitsky/gigastt:2.15
    command: ["serve", "--host", "0.0.0.0", "--bind-all", "--port", "0", "--model-dir", "${models}", "--profile", "edge", "--batch-pool-size", "0", "--stream-max-window-secs", "7.5", "--stream-stable-prefix=false", "--file-window-concurrency", "2", "--skip-quantize", "--trust-proxy"]
    environment:
      GIGASTT_METRICS: "true"
      GIGASTT_METRICS_LISTEN: "0.0.0.0:0"
      GIGASTT_INFERENCE_TIMEOUT_SECS: "600"
      GIGASTT_MAX_AUDIO_SECS: "0"
      GIGASTT_POOL_MIN_SIZE: "1"
      GIGASTT_PUNCTUATION: "off"
      GIGASTT_VAD: "false"
`) as { services: { gigastt: { command: string[]; environment: Record<string, string> } } };
  const svc = compose.services.gigastt;
  const p = start(svc.command, svc.environment);
  await readyAndTranscribe(p);
  // --profile edge: one session slot and one Worker where not set, and the VAD part said out loud
  const workers = await p.waitFor((l) => l.msg === "model loaded: ready");
  expect(workers.workers).toBe(1);
  const warns = p.lines.filter((l) => l.level === "warn").map((l) => String(l.msg));
  expect(warns.some((w) => w.includes("--profile=edge") || w.includes("--profile edge"))).toBe(true);
  expect(warns.some((w) => w.includes("--stream-max-window-secs has no effect"))).toBe(true);
  expect(warns.some((w) => w.includes("--stream-stable-prefix has no effect"))).toBe(true);
  p.proc.kill("SIGTERM");
  expect(await p.proc.exited).toBe(0);
});

test("a Rust flag this server cannot honour stops the start with one feature_unavailable line, before anything is bound", async () => {
  const p = start(["serve", "--port", "0", "--model-dir", "/nonexistent/models", "--punctuation", "on", "--vad-threshold", "0.6"], {});
  expect(await p.proc.exited).toBe(2);
  await Bun.sleep(50);
  const errors = p.lines.filter((l) => l.level === "error");
  expect(errors.length).toBe(1);
  expect(errors[0]!.code).toBe("feature_unavailable");
  expect(String(errors[0]!.msg)).toContain("--punctuation");
  expect(String(errors[0]!.msg)).not.toContain("unknown flag");
  expect(p.lines.some((l) => l.msg === "gigastt listening")).toBe(false);
});
