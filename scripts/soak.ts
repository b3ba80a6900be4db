#!/usr/bin/env bun
/**
 * Soak (loopback only): `gigastt serve` under a steady mixed load for an
 * hour (`--quick`: 10 minutes) — 4 real-time WebSocket streams (each
 * reconnects every ~30 s, so slots churn), a REST upload every 2 s and a
 * `/health` poll every second — while the server's RSS, open file
 * descriptors, threads (Workers and runtime threads), pool slots in use and
 * live WebSocket sessions are sampled every 10 s. After the warm-up (the
 * first sixth), RSS and fds must grow by less than 5 % (the mean of the last
 * third of the samples after the warm-up against the mean of its first third), and the most
 * threads seen in the last third may not exceed the most seen in the rest
 * of the run after warm-up (Bun's own pool threads come and go; Workers
 * must not accumulate); every client call must succeed (REST: the phrase on the tone model; on any other model, the same text on every upload). Prints a Markdown
 * table; `--svg FILE` also draws RSS and fds over time; exits 1 on a failed
 * check. `--analyze FILE` re-checks the samples of an earlier `--json` run.
 *
 *   bun scripts/soak.ts [--quick | --minutes 60] [--model-dir DIR] [--svg FILE] [--json FILE]
 *   bun scripts/soak.ts --analyze FILE
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { makeToneModelDir, pcm16, toneAt, wavBytes, WsClient } from "../test/server/streaming-helpers.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    minutes: { type: "string" },
    "model-dir": { type: "string" },
    "sample-secs": { type: "string", default: "10" },
    svg: { type: "string" },
    json: { type: "string" },
    analyze: { type: "string" },
  },
  strict: true,
});
const minutes = Number(values.minutes ?? (values.quick ? 10 : 60));
const sampleMs = Number(values["sample-secs"]) * 1000;
const PHRASE = "привет мир, как дела?";
const GROWTH_LIMIT = 0.05;

interface Verdict {
  base: Sample;
  rssGrowth: number;
  fdGrowth: number;
  threadsWarm: number;
  threadsLate: number;
  failures: string[];
}

/** the growth checks over the samples of a run of `runMinutes` */
function verdict(samples: readonly Sample[], runMinutes: number): Verdict {
  const warm = samples.filter((s) => s.t >= (runMinutes * 60) / 6);
  const base = warm[0] ?? samples[0]!;
  // means over the first and the last third after warm-up (RSS swings with each GC: single samples mislead)
  const third = Math.max(1, Math.floor(warm.length / 3));
  const mean = (xs: readonly Sample[], f: (s: Sample) => number) => xs.reduce((a, s) => a + f(s), 0) / Math.max(1, xs.length);
  const early = warm.slice(0, third);
  const late = warm.slice(-third);
  const rssGrowth = mean(late, (s) => s.rssMb) / mean(early, (s) => s.rssMb) - 1;
  const fdGrowth = mean(late, (s) => s.fds) / mean(early, (s) => s.fds) - 1;
  const cut = Math.floor((warm.length * 2) / 3);
  const threadsWarm = Math.max(...warm.slice(0, Math.max(1, cut)).map((s) => s.threads));
  const threadsLate = Math.max(...warm.slice(cut).map((s) => s.threads));
  const failures: string[] = [];
  if (rssGrowth >= GROWTH_LIMIT) failures.push(`RSS grew ${(rssGrowth * 100).toFixed(1)} % after warm-up`);
  if (fdGrowth >= GROWTH_LIMIT) failures.push(`fds grew ${(fdGrowth * 100).toFixed(1)} % after warm-up`);
  if (threadsLate > threadsWarm) failures.push(`threads grew: at most ${threadsWarm} until the last third, ${threadsLate} in it`);
  return { base, rssGrowth, fdGrowth, threadsWarm, threadsLate, failures };
}

