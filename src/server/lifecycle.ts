/**
 * Lifecycle: the drain state shared by the platform and the routes.
 *
 * `startDrain()` flips `draining`, aborts `signal` and calls every `onDrain`
 * subscriber once; `settled(ms)` resolves when all tracked work finished or
 * the window ran out (whichever first) and says which.
 */
import type { Lifecycle } from "./deps.ts";

export interface LifecycleControl extends Lifecycle {
  startDrain(): void;
  /** number of tracked promises still pending */
  readonly pending: number;
  /** resolves once every task tracked now has settled (tasks tracked later are not waited for) */
  snapshot(): Promise<void>;
  /** wait for tracked work, at most `ms`; true when everything finished */
  settled(ms: number): Promise<boolean>;
}

export function createLifecycle(opts: { onSubscriberError?: (e: unknown) => void } = {}): LifecycleControl {
  const controller = new AbortController();
  const subscribers = new Set<() => void>();
  const tracked = new Set<Promise<unknown>>();
  let idleWaiters: Array<() => void> = [];

  function call(cb: () => void) {
    try {
      cb();
    } catch (e) {
      opts.onSubscriberError?.(e);
    }
  }

  return {
    get draining() {
      return controller.signal.aborted;
    },
    get signal() {
      return controller.signal;
    },
    get pending() {
      return tracked.size;
    },
    onDrain(cb) {
      if (controller.signal.aborted) {
        queueMicrotask(() => call(cb));
        return () => {};
      }
      subscribers.add(cb);
      return () => void subscribers.delete(cb);
    },
    track<T>(p: Promise<T>): Promise<T> {
      const entry: Promise<unknown> = p.then(
        () => undefined,
        () => undefined,
      );
      tracked.add(entry);
      void entry.then(() => {
        tracked.delete(entry);
        if (tracked.size === 0) {
          const w = idleWaiters;
          idleWaiters = [];
          for (const f of w) f();
        }
      });
      return p;
    },
    snapshot() {
      return Promise.all([...tracked]).then(() => undefined);
    },
    startDrain() {
      if (controller.signal.aborted) return;
      controller.abort(new Error("server is draining"));
      const subs = [...subscribers];
      subscribers.clear();
      for (const cb of subs) call(cb);
    },
    settled(ms: number): Promise<boolean> {
      if (tracked.size === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          idleWaiters = idleWaiters.filter((f) => f !== done);
          resolve(false);
        }, ms);
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        idleWaiters.push(done);
      });
    },
  };
}
