#!/usr/bin/env bun
/**
 * Load check (loopback only): starts `gigastt serve` on the tone model with
 * `--pool-size 4`, then
 *   1. holds every slot with 4 real-time WebSocket streams and runs `wrk`
 *      (Debian package `wrk`) on `/health`: latency percentiles while the
 *      pool is full (and once more with the pool idle, as the baseline);
 *   2. saturates: 16 REST uploads at once while the 4 slots are held — each
 *      waits `--pool-checkout-timeout-secs` (1) and gets 503 `timeout` with
 *      `Retry-After`;
 *   3. recovers: the streams stop, and a REST upload right after is served
 *      at once (its latency is printed).
 * Prints a Markdown table; exits 1 if a check fails (p99 on /health ≥ 50 ms
 * while busy, a saturated upload not 503 + Retry-After, no recovery).
 *
 *   bun scripts/load.ts [--duration 15] [--connections 32] [--threads 2]
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { makeToneModelDir, pcm16, toneAt, wavBytes, WsClient } from "../test/server/streaming-helpers.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { duration: { type: "string", default: "15" }, connections: { type: "string", default: "32" }, threads: { type: "string", default: "2" } },
  strict: true,
});
const P99_LIMIT_MS = 50;
const PHRASE = "привет мир, как дела?";

if (!Bun.which("wrk")) {
  console.error("load: wrk is not installed (Debian: apt-get install wrk)");
  process.exit(2);
}

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const proc = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--model-dir", makeToneModelDir(), "--offline", "--workers", "1", "--pool-size", "4", "--pool-checkout-timeout-secs", "1", "--metrics", "--log-format", "json"], {
  stdout: "ignore",
  stderr: "pipe",
  env: { ...process.env, GIGASTT_OFFLINE: "1" },
});
process.on("exit", () => proc.kill("SIGKILL"));
const url = await new Promise<string>((resolve, reject) => {
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = "";
  let u = "";
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return reject(new Error("serve exited early"));
      buf += dec.decode(value, { stream: true });
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (l.includes('"gigastt listening"')) u = (JSON.parse(l) as { url: string }).url;
        if (l.includes('"model loaded: ready"')) resolve(u);
      }
    }
  })();
});
if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error(`not loopback: ${url}`);

interface WrkResult {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: string;
}

function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

async function wrk(path: string): Promise<WrkResult> {
  const p = Bun.spawn(["wrk", "-t", values.threads!, "-c", values.connections!, "-d", `${values.duration}s`, "--latency", `${url}${path}`], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const pct = (q: string) => ms(new RegExp(`^\\s+${q}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "NaN");
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50: pct("50"),
    p90: pct("90"),
    p99: pct("99"),
    max: ms(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? "NaN"),
    errors: (/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0") + (/Socket errors: (.*)/.exec(out)?.[1] ? ` (socket: ${/Socket errors: (.*)/.exec(out)![1]})` : ""),
  };
}

const failures: string[] = [];
const idle = await wrk("/health");

// 1. every slot held by a real-time stream (100 ms frames at 16 kHz, a phrase every few seconds)
const streams = await Promise.all([0, 1, 2, 3].map(() => WsClient.open(`${url.replace("http", "ws")}/v1/ws`)));
await Promise.all(streams.map((c) => c.next("ready")));
let streaming = true;
const speech = pcm16(toneAt(PHRASE, 16000, { tailSec: 1.5 }));
const feeders = streams.map(async (c) => {
  for (let off = 0; streaming; off = (off + 3200) % speech.length) {
    c.send(speech.subarray(off, Math.min(off + 3200, speech.length)));
    await Bun.sleep(100);
  }
});
await Bun.sleep(500);
const inUse = Number(/gigastt_pool_in_use (\d+)/.exec(await (await fetch(`${url}/metrics`).catch(() => new Response(""))).text())?.[1] ?? Number.NaN);
if (inUse !== 4) failures.push(`pool_in_use ${inUse} while the 4 streams run (expected 4)`);
const busy = await wrk("/health");
if (!(busy.p99 < P99_LIMIT_MS)) failures.push(`/health p99 ${busy.p99} ms while every slot is busy (limit ${P99_LIMIT_MS} ms)`);
if (busy.errors !== "0") failures.push(`/health non-2xx while busy: ${busy.errors}`);

// 2. saturation: 16 uploads at once while the 4 slots are held
const wav = wavBytes(toneAt(PHRASE, 16000), 16000);
const t0 = performance.now();
const sat = await Promise.all(
  Array.from({ length: 16 }, async () => {
    const r = await fetch(`${url}/v1/transcribe?format=text`, { method: "POST", body: wav });
    return { status: r.status, retryAfter: r.headers.get("retry-after"), code: r.status === 503 ? ((await r.json()) as { code: string }).code : await r.text(), ms: performance.now() - t0 };
  }),
);
const refused = sat.filter((s) => s.status === 503 && s.code === "timeout" && s.retryAfter === "1");
if (refused.length !== sat.length) failures.push(`saturated uploads: ${JSON.stringify(sat.map((s) => [s.status, s.code, s.retryAfter]))}`);
const satMs = Math.max(...sat.map((s) => s.ms));

// 3. recovery: stop the streams, upload at once
streaming = false;
await Promise.all(feeders);
for (const c of streams) c.json({ type: "stop" });
await Promise.all(streams.map((c) => c.closed));
const t1 = performance.now();
const rec = await fetch(`${url}/v1/transcribe?format=text`, { method: "POST", body: wav });
const recText = (await rec.text()).trim();
const recMs = performance.now() - t1;
if (rec.status !== 200 || recText !== PHRASE) failures.push(`recovery upload: ${rec.status} ${recText}`);

proc.kill("SIGTERM");
await proc.exited;
const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "—");
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`load: wrk -t${values.threads} -c${values.connections} -d${values.duration}s on /health, gigastt serve --pool-size 4 (tone model, 1 Worker); ${availableParallelism()} CPUs, load average ${load} at the end`);
console.log("| /health | requests/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx |");
console.log("|---|---|---|---|---|---|---|");
console.log(`| pool idle | ${idle.rps.toFixed(0)} | ${f(idle.p50)} | ${f(idle.p90)} | ${f(idle.p99)} | ${f(idle.max)} | ${idle.errors} |`);
console.log(`| 4/4 slots held by real-time WS streams (pool_in_use ${inUse}) | ${busy.rps.toFixed(0)} | ${f(busy.p50)} | ${f(busy.p90)} | ${f(busy.p99)} | ${f(busy.max)} | ${busy.errors} |`);
console.log(`saturation: ${refused.length}/${sat.length} uploads → 503 timeout + Retry-After: 1, all answered within ${satMs.toFixed(0)} ms`);
console.log(`recovery: the first upload after the streams stopped → ${rec.status} in ${recMs.toFixed(0)} ms`);
for (const x of failures) console.log(`FAIL ${x}`);
process.exit(failures.length === 0 ? 0 : 1);