if (values.analyze) {
  const run = JSON.parse(readFileSync(values.analyze, "utf8")) as { minutes: number; samples: Sample[]; after?: Sample };
  // older files have the after-load sample (pool empty) last in `samples`
  const ss = !run.after && run.samples.at(-1)?.poolInUse === 0 ? run.samples.slice(0, -1) : run.samples;
  const v = verdict(ss, run.minutes);
  console.log(`after warm-up (t ≥ ${v.base.t} s): RSS ${(v.rssGrowth * 100).toFixed(1)} %, fds ${(v.fdGrowth * 100).toFixed(1)} %, threads at most ${v.threadsWarm} → ${v.threadsLate} in the last third (limit ${GROWTH_LIMIT * 100} %)`);
  for (const f of v.failures) console.log(`FAIL ${f}`);
  if (values.svg) writeFileSync(values.svg, svg(ss, v.base.t));
  process.exit(v.failures.length === 0 ? 0 : 1);
}

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const modelDir = values["model-dir"] ?? makeToneModelDir();
const proc = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--model-dir", modelDir, "--offline", "--pool-size", "6", "--metrics", "--log-format", "json", "--log-level", "info"], {
  stdout: "ignore",
  stderr: "pipe",
  env: { ...process.env, GIGASTT_OFFLINE: "1" },
});
process.on("exit", () => proc.kill("SIGKILL"));
const logLines: string[] = [];
const url = await new Promise<string>((resolve, reject) => {
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = "";
  let u = "";
  const timer = setTimeout(() => reject(new Error(`serve not ready within 300 s:\n${logLines.join("\n")}`)), 300_000);
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return reject(new Error(`serve exited:\n${logLines.join("\n")}`));
      buf += dec.decode(value, { stream: true });
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (logLines.length < 1000) logLines.push(l);
        if (l.includes('"gigastt listening"')) u = (JSON.parse(l) as { url: string }).url;
        if (l.includes('"model loaded: ready"')) {
          clearTimeout(timer);
          resolve(u);
        }
      }
    }
  })();
});
if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error(`not loopback: ${url}`);

interface Sample {
  t: number;
  rssMb: number;
  fds: number;
  threads: number;
  poolInUse: number;
  wsActive: number;
}

function procStats(pid: number): { rssMb: number; fds: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  return { rssMb: rss, fds: readdirSync(`/proc/${pid}/fd`).length, threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0) };
}

async function sample(t0: number): Promise<Sample> {
  const m = await (await fetch(`${url}/metrics`)).text();
  return {
    t: Math.round((performance.now() - t0) / 1000),
    ...procStats(proc.pid),
    poolInUse: Number(/gigastt_pool_in_use (\d+)/.exec(m)?.[1] ?? -1),
    wsActive: Number(/gigastt_ws_active_connections (\d+)/.exec(m)?.[1] ?? -1),
  };
}

const errors: string[] = [];
const counts = { wsSessions: 0, wsFinals: 0, rest: 0, health: 0 };
const endAt = performance.now() + minutes * 60_000;
const running = () => performance.now() < endAt;
const speech = pcm16(toneAt(PHRASE, 16000, { tailSec: 1.5 }));
const wav = wavBytes(toneAt(PHRASE, 16000), 16000);

async function stream(): Promise<void> {
  while (running()) {
    const c = await WsClient.open(`${url.replace("http", "ws")}/v1/ws`);
    await c.next("ready", 30_000);
    const until = Math.min(endAt, performance.now() + 25_000 + Math.random() * 10_000);
    for (let off = 0; performance.now() < until; off = (off + 3200) % speech.length) {
      c.send(speech.subarray(off, Math.min(off + 3200, speech.length)));
      await Bun.sleep(100);
    }
    c.json({ type: "stop" });
    const close = await c.closed;
    if (close.code !== 1000) errors.push(`ws close ${close.code}`);
    counts.wsSessions++;
    counts.wsFinals += c.ofType("final").length;
    if (c.ofType("error").length) errors.push(`ws errors ${JSON.stringify(c.ofType("error"))}`);
  }
}

// the tone model must give the phrase; any other model (the full-size stand-in's weights are random)
// must give the same text for the same bytes on every upload, under load: its first answer is the reference
let restExpected: string | undefined = values["model-dir"] === undefined ? PHRASE : undefined;
async function rest(): Promise<void> {
  while (running()) {
    const r = await fetch(`${url}/v1/transcribe?format=text`, { method: "POST", body: wav });
    const text = (await r.text()).trim();
    if (r.status === 200 && restExpected === undefined) restExpected = text;
    if (r.status !== 200 || text !== restExpected) errors.push(`rest ${r.status} ${text.slice(0, 80)}`);
    counts.rest++;
    await Bun.sleep(2000);
  }
}

async function health(): Promise<void> {
  while (running()) {
    const r = await fetch(`${url}/health`);
    if (r.status !== 200) errors.push(`health ${r.status}`);
    counts.health++;
    await Bun.sleep(1000);
  }
}

