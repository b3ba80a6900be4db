/**
 * The model the server serves, swappable at run time (`POST /v1/admin/reload`).
 *
 * Routes read `deps.transcriber` once when a session starts and keep what
 * they got: a per-model handle. After a swap, the previous model keeps
 * serving the work that was running when the swap happened (every task
 * tracked by the lifecycle at that moment: WS, SSE, REST, jobs) and every call
 * in flight on it; once all of those are done its Worker pool is closed.
 * A session that took the old handle but had not started transcribing yet
 * (an upload still arriving) runs on the new model: the handle forwards to
 * the current model once its own one is closed.
 */
import type { ModelHead } from "../model/head.ts";
import type { JobOptions, TranscriberLike } from "./deps.ts";

export interface ClosableTranscriber extends TranscriberLike {
  close(): Promise<void>;
}

interface Generation {
  readonly real: ClosableTranscriber;
  readonly head: ModelHead;
  /** the holder closes it (a reloaded model); false: the one set at boot, closed by whoever set it */
  readonly owned: boolean;
  readonly handle: TranscriberLike;
  /** calls (and held partial slots) running on `real` */
  inflight: number;
  /** no longer current */
  retired: boolean;
  /** `real` is closed (or closing): new calls go to the current model */
  closed: boolean;
  /** run when `inflight` drops to 0 */
  onIdle: (() => void) | null;
}

export interface ModelHolder {
  /** the current model's handle; null before the first model is set */
  readonly current: TranscriberLike | null;
  readonly head: ModelHead | null;
  /**
   * Make `t` the current model. The previous one is retired: closed once the
   * work that was running (per `running()`) and its own calls are done.
   * `retiredClosed` settles when it is closed (at once when there was none).
   */
  swap(t: ClosableTranscriber | null, head: ModelHead): { retiredClosed: Promise<void> };
  /**
   * Replace the current model without retiring the previous one (boot).
   * `owned`: the holder closes `t` when it is retired or at close(); else its caller does.
   */
  set(t: TranscriberLike | null, head: ModelHead, owned?: boolean): void;
  /** close every model (current and retiring) */
  close(): Promise<void>;
}

export interface ModelHolderOptions {
  /** resolves when the work running now has finished (the lifecycle's snapshot) */
  running(): Promise<void>;
  onCloseError?(e: unknown): void;
}

export function createModelHolder(opts: ModelHolderOptions): ModelHolder {
  let current: Generation | null = null;
  const retiring = new Set<Generation>();

  /** the generation a call on `g`'s handle runs on */
  const target = (g: Generation): Generation => (g.closed && current && !current.closed ? current : g);

  function enter(g: Generation): Generation {
    const t = target(g);
    t.inflight++;
    return t;
  }

  function leave(g: Generation): void {
    g.inflight--;
    if (g.inflight === 0 && g.onIdle) {
      const f = g.onIdle;
      g.onIdle = null;
      f();
    }
  }

  /** `run` on the generation `g`'s calls go to, counted while it runs; a synchronous throw stays synchronous */
  function counted<T>(g: Generation, run: (t: ClosableTranscriber) => Promise<T>): Promise<T> {
    const t = enter(g);
    let p: Promise<T>;
    try {
      p = run(t.real);
    } catch (e) {
      leave(t);
      throw e;
    }
    return Promise.resolve(p).finally(() => leave(t));
  }

  function makeHandle(g: Omit<Generation, "handle">): TranscriberLike {
    const gen = g as Generation;
    const handle: TranscriberLike = {
      transcribeStream: (chunks, o) => counted(gen, (t) => t.transcribeStream(chunks, o)),
      decodeSegment: (samples, offset, o?: JobOptions) => counted(gen, (t) => t.decodeSegment(samples, offset, o)),
      get available() {
        return target(gen).real.available;
      },
      get info() {
        return target(gen).real.info;
      },
    };
    if (typeof g.real.vadLabeller === "function") {
      // a labeller holds the VAD Workers of the model current when the stream started; if a reload closes
      // them under a running stream, its labeller falls back to energy (src/engine/vad.ts), never failing it
      (handle as { vadLabeller?: TranscriberLike["vadLabeller"] }).vadLabeller = (o) => target(gen).real.vadLabeller!(o);
    }
    if (typeof g.real.partialSlot === "function") {
      (handle as { partialSlot?: TranscriberLike["partialSlot"] }).partialSlot = async (signal) => {
        const t = enter(gen);
        try {
          const release = await t.real.partialSlot!(signal);
          let released = false;
          return () => {
            if (released) return;
            released = true;
            release();
            leave(t);
          };
        } catch (e) {
          leave(t);
          throw e;
        }
      };
    }
    return handle;
  }

  function generation(real: ClosableTranscriber, head: ModelHead, owned: boolean): Generation {
    const g: Omit<Generation, "handle"> = { real, head, owned, inflight: 0, retired: false, closed: false, onIdle: null };
    return Object.assign(g, { handle: makeHandle(g) }) as Generation;
  }

  async function closeGen(g: Generation, onError?: (e: unknown) => void): Promise<void> {
    g.closed = true;
    retiring.delete(g);
    if (!g.owned) return;
    try {
      await g.real.close();
    } catch (e) {
      onError?.(e);
    }
  }

  async function retire(g: Generation): Promise<void> {
    g.retired = true;
    retiring.add(g);
    await opts.running();
    if (g.closed) return;
    if (g.inflight > 0) await new Promise<void>((resolve) => (g.onIdle = resolve));
    if (g.closed) return;
    await closeGen(g, opts.onCloseError);
  }

  return {
    get current() {
      return current?.handle ?? null;
    },
    get head() {
      return current?.head ?? null;
    },
    set(t, head, owned = false) {
      current = t ? generation(t as ClosableTranscriber, head, owned) : null;
    },
    swap(t, head) {
      const previous = current;
      current = t ? generation(t, head, true) : null;
      return { retiredClosed: previous && previous.real !== t ? retire(previous) : Promise.resolve() };
    },
    async close() {
      const all = [...retiring, ...(current ? [current] : [])];
      current = null;
      await Promise.all(all.map((g) => (g.closed ? undefined : closeGen(g, opts.onCloseError))));
    },
  };
}
