/**
 * `quantizeInWorker`: `quantizeEncoderFile` in a one-off Worker (./worker.ts), so the caller's
 * event loop stays free. Same result and typed errors as the synchronous call.
 */
import { deserializeError, GigasttError } from "../errors.ts";
import type { QuantizeFileOptions, QuantizeFileResult } from "./file.ts";
import type { ExactInt8Options, ExactInt8Result } from "./safe.ts";
import type { MappedWriteResult } from "../store/mapped.ts";
import type { QuantizeWorkerReply, QuantizeWorkerRequest } from "./worker.ts";

/**
 * URL of the quantize Worker entry: next to this module when run from source; under the
 * bundle root (`quantize/worker.ts`) in a compiled binary, like the inference Worker.
 */
export function quantizeWorkerUrl(moduleUrl: string = import.meta.url): string {
  if (/\/quantize\/in-worker\.[cm]?[jt]s$/.test(new URL(moduleUrl).pathname)) return new URL("./worker.ts", moduleUrl).href;
  return new URL("./quantize/worker.ts", moduleUrl).href;
}

export function quantizeInWorker(opts: QuantizeFileOptions, url: string = quantizeWorkerUrl()): Promise<QuantizeFileResult> {
  return inWorker<QuantizeFileResult>({ op: "quantize", opts }, url);
}

/** `ensureExactInt8Encoder` (./safe.ts) in a one-off Worker. */
export function exactInt8InWorker(opts: ExactInt8Options, url: string = quantizeWorkerUrl()): Promise<ExactInt8Result> {
  return inWorker<ExactInt8Result>({ op: "exact-int8", opts }, url);
}

/** `writeMappedLayout` (../store/mapped.ts) in a one-off Worker. */
export function mappedLayoutInWorker(source: string, url: string = quantizeWorkerUrl(), dir?: string): Promise<MappedWriteResult> {
  return inWorker<MappedWriteResult>({ op: "mapped-layout", source, ...(dir ? { dir } : {}) }, url);
}

function inWorker<R>(req: QuantizeWorkerRequest, url: string): Promise<R> {
  return new Promise<R>((resolve, reject) => {
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
      done(() => (r.ok ? resolve(r.result as R) : reject(deserializeError(r.error))));
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault?.();
      done(() => reject(new GigasttError("internal", `quantize worker failed (${ev.message})`)));
    };
    worker.addEventListener("close", () => done(() => reject(new GigasttError("internal", "quantize worker exited"))));
    worker.postMessage(req);
  });
}
