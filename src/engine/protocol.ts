/**
 * Messages between the WorkerPool (main thread) and a Worker, and the Worker-side
 * host loop that speaks them. Generic over the init data, job payload and result,
 * so the pool is tested with a scripted worker and the model worker shares the
 * same code path.
 */
import { type SerializedError, serializeError } from "../errors.ts";

export type ToWorker<I, P> = { readonly type: "init"; readonly init: I } | { readonly type: "job"; readonly id: number; readonly payload: P };

export type FromWorker<R, Info> =
  | { readonly type: "ready"; readonly info: Info }
  | { readonly type: "init-error"; readonly error: SerializedError }
  | { readonly type: "result"; readonly id: number; readonly result: R }
  | { readonly type: "error"; readonly id: number; readonly error: SerializedError };

export interface WorkerHandlers<I, P, R, Info> {
  /** called once with the pool's init data; resolves to info sent back with "ready" */
  init(init: I): Promise<Info> | Info;
  /** one job at a time; `transfer` lists buffers moved (not copied) back */
  job(payload: P): Promise<{ result: R; transfer?: Bun.Transferable[] }>;
}

interface WorkerScope {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(msg: unknown, transfer?: Bun.Transferable[]): void;
}

/** Runs inside a Worker: answers init/job messages with the handlers. Jobs are handled one at a time, in order. */
export function serveWorker<I, P, R, Info>(handlers: WorkerHandlers<I, P, R, Info>, scope: WorkerScope = globalThis as unknown as WorkerScope): void {
  let ready: Promise<unknown> = Promise.resolve();
  let chain: Promise<unknown> = Promise.resolve();
  scope.onmessage = (ev: MessageEvent) => {
    const msg = ev.data as ToWorker<I, P>;
    if (msg.type === "init") {
      ready = (async () => {
        try {
          const info = await handlers.init(msg.init);
          scope.postMessage({ type: "ready", info } satisfies FromWorker<R, Info>);
        } catch (e) {
          scope.postMessage({ type: "init-error", error: serializeError(e) } satisfies FromWorker<R, Info>);
        }
      })();
      return;
    }
    if (msg.type === "job") {
      chain = chain.then(async () => {
        await ready;
        try {
          const { result, transfer } = await handlers.job(msg.payload);
          scope.postMessage({ type: "result", id: msg.id, result } satisfies FromWorker<R, Info>, transfer ?? []);
        } catch (e) {
          scope.postMessage({ type: "error", id: msg.id, error: serializeError(e) } satisfies FromWorker<R, Info>);
        }
      });
    }
  };
}
