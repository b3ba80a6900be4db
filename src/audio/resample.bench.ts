/**
 * Resampler throughput (times real time, this thread's CPU time), chunked like WebSocket
 * frames: the WebAssembly SIMD kernel (the default) beside the JavaScript loop, same input.
 * Run: bun src/audio/resample.bench.ts [seconds=30]
 */
import { Resampler } from "./resample.ts";

const seconds = Number(process.argv[2] ?? 30);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function once(rate: number, x: Float32Array, simd: boolean): number {
  const frame = Math.round(rate * 0.1); // 100 ms frames
  const r = new Resampler(rate, 16000, { simd });
  const t0 = cpuMs();
  for (let i = 0; i < x.length; i += frame) r.process(x.subarray(i, i + frame));
  r.flush();
  return cpuMs() - t0;
}

for (const rate of [8000, 22050, 44100, 48000, 96000, 192000, 44099]) {
  const x = new Float32Array(rate * seconds);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin((2 * Math.PI * 997 * i) / rate) * 0.5;
  const med = (simd: boolean) => {
    once(rate, x, simd); // JIT warm, tables built
    const t = [once(rate, x, simd), once(rate, x, simd), once(rate, x, simd)].sort((a, b) => a - b);
    return t[1]!;
  };
  const js = med(false);
  const simd = med(true);
  const taps = new Resampler(rate).design?.taps ?? 0;
  const xrt = (ms: number) => (seconds / (ms / 1000)).toFixed(0).padStart(6);
  console.log(`${String(rate).padStart(6)} Hz → 16 kHz (${taps} taps): SIMD ${xrt(simd)}× real time, JS loop ${xrt(js)}×, ratio ${(js / simd).toFixed(1)}`);
}
