/**
 * A FIFO counting semaphore: `acquire` resolves with a release function once one of `size`
 * slots is free. Abortable while waiting (the waiter is removed, the promise rejects with the
 * signal's reason); release is idempotent.
 */
interface Waiter {
  grant: () => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class Slots {
  readonly size: number;
  #free: number;
  readonly #waiters: Waiter[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slot count must be a positive integer, got ${size}`);
    this.size = size;
    this.#free = size;
  }

  /** slots free now */
  get free(): number {
    return this.#free;
  }

  /** callers waiting */
  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0 && this.#waiters.length === 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<() => void>((resolve, reject) => {
      const w: Waiter = { grant: () => resolve(this.#releaser()), reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.#waiters.push(w);
    });
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      if (next) {
        if (next.onAbort) next.signal?.removeEventListener("abort", next.onAbort);
        next.grant(); // the slot passes straight to the next waiter
      } else this.#free++;
    };
  }
}
