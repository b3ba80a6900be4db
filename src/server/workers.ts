/**
 * The default number of inference Workers: one per core, but no more than the available memory
 * holds. The Workers map the model's weights from one file each (src/store/mapped.ts), so the page
 * cache holds them once however many Workers there are (measured, BENCHMARKS.md: `serve --workers`
 * 1, 2, 4 on the 0.9 GB stand-in: 941, 958, 1,009 MB PSS; each further fp32 Worker ≈ 25 MB after a
 * 5 s clip). So memory = the weights once + the process + a share per Worker; the per-Worker figure
 * is the 100 MB budget (a 20 s segment's activations and onnxruntime's arena), not the 25 MB seen.
 */
import { availableParallelism, freemem } from "node:os";
import type { Precision } from "../types.ts";

/** bytes one more inference Worker costs (its arena and activations; the weights are shared), by precision */
export const WORKER_BYTES: Readonly<Record<Precision, number>> = Object.freeze({ fp32: 100e6, int8: 100e6 });
/**
 * the process without its inference Workers, plus the weights once: fp32 = the fp32 graphs (≈ 0.9 GB)
 * + the int8 encoder of streaming partials (≈ 0.23 GB) + 300 MB; int8 = the int8 graphs + 300 MB
 */
export const BASE_BYTES: Readonly<Record<Precision, number>> = Object.freeze({ fp32: 1_450e6, int8: 550e6 });

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
  const base = BASE_BYTES[opts.precision];
  const byMemory = Math.max(1, Math.floor((opts.availableBytes - base) / per));
  const workers = Math.min(cores, byMemory);
  const limitedBy = byMemory < cores ? "memory" : "cores";
  const each = `≈ ${mb(per)} MB per ${opts.precision} Worker + ${mb(base)} MB for the process and the shared weights`;
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
