/**
 * Admission: at most `size` sessions at once, FIFO waiters, checkout timeout.
 *
 * A waiter that times out or is aborted is removed from the queue before it
 * settles, and a released slot is handed only to a live waiter, so abandoned
 * waiters can never swallow a slot (the Rust pool's leak, anchor §5.1).
 */
import { GigasttError } from "../errors.ts";
import type { Admission, Slot } from "./deps.ts";

export interface AdmissionOptions {
  size: number;
  /** checkout timeout in seconds, read at every acquire (SIGHUP may change it) */
  timeoutSecs: () => number;
  /** called with the seconds a checkout waited and whether it got a slot */
  onCheckout?: (waitedSeconds: number, outcome: "ok" | "timeout" | "aborted" | "closed") => void;
  now?: () => number;
}

interface Waiter {
  resolve(slot: Slot): void;
  settled: boolean;
}

export function createAdmission(opts: AdmissionOptions): Admission {
  if (!Number.isInteger(opts.size) || opts.size < 1) throw new RangeError(`admission size must be ≥ 1, got ${opts.size}`);
  const size = opts.size;
  const now = opts.now ?? (() => performance.now());
  let inUse = 0;
  let closed = false;
  const queue: Waiter[] = [];
  const closers = new Set<() => void>();

  function makeSlot(): Slot {
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        handOff();
      },
    };
  }

  /** a slot came back: give it to the first live waiter, else free it */
  function handOff(): void {
    while (queue.length > 0) {
      const w = queue.shift()!;
      if (w.settled) continue;
      w.settled = true;
      w.resolve(makeSlot());
      return;
    }
    inUse--;
  }

  return {
    get size() {
      return size;
    },
    get inUse() {
      return inUse;
    },
    get waiting() {
      return queue.length;
    },
    acquire(o = {}): Promise<Slot> {
      const signal = o.signal;
      if (closed) return Promise.reject(new GigasttError("pool_closed"));
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      if (inUse < size && queue.length === 0) {
        inUse++;
        opts.onCheckout?.(0, "ok");
        return Promise.resolve(makeSlot());
      }
      const started = now();
      const timeoutSecs = Math.max(1, opts.timeoutSecs());
      return new Promise<Slot>((resolve, reject) => {
        const waiter: Waiter = {
          settled: false,
          resolve: (slot) => {
            cleanup();
            opts.onCheckout?.((now() - started) / 1000, "ok");
            resolve(slot);
          },
        };
        const fail = (err: unknown, outcome: "timeout" | "aborted" | "closed") => {
          if (waiter.settled) return;
          waiter.settled = true;
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          cleanup();
          opts.onCheckout?.((now() - started) / 1000, outcome);
          reject(err);
        };
        const timer = setTimeout(
          () =>
            fail(
              new GigasttError("timeout", undefined, { details: { retry_after_ms: timeoutSecs * 1000 } }),
              "timeout",
            ),
          timeoutSecs * 1000,
        );
        const onAbort = () => fail(abortReason(signal!), "aborted");
        const onClose = () => fail(new GigasttError("pool_closed"), "closed");
        function cleanup() {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          closers.delete(onClose);
        }
        signal?.addEventListener("abort", onAbort, { once: true });
        closers.add(onClose);
        queue.push(waiter);
      });
    },
    close() {
      if (closed) return;
      closed = true;
      for (const c of [...closers]) c();
    },
  };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}
