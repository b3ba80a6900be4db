/**
 * Event-loop lag while something runs: a 1 ms interval timer records the gap between
 * its ticks. `cpu` gaps count only this thread's own time on a CPU between ticks
 * (Linux /proc/thread-self/schedstat, ns): work that holds the loop shows there, while
 * time the thread spent waiting for a CPU taken by other processes does not, so the
 * figure does not depend on how loaded the machine is. `wall` gaps are the classic
 * measurement (what a client sees), for benchmarks on a quiet machine.
 */
import { readFileSync } from "node:fs";

const SCHEDSTAT = "/proc/thread-self/schedstat";

function threadCpuMs(): number | null {
  try {
    return Number(readFileSync(SCHEDSTAT, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return null;
  }
}

export interface LoopLag {
  ticks: number;
  wallP99: number;
  wallMax: number;
  /** null where the thread's CPU time cannot be read (not Linux) */
  cpuP99: number | null;
  cpuMax: number | null;
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0;
}

export function startLoopLag(): () => LoopLag {
  const wall: number[] = [];
  const cpu: number[] = [];
  let lastWall = performance.now();
  let lastCpu = threadCpuMs();
  const timer = setInterval(() => {
    const now = performance.now();
    wall.push(now - lastWall);
    lastWall = now;
    const c = threadCpuMs();
    if (c !== null && lastCpu !== null) cpu.push(c - lastCpu);
    lastCpu = c;
  }, 1);
  return () => {
    clearInterval(timer);
    return {
      ticks: wall.length,
      wallP99: p99(wall),
      wallMax: Math.max(0, ...wall),
      cpuP99: cpu.length ? p99(cpu) : null,
      cpuMax: cpu.length ? Math.max(...cpu) : null,
    };
  };
}
