/**
 * The decode Worker: compressed codecs (WASM) run here, off the server's event loop.
 * Started by ./remote.ts; in a compiled binary it is the extra entrypoint
 * `audio/worker.ts` (scripts/compile.ts). One Worker serves many decode sessions;
 * each request is answered in order with the session's new PCM (transferred, not
 * copied), its stream info and warnings, or the error (code, message, details).
 */
import { isGigasttError } from "../errors.ts";
import { makeDecoder } from "./codecs/make.ts";
import type { Planar, PcmDecoder } from "./codecs/types.ts";
import type { DecodeReply, DecodeRequest } from "./remote.ts";

declare const self: Worker;

const sessions = new Map<number, PcmDecoder>();
/** A full garbage collection after every this many seconds of audio decoded here. */
const GC_EVERY_SECONDS = 60;
let sinceGc = 0;

function reply(r: DecodeReply, planes: Planar | null): void {
  const transfer = new Set<ArrayBuffer>();
  for (const p of planes ?? []) transfer.add(p.buffer as ArrayBuffer);
  self.postMessage(r, [...transfer]);
}

async function handle(m: DecodeRequest): Promise<void> {
  if (m.op === "free") {
    try {
      sessions.get(m.s)?.free();
    } finally {
      sessions.delete(m.s);
      if (m.id !== undefined) reply({ id: m.id, ok: true, planes: null, info: null, warnings: [] }, null);
    }
    return;
  }
  let dec = sessions.get(m.s);
  try {
    if (m.op === "open") {
      sessions.set(m.s, makeDecoder(m.kind, m.tmpDir));
      reply({ id: m.id, ok: true, planes: null, info: null, warnings: [] }, null);
      return;
    }
    if (!dec) throw new Error("decode session is closed");
    let planes: Planar | null;
    if (m.op === "push") planes = await dec.push(m.bytes);
    else if (m.op === "finish") planes = await dec.finish();
    else planes = dec.drain ? await dec.drain() : null;
    // views of a larger buffer are copied out, so the transfer moves only this output
    planes = planes && planes.map((p) => (p.byteOffset === 0 && p.byteLength === p.buffer.byteLength ? p : p.slice()));
    if (planes?.length && dec.info) {
      // every decoded chunk is a fresh array copied out of WASM memory: left alone, this thread's
      // collector lets RSS climb by tens of MB per hour of audio. A full collection here is
      // synchronous, and that is fine: this thread is not the server's event loop
      sinceGc += planes[0]!.length / dec.info.sampleRate;
      if (sinceGc > GC_EVERY_SECONDS) {
        sinceGc = 0;
        Bun.gc(true);
      }
    }
    reply({ id: m.id, ok: true, planes, info: dec.info, warnings: [...dec.warnings] }, planes);
  } catch (e) {
    dec = sessions.get(m.s);
    const error = isGigasttError(e)
      ? { code: e.code, message: e.message, details: e.details }
      : { message: e instanceof Error ? e.message : String(e) };
    reply({ id: m.id, ok: false, error, info: dec?.info ?? null, warnings: [...(dec?.warnings ?? [])] }, null);
  }
}

// requests of one session are handled strictly in order (each awaits the last)
let chain: Promise<void> = Promise.resolve();
self.onmessage = (ev: MessageEvent<DecodeRequest>) => {
  const m = ev.data;
  chain = chain.then(() => handle(m));
};
