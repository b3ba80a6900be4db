/**
 * Bun Worker entry that runs `quantizeEncoderFile` off the calling thread (parsing and
 * rewriting an 880 MB protobuf blocks for seconds): `gigastt serve` creates the int8
 * encoder for partials here while its event loop keeps answering /health.
 *
 * A compiled binary embeds it as a third entrypoint (`src/quantize/worker.ts`).
 */
import { serializeError, type SerializedError } from "../errors.ts";
import { type QuantizeFileOptions, type QuantizeFileResult, quantizeEncoderFile } from "./file.ts";

export type QuantizeWorkerReply = { readonly ok: true; readonly result: QuantizeFileResult } | { readonly ok: false; readonly error: SerializedError };

if (!Bun.isMainThread) {
  const scope = globalThis as unknown as { onmessage: ((ev: MessageEvent) => void) | null; postMessage(m: unknown): void };
  scope.onmessage = (ev: MessageEvent) => {
    let reply: QuantizeWorkerReply;
    try {
      reply = { ok: true, result: quantizeEncoderFile(ev.data as QuantizeFileOptions) };
    } catch (e) {
      reply = { ok: false, error: serializeError(e) };
    }
    scope.postMessage(reply);
  };
}