const t0 = performance.now();
const samples: Sample[] = [await sample(t0)];
const sampler = (async () => {
  while (running()) {
    await Bun.sleep(Math.min(sampleMs, Math.max(0, endAt - performance.now())));
    samples.push(await sample(t0));
    const s = samples.at(-1)!;
    process.stderr.write(`t=${s.t}s rss=${s.rssMb.toFixed(1)}MB fds=${s.fds} threads=${s.threads} pool=${s.poolInUse} ws=${s.wsActive}\n`);
  }
})();
await Promise.all([stream(), stream(), stream(), stream(), rest(), health(), sampler]);
// once the load has stopped (not part of the growth checks)
const after = await sample(t0);
proc.kill("SIGTERM");
const exit = await proc.exited;

const v = verdict(samples, minutes);
const failures = [...v.failures];
if (errors.length) failures.push(`${errors.length} client errors, first: ${errors.slice(0, 3).join("; ")}`);
if (exit !== 0) failures.push(`serve exited ${exit} after SIGTERM`);

console.log(`soak: ${minutes} min, ${counts.wsSessions} WS sessions (${counts.wsFinals} finals), ${counts.rest} REST uploads, ${counts.health} health polls; samples every ${sampleMs / 1000} s`);
console.log("| t (s) | RSS (MB) | fds | threads | pool in use | WS sessions |");
console.log("|---|---|---|---|---|---|");
const every = Math.max(1, Math.floor(samples.length / 12));
for (const [i, s] of samples.entries()) if (i % every === 0 || i === samples.length - 1) console.log(`| ${s.t} | ${s.rssMb.toFixed(1)} | ${s.fds} | ${s.threads} | ${s.poolInUse} | ${s.wsActive} |`);
console.log(`| ${after.t} (load stopped) | ${after.rssMb.toFixed(1)} | ${after.fds} | ${after.threads} | ${after.poolInUse} | ${after.wsActive} |`);
console.log(`after warm-up (t ≥ ${v.base.t} s): RSS ${(v.rssGrowth * 100).toFixed(1)} %, fds ${(v.fdGrowth * 100).toFixed(1)} %, threads at most ${v.threadsWarm} → ${v.threadsLate} in the last third (limit ${GROWTH_LIMIT * 100} %)`);
for (const f of failures) console.log(`FAIL ${f}`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ minutes, counts, samples, after, rssGrowth: v.rssGrowth, fdGrowth: v.fdGrowth, failures }, null, 2)}\n`);
if (values.svg) writeFileSync(values.svg, svg(samples, v.base.t));
process.exit(failures.length === 0 ? 0 : 1);

/** RSS (MB, left axis) and fds (right axis) over time */
function svg(ss: readonly Sample[], warmT: number): string {
  const W = 640;
  const H = 240;
  const pad = 40;
  const tMax = Math.max(1, ...ss.map((s) => s.t));
  const rMax = Math.max(1, ...ss.map((s) => s.rssMb)) * 1.1;
  const fMax = Math.max(1, ...ss.map((s) => s.fds)) * 1.1;
  const x = (t: number) => pad + ((W - 2 * pad) * t) / tMax;
  const yr = (v: number) => H - pad - ((H - 2 * pad) * v) / rMax;
  const yf = (v: number) => H - pad - ((H - 2 * pad) * v) / fMax;
  const line = (pts: string, color: string) => `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#888"/>
<line x1="${x(warmT)}" y1="${pad}" x2="${x(warmT)}" y2="${H - pad}" stroke="#ccc" stroke-dasharray="4"/>
<text x="${x(warmT) + 4}" y="${pad + 10}" fill="#888">warm-up ends</text>
${line(ss.map((s) => `${x(s.t).toFixed(1)},${yr(s.rssMb).toFixed(1)}`).join(" "), "#1f77b4")}
${line(ss.map((s) => `${x(s.t).toFixed(1)},${yf(s.fds).toFixed(1)}`).join(" "), "#ff7f0e")}
<text x="${pad}" y="${pad - 10}" fill="#1f77b4">RSS (max ${rMax.toFixed(0)} MB axis)</text>
<text x="${W - pad - 150}" y="${pad - 10}" fill="#ff7f0e">open fds (max ${fMax.toFixed(0)} axis)</text>
<text x="${W / 2 - 20}" y="${H - 10}" fill="#444">time (s), 0–${tMax}</text>
</svg>
`;
}
