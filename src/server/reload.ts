/**
 * `POST /v1/admin/reload`'s work: load the model again (the same recipe as at
 * boot, so a model replaced on disk is picked up), warm it, swap it in.
 * One reload at a time (a second one → 409 `reload_in_progress`); a failed
 * load leaves the serving model untouched (503 `reload_failed`).
 *
 * `soft`: the Rust server's `?soft=true`: swap first, wait (≤ 5 s) for the
 * previous model's last work to finish and its Workers to close, then warm —
 * two warmed models are never held at once on a quiet host.
 */
import type { ConsolaInstance } from "consola";
import { GigasttError } from "../errors.ts";
import type { ModelHead } from "../model/head.ts";
import { SAMPLE_RATE } from "../types.ts";
import type { Lifecycle, TranscriberLike } from "./deps.ts";
import type { ClosableTranscriber, ModelHolder } from "./model-holder.ts";

/** loads a fresh model (new Worker pool); throws when it cannot */
export type ModelLoader = () => Promise<{ transcriber: ClosableTranscriber; head: ModelHead }>;

export interface ReloadResult {
  readonly reloaded: true;
  readonly variant: string;
  /** "fp32" | "int8": the encoder finals run on */
  readonly encoder: string;
  readonly soft?: true;
  /** soft: the previous model finished its work and closed within the wait */
  readonly soft_drained?: boolean;
}

export interface Reloader {
  readonly busy: boolean;
  reload(opts: { soft: boolean }): Promise<ReloadResult>;
}

export const SOFT_WAIT_MS = 5000;

export function createReloader(o: { holder: ModelHolder; loader: () => ModelLoader | null; lifecycle: Lifecycle; log: ConsolaInstance; softWaitMs?: number }): Reloader {
  let busy = false;
  return {
    get busy() {
      return busy;
    },
    async reload({ soft }) {
      const loader = o.loader();
      if (!loader) throw new GigasttError("reload_unsupported");
      if (!o.holder.current) throw new GigasttError("not_ready");
      if (busy) throw new GigasttError("reload_in_progress");
      busy = true;
      try {
        o.log.info("model reload requested", { soft });
        const started = performance.now();
        let loaded: Awaited<ReturnType<ModelLoader>>;
        try {
          loaded = await loader();
        } catch (e) {
          o.log.error("model reload failed: the previous model keeps serving", { error: e instanceof Error ? e.message : String(e) });
          throw new GigasttError("reload_failed", undefined, { cause: e });
        }
        if (o.lifecycle.draining) {
          await loaded.transcriber.close().catch(() => {});
          throw new GigasttError("shutting_down");
        }
        const t = loaded.transcriber;
        let drained: boolean | undefined;
        if (soft) {
          const { retiredClosed } = o.holder.swap(t, loaded.head);
          drained = await within(retiredClosed, o.softWaitMs ?? SOFT_WAIT_MS);
          await warm(t, o.log);
        } else {
          await warm(t, o.log);
          o.holder.swap(t, loaded.head);
        }
        const result: ReloadResult = { reloaded: true, variant: loaded.head.variant, encoder: t.info.precision, ...(soft ? { soft: true as const, soft_drained: drained ?? false } : {}) };
        o.log.info("model reloaded and swapped", { ...result, workers: t.info.workers, load_ms: Math.round(performance.now() - started) });
        return result;
      } finally {
        busy = false;
      }
    },
  };
}

/** one second of silence through every Worker: the first request after the swap pays no first-run cost */
async function warm(t: TranscriberLike, log: ConsolaInstance): Promise<void> {
  try {
    await Promise.all(Array.from({ length: Math.max(1, t.info.workers) }, () => t.decodeSegment(new Float32Array(SAMPLE_RATE), 0)));
  } catch (e) {
    // as at boot: a failed warm-up is not fatal (the model loaded)
    log.warn("warm-up of the reloaded model failed (swapping anyway)", { error: e instanceof Error ? e.message : String(e) });
  }
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
