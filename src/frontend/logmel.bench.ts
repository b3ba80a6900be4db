/**
 * Front-end throughput benchmark (not a test): log-mel of 60 s of synthetic 16 kHz audio,
 * single thread. Target (issue 6): ≥ 1000× real time, i.e. ≤ 60 ms per 60 s.
 *
 *   bun src/frontend/logmel.bench.ts [seconds=60] [runs=20]
 */
import { LogMelExtractor } from "./logmel.ts";

const seconds = Number(process.argv[2] ?? 60);
const runs = Number(process.argv[3] ?? 20);
const samples = new Float32Array(16000 * seconds);
let seed = 1;
for (let i = 0; i < samples.length; i++) {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  samples[i] = 0.3 * Math.sin(i * 0.07) + 0.05 * (seed / 2 ** 32 - 0.5);
}

const extractor = new LogMelExtractor();
for (let i = 0; i < 3; i++) extractor.compute(samples); // warm-up (JIT)
const times: number[] = [];
let frames = 0;
for (let i = 0; i < runs; i++) {
  const start = Bun.nanoseconds();
  frames = extractor.compute(samples).frames;
  times.push((Bun.nanoseconds() - start) / 1e6);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
console.log(
  `log-mel ${seconds} s (${frames} frames): median ${median.toFixed(2)} ms, best ${times[0]!.toFixed(2)} ms, ` +
    `${((seconds * 1000) / median).toFixed(0)}× real time, ${((median * 1000) / frames).toFixed(2)} µs/frame`,
);
