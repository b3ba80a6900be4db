/** Small measurement helpers for the benchmark (no dependencies). */
import { type CpuInt8Features, cpuInt8Features, describeCpuInt8 } from "../../src/runtime/cpu.ts";
import { readFileSync } from "node:fs";
import { cpus, hostname, loadavg, totalmem } from "node:os";

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100); NaN for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

export const round = (x: number, digits = 1): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** Event-loop lag sampler: a 10 ms timer chain; lag = how late each tick fired. */
export class LoopLag {
  #samples: number[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  start(intervalMs = 10): void {
    this.#running = true;
    let expected = performance.now() + intervalMs;
    const tick = () => {
      if (!this.#running) return;
      const now = performance.now();
      this.#samples.push(Math.max(0, now - expected));
      expected = now + intervalMs;
      this.#timer = setTimeout(tick, intervalMs);
    };
    this.#timer = setTimeout(tick, intervalMs);
  }
  stop(): number[] {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    const s = this.#samples;
    this.#samples = [];
    return s;
  }
}

/** VmRSS and VmHWM (peak) of a process, MB (Linux /proc). */
export function procMemory(pid: number | "self" = "self"): { rssMb: number; peakMb: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? Number.NaN);
    return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** Share of CPU time other processes used over `ms` (0..cores), from /proc/stat minus our own usage. */
export async function cpuBusy(ms = 2000): Promise<number | null> {
  try {
    const read = () => {
      const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
      const idle = line[3]! + (line[4] ?? 0);
      const total = line.reduce((a, b) => a + b, 0);
      return { idle, total };
    };
    const a = read();
    await Bun.sleep(ms);
    const b = read();
    const cores = cpus().length;
    return round((1 - (b.idle - a.idle) / (b.total - a.total)) * cores, 2);
  } catch {
    return null;
  }
}

export interface MachineInfo {
  readonly host: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memGiB: number;
  readonly os: string;
  readonly bun: string;
  readonly loadavg: readonly number[];
  /** the CPU's int8-relevant features, e.g. "AVX2, no AVX512, no VNNI (u8×s8 saturates)" */
  readonly int8: string;
  /** the BENCHMARKS.md section this machine's figures go to ("x64 AVX2 without VNNI", …) */
  readonly kind: string;
}

/** The machine kinds BENCHMARKS.md keeps apart: what int8 (and so every int8 figure) depends on. */
export function machineKind(f: CpuInt8Features): string {
  if (f.arch === "arm64") return "arm64";
  if (f.amx) return `${f.arch} with AMX`;
  if (f.vnni) return `${f.arch} with VNNI`;
  return `${f.arch} ${f.avx2 ? "AVX2 " : ""}without VNNI`;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  let os = `${process.platform} ${process.arch}`;
  try {
    const rel = readFileSync("/etc/os-release", "utf8");
    os = `${/^PRETTY_NAME="?([^"\n]+)"?/m.exec(rel)?.[1] ?? os} (${process.arch})`;
  } catch {}
  return {
    host: hostname(),
    cpu: c[0]?.model.trim() ?? "unknown",
    cores: c.length,
    memGiB: round(totalmem() / 2 ** 30, 1),
    os,
    bun: Bun.version,
    loadavg: loadavg().map((x) => round(x, 2)),
    int8: describeCpuInt8(cpuInt8Features()),
    kind: machineKind(cpuInt8Features()),
  };
}

/** Times `fn` `reps` times after `warmup` calls; returns milliseconds per run. */
export async function timeIt(fn: () => unknown, reps: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}
