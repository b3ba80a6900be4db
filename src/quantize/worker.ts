/**
 * Bun Worker entry that runs the int8 file work off the calling thread (parsing and rewriting an
 * 880 MB protobuf blocks for seconds): `gigastt serve` creates or checks the int8 encoder here
 * while its event loop keeps answering /health; and the mapped layout of a graph (../store/mapped.ts).
 *
 * A compiled binary embeds it as a third entrypoint (`src/quantize/worker.ts`).
 */
import { serializeError, type SerializedError } from "../errors.ts";
import { type QuantizeFileOptions, type QuantizeFileResult, quantizeEncoderFile } from "./file.ts";
import { type ExactInt8Options, type ExactInt8Result, ensureExactInt8Encoder } from "./safe.ts";
import { type MappedWriteResult, writeMappedLayout } from "../store/mapped.ts";

export type QuantizeWorkerRequest =
  | { readonly op: "quantize"; readonly opts: QuantizeFileOptions }
  | { readonly op: "exact-int8"; readonly opts: ExactInt8Options }
  | { readonly op: "mapped-layout"; readonly source: string; readonly dir?: string };

export type QuantizeWorkerReply =
  | { readonly ok: true; readonly result: QuantizeFileResult | ExactInt8Result | MappedWriteResult }
  | { readonly ok: false; readonly error: SerializedError };

export function handleQuantizeRequest(req: QuantizeWorkerRequest): QuantizeFileResult | ExactInt8Result | MappedWriteResult {
  if (req.op === "mapped-layout") return writeMappedLayout(req.source, undefined, req.dir);
  return req.op === "exact-int8" ? ensureExactInt8Encoder(req.opts) : quantizeEncoderFile(req.opts);
}

if (!Bun.isMainThread) {
  const scope = globalThis as unknown as { onmessage: ((ev: MessageEvent) => void) | null; postMessage(m: unknown): void };
  scope.onmessage = (ev: MessageEvent) => {
    let reply: QuantizeWorkerReply;
    try {
      reply = { ok: true, result: handleQuantizeRequest(ev.data as QuantizeWorkerRequest) };
    } catch (e) {
      reply = { ok: false, error: serializeError(e) };
    }
    scope.postMessage(reply);
  };
}
