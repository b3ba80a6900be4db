/**
 * Per-request hotwords on the server: `hotwords` (comma-separated, or an array on a WebSocket)
 * and `hotwords_boost`, as the Rust server takes them on `POST /v1/transcribe`; here also on the
 * SSE route, `/v1/audio/transcriptions` (form fields before the file) and a WebSocket
 * `configure`. Absent: the server's default (`--hotwords-file`); present but empty: none for
 * this request; else the request's list replaces the default.
 */
import { type HotwordList, requestHotwords } from "../decode/hotwords.ts";
import type { TranscriberLike } from "./deps.ts";

/** `?hotwords=&hotwords_boost=` of a query (see the module comment); throws the 400 codes. */
export function queryHotwords(query: Record<string, string | string[] | undefined>): HotwordList | null | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(",") : v);
  return requestHotwords(one(query.hotwords), Array.isArray(query.hotwords_boost) ? query.hotwords_boost.at(-1) : query.hotwords_boost);
}

/** `t` deciding every job with `hotwords` (unchanged when `undefined`: the server's default applies). */
export function withHotwords<T extends TranscriberLike>(t: T, hotwords: HotwordList | null | undefined): T | TranscriberLike {
  if (hotwords === undefined) return t;
  const wrapped: TranscriberLike = {
    get info() {
      return t.info;
    },
    get available() {
      return t.available;
    },
    decodeSegment: (samples, offsetSeconds, opts) => t.decodeSegment(samples, offsetSeconds, { ...opts, hotwords }),
    transcribeStream: (chunks, opts) => t.transcribeStream(chunks, { ...opts, hotwords }),
    ...(t.partialSlot ? { partialSlot: (signal?: AbortSignal) => t.partialSlot!(signal) } : {}),
  };
  return wrapped;
}
