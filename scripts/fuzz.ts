#!/usr/bin/env bun
/**
 * Protocol fuzzer, full run: starts `gigastt serve` (tone model, loopback,
 * an ephemeral HTTP port and Wyoming port, `--metrics`, a 1 s body idle
 * timeout) and drives the fuzzer of test/helpers/fuzz.ts at it — HTTP
 * requests, WebSocket frames, Wyoming events and WAV containers, `--cases`
 * per surface (default 100 000) from a fixed `--seed`. It stops by itself
 * and exits 1 if any answer broke an oracle (`internal`, a 5xx other than
 * 503, an uncatalogued code, a hang), the server crashed, or
 * `gigastt_errors_total{code="internal"}` is not 0. Loopback only.
 *
 *   bun scripts/fuzz.ts [--cases 100000] [--seed 1] [--surfaces http,ws,wyoming,wav] [--concurrency 4] [--json FILE]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { makeToneModelDir } from "../test/helpers/tone.ts";
import { fuzz, type Surface, SURFACES, type SurfaceStats } from "../test/helpers/fuzz.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    cases: { type: "string", default: "100000" },
    seed: { type: "string", default: "1" },
    surfaces: { type: "string", default: SURFACES.join(",") },
    concurrency: { type: "string", default: "4" },
    json: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});
if (values.help) {
  console.error("usage: bun scripts/fuzz.ts [--cases 100000] [--seed 1] [--surfaces http,ws,wyoming,wav] [--concurrency 4] [--json FILE]");
  process.exit(0);
}
const cases = Number(values.cases);
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);
const surfaces = values.surfaces!.split(",").map((s) => s.trim()) as Surface[];
for (const s of surfaces) if (!SURFACES.includes(s)) throw new Error(`unknown surface ${s} (known: ${SURFACES.join(", ")})`);
if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed) || !Number.isInteger(concurrency) || concurrency < 1) throw new Error("--cases, --seed and --concurrency are integers (cases, concurrency ≥ 1)");

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const proc = Bun.spawn(
  ["bun", MAIN, "serve", "--port", "0", "--host", "127.0.0.1", "--wyoming-port", "0", "--model-dir", makeToneModelDir(), "--offline", "--workers", "1", "--pool-size", "4",
    "--pool-checkout-timeout-secs", "2", "--body-idle-timeout-secs", "1", "--ws-frame-max-bytes", "65536", "--metrics", "--log-format", "json", "--log-level", "info"],
  { stdout: "ignore", stderr: "pipe", env: { ...process.env, GIGASTT_OFFLINE: "1" } },
);
const lines: string[] = [];
process.on("exit", () => proc.kill("SIGKILL")); // never leave the server behind
const startTimer = setTimeout(() => {
  console.error(`serve did not become ready within 60 s:\n${lines.join("\n")}`);
  process.exit(1);
}, 60_000);
const urls = await new Promise<{ http: string; wyoming: string }>((resolve, reject) => {
  let http = "";
  let wyoming = "";
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = "";
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return reject(new Error(`serve exited early:\n${lines.join("\n")}`));
      buf += dec.decode(value, { stream: true });
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (lines.length < 10_000) lines.push(l);
        if (l.includes('"gigastt listening"')) http = (JSON.parse(l) as { url: string }).url;
        if (l.includes('"wyoming listening"')) wyoming = (JSON.parse(l) as { url: string }).url;
        if (l.includes('"model loaded: ready"') && http && wyoming) resolve({ http, wyoming });
      }
    }
  })();
});
clearTimeout(startTimer);
const httpPort = Number(new URL(urls.http).port);
const wyomingPort = Number(urls.wyoming.split(":").at(-1));
for (const u of [urls.http, urls.wyoming]) if (!/\/\/(127\.0\.0\.1|\[::1\]):/.test(u)) throw new Error(`not loopback: ${u}`);

const started = performance.now();
let crashed = false;
void proc.exited.then(() => (crashed = true));
const stats = {} as Record<Surface, SurfaceStats>;
for (const surface of surfaces) {
  const t0 = performance.now();
  const r = await fuzz({
    target: { httpPort, wyomingPort },
    seed,
    cases,
    surfaces: [surface],
    concurrency,
    progress: (s, n) => {
      if (n % 5000 < 200) process.stderr.write(`${s}: ${n}/${cases} (${Math.round((performance.now() - t0) / 1000)} s)\n`);
    },
  });
  stats[surface] = r[surface];
  const health = crashed ? 0 : (await fetch(`${urls.http}/health`).catch(() => null))?.status;
  process.stderr.write(`${surface}: ${r[surface].cases} cases in ${Math.round((performance.now() - t0) / 1000)} s, ${r[surface].failureCount} failures, ${r[surface].hangs} hangs, /health ${health}\n`);
  if (crashed) break;
}
const metrics = crashed ? "" : await (await fetch(`${urls.http}/metrics`)).text();
const internal = Number(/gigastt_errors_total\{code="internal"\} (\d+)/.exec(metrics)?.[1] ?? 0);
const alive = !crashed && proc.exitCode === null;
proc.kill("SIGTERM");
const exit = await proc.exited;

const seconds = Math.round((performance.now() - started) / 1000);
console.log(`fuzz seed ${seed}, ${cases} cases per surface, ${seconds} s, server ${alive ? `alive, exit ${exit} after SIGTERM` : "CRASHED"}, internal errors ${internal}`);
console.log("| surface | cases | failures | hangs | distinct answers | most frequent |");
console.log("|---|---|---|---|---|---|");
for (const s of surfaces) {
  const st = stats[s];
  if (!st) continue;
  const top = Object.entries(st.outcomes)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, n]) => `${k} ×${n}`)
    .join(", ");
  console.log(`| ${s} | ${st.cases} | ${st.failureCount} | ${st.hangs} | ${Object.keys(st.outcomes).length} | ${top} |`);
}
for (const s of surfaces) for (const f of stats[s]?.failures ?? []) console.log(`FAIL ${f}`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ seed, cases, seconds, alive, internal, stats }, null, 2)}\n`);
const failures = surfaces.reduce((n, s) => n + (stats[s]?.failureCount ?? 0) + (stats[s]?.hangs ?? 0), 0);
process.exit(failures === 0 && alive && internal === 0 && exit === 0 ? 0 : 1);
