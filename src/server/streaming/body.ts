/**
 * Request bodies with a byte cap that is enforced while streaming: the
 * Content-Length is checked before anything is read, and the bytes actually
 * received are counted (chunked uploads, lying headers), so an oversized
 * upload fails with `payload_too_large` without ever being held whole.
 */
import { GigasttError } from "../../errors.ts";

export function payloadTooLarge(limit: number): GigasttError {
  return new GigasttError("payload_too_large", `Payload too large (limit ${limit} bytes)`);
}

/** Content-Length says more than `limit` → payload_too_large; says 0 → empty_body. */
export function checkContentLength(headers: Headers, limit: number): void {
  const raw = headers.get("content-length");
  if (raw === null) return;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) return;
  if (n > limit) throw payloadTooLarge(limit);
  if (n === 0) throw new GigasttError("empty_body");
}

/** The body's chunks, failing with payload_too_large as soon as more than `limit` bytes arrived. */
export async function* limitedBody(body: ReadableStream<Uint8Array> | null, limit: number): AsyncGenerator<Uint8Array> {
  if (body === null) throw new GigasttError("empty_body");
  const reader = body.getReader();
  let total = 0;
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!value || value.length === 0) continue;
      total += value.length;
      if (total > limit) throw payloadTooLarge(limit);
      yield value;
    }
    finished = true;
  } finally {
    // stopped early (error, cap, consumer gone): stop receiving the upload
    if (!finished) void reader.cancel().catch(() => {});
    else reader.releaseLock();
  }
  if (total === 0) throw new GigasttError("empty_body");
}
