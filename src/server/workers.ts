/**
 * The default number of inference Workers: one per core, but no more than
 * the available memory holds. Each Worker loads its own copy of the model
 * (measured steady RSS, BENCHMARKS.md: ≈ 865 MB per fp32 Worker, ≈ 250 MB per
 * int8 one), plus a fixed share for the process itself and the int8 Worker
 * that serves streaming partials. Change the numbers here when Workers share
 * their weights.
 */
import { availableParallelism, freemem } from "node:os";
import type { Precision } from "../types.ts";

/** resident bytes one more inference Worker costs, by precision */
export const WORKER_BYTES: Readonly<Record<Precision, number>> = Object.freeze({ fp32: 865e6, int8: 250e6 });
/** the process without its inference Workers, plus the partial (int8) Worker */
export const BASE_BYTES = 350e6;

export interface WorkerChoice {
  readonly workers: number;
  /** what bounded the count */
  readonly limitedBy: "cores" | "memory";
  readonly cores: number;
  readonly availableBytes: number;
  readonly perWorkerBytes: number;
  /** one sentence for the startup log */
  readonly reason: string;
}

const mb = (b: number) => Math.round(b / 1e6);

/** `availableBytes` = Infinity: memory is no bound (tests that inject only the cores). */
export function chooseWorkers(opts: { cores: number; availableBytes: number; precision: Precision }): WorkerChoice {
  const cores = Math.max(1, Math.floor(opts.cores));
  const per = WORKER_BYTES[opts.precision];
  const byMemory = Math.max(1, Math.floor((opts.availableBytes - BASE_BYTES) / per));
  const workers = Math.min(cores, byMemory);
  const limitedBy = byMemory < cores ? "memory" : "cores";
  const each = `≈ ${mb(per)} MB per ${opts.precision} Worker + ${mb(BASE_BYTES)} MB for the process`;
  const reason =
    limitedBy === "cores"
      ? `one Worker per CPU core (${cores}); ${mb(opts.availableBytes)} MB available would hold ${byMemory} (${each})`
      : `${mb(opts.availableBytes)} MB available holds ${workers} (${each}), fewer than the ${cores} CPU cores; --workers N overrides`;
  return { workers, limitedBy, cores, availableBytes: opts.availableBytes, perWorkerBytes: per, reason };
}

/** Memory this process may still use: the cgroup limit's headroom in a container, else the OS's available memory. */
export function availableMemory(): number {
  const p = process as { availableMemory?: () => number };
  const v = typeof p.availableMemory === "function" ? p.availableMemory() : freemem();
  return Number.isFinite(v) && v > 0 ? v : freemem();
}

export function hostCores(): number {
  return availableParallelism();
}
