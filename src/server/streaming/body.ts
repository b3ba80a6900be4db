/**
 * Request bodies with a byte cap that is enforced while streaming: the
 * Content-Length is checked before anything is read, and the bytes actually
 * received are counted (chunked uploads, lying headers), so an oversized
 * upload fails with `payload_too_large` without ever being held whole.
 *
 * A body is also paced: a read that waits `idleMs` without a byte, or a
 * window of `idleMs` spent waiting that brought fewer than
 * `minBytesPerSec × idleMs / 1000` bytes, fails with `body_timeout` (408), so
 * a stalled or trickling upload cannot hold a connection and a pool slot
 * for as long as it likes. Only time spent waiting for the client counts
 * (not the time the consumer spends decoding). Once `stop` fires (drain) a
 * read that waits `DRAIN_STALL_MS` without a byte fails with `shutting_down`,
 * so a half-sent request never holds the exit.
 */
import { GigasttError } from "../../errors.ts";

/** while draining: how long a read may wait without a byte */
export const DRAIN_STALL_MS = 1000;

export interface BodyPace {
  /** longest wait for the next byte, and the rate window, in ms */
  readonly idleMs: number;
  /** least average bytes per second over each window of waiting (0 = no rate floor) */
  readonly minBytesPerSec: number;
  /** drain: stalled reads end with `shutting_down` */
  readonly stop?: AbortSignal;
  readonly now?: () => number;
}

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
export async function* limitedBody(body: ReadableStream<Uint8Array> | null, limit: number, pace?: BodyPace): AsyncGenerator<Uint8Array> {
  if (body === null) throw new GigasttError("empty_body");
  const reader = body.getReader();
  const read: () => Promise<ReadResult> = pace ? pacedReader(reader as { read(): Promise<ReadResult> }, pace) : () => reader.read() as Promise<ReadResult>;
  let total = 0;
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await read();
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

export function bodyTimeout(message: string): GigasttError {
  return new GigasttError("body_timeout", message);
}

const TICK = Symbol("tick");

/** `reader.read()` under the pace rules (see the module comment) */
type ReadResult = { done: true; value?: undefined } | { done: false; value: Uint8Array };

function pacedReader(reader: { read(): Promise<ReadResult> }, pace: BodyPace): () => Promise<ReadResult> {
  const now = pace.now ?? (() => performance.now());
  const windowMs = pace.idleMs;
  const quota = (pace.minBytesPerSec * windowMs) / 1000;
  // waiting time and bytes of the current rate window
  let waited = 0;
  let bytes = 0;
  const slow = () => bodyTimeout(`The upload is slower than ${pace.minBytesPerSec} bytes/s`);
  const idle = () => bodyTimeout(`No request body bytes for ${Math.round(pace.idleMs / 1000)} s`);
  const closeWindow = () => {
    if (bytes < quota) throw slow();
    waited = 0;
    bytes = 0;
  };
  return async () => {
    const pending = reader.read();
    pending.catch(() => {}); // a read abandoned on timeout rejects when the reader is cancelled
    const readStart = now();
    // start of the part of this read not yet added to `waited`
    let seg = readStart;
    for (;;) {
      const draining = pace.stop?.aborted ?? false;
      const idleLimit = draining ? Math.min(pace.idleMs, DRAIN_STALL_MS) : pace.idleMs;
      const t0 = now();
      const wait = Math.max(0, Math.min(idleLimit - (t0 - readStart), windowMs - waited - (t0 - seg)));
      const r = await race(pending, wait, draining ? undefined : pace.stop);
      const t = now();
      if (r !== TICK) {
        waited += t - seg;
        if (!r.done && r.value) bytes += r.value.length;
        if (waited >= windowMs) closeWindow();
        return r;
      }
      if (t - readStart >= idleLimit) {
        if (draining && idleLimit < pace.idleMs) throw new GigasttError("shutting_down", "The server is shutting down and the upload stalled");
        throw idle();
      }
      if (waited + (t - seg) >= windowMs) {
        waited += t - seg;
        seg = t;
        closeWindow();
      }
    }
  };
}

/** the read's result, or TICK after `ms` (or when `wake` fires); the timer never outlives the race */
function race<T>(p: Promise<T>, ms: number, wake?: AbortSignal): Promise<T | typeof TICK> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(TICK), ms);
    const onWake = () => done(TICK);
    wake?.addEventListener("abort", onWake, { once: true });
    function done(v: T | typeof TICK) {
      clearTimeout(timer);
      wake?.removeEventListener("abort", onWake);
      resolve(v);
    }
    p.then(done, (e: unknown) => {
      clearTimeout(timer);
      wake?.removeEventListener("abort", onWake);
      reject(e);
    });
  });
}
