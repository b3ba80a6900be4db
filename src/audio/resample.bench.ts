/**
 * Resampler throughput (times real time), chunked like WebSocket frames.
 * Run: bun src/audio/resample.bench.ts [seconds=30]
 */
import { Resampler } from "./resample.ts";

const seconds = Number(process.argv[2] ?? 30);
for (const rate of [8000, 22050, 44100, 48000, 96000, 192000, 44099]) {
  const x = new Float32Array(rate * seconds);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin((2 * Math.PI * 997 * i) / rate) * 0.5;
  const frame = Math.round(rate * 0.1); // 100 ms frames
  const r = new Resampler(rate);
  const t0 = performance.now();
  let n = 0;
  for (let i = 0; i < x.length; i += frame) n += r.process(x.subarray(i, i + frame)).length;
  n += r.flush().length;
  const ms = performance.now() - t0;
  console.log(`${String(rate).padStart(6)} Hz → 16 kHz: ${(seconds / (ms / 1000)).toFixed(0).padStart(5)}× real time (${r.design?.taps ?? 0} taps, ${n} samples)`);
}
