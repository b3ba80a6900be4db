/**
 * `quantizeInWorker`: `quantizeEncoderFile` in a one-off Worker (./worker.ts), so the caller's
 * event loop stays free. Same result and typed errors as the synchronous call.
 */
import { deserializeError, GigasttError } from "../errors.ts";
import type { QuantizeFileOptions, QuantizeFileResult } from "./file.ts";
import type { QuantizeWorkerReply } from "./worker.ts";

/**
 * URL of the quantize Worker entry: next to this module when run from source; under the
 * bundle root (`quantize/worker.ts`) in a compiled binary, like the inference Worker.
 */
export function quantizeWorkerUrl(moduleUrl: string = import.meta.url): string {
  if (/\/quantize\/in-worker\.[cm]?[jt]s$/.test(new URL(moduleUrl).pathname)) return new URL("./worker.ts", moduleUrl).href;
  return new URL("./quantize/worker.ts", moduleUrl).href;
}

export function quantizeInWorker(opts: QuantizeFileOptions, url: string = quantizeWorkerUrl()): Promise<QuantizeFileResult> {
  return new Promise<QuantizeFileResult>((resolve, reject) => {
    let settled = false;
    const worker = new Worker(url);
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      worker.terminate();
      f();
    };
    worker.onmessage = (ev: MessageEvent) => {
      const r = ev.data as QuantizeWorkerReply;
      done(() => (r.ok ? resolve(r.result) : reject(deserializeError(r.error))));
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault?.();
      done(() => reject(new GigasttError("internal", `quantize worker failed (${ev.message})`)));
    };
    worker.addEventListener("close", () => done(() => reject(new GigasttError("internal", "quantize worker exited"))));
    worker.postMessage(opts);
  });
}
