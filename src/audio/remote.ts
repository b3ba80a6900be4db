/**
 * Compressed-format decoding off the event loop: a PcmDecoder whose codec runs in a
 * decode Worker (./worker.ts). Workers are pooled (started on first use, at most
 * POOL_SIZE, each serving several sessions, unref'd so they never hold the process
 * open, stopped after IDLE_MS without a session). Each session has at most one
 * request in flight: the caller awaits every push before the next, so at most one
 * chunk of bytes and one chunk of PCM are queued per session (backpressure by
 * construction). PCM comes back transferred, not copied. Errors keep their codes; a
 * Worker that dies fails only its own sessions (`invalid_audio`, as for damage in the
 * stream) and is replaced on the next use.
 */
import { availableParallelism, tmpdir } from "node:os";
import { type ErrorCode, GigasttError } from "../errors.ts";
import type { CodecKind } from "./codecs/select.ts";
import type { Planar, PcmDecoder, StreamInfo } from "./codecs/types.ts";

export type DecodeRequest =
  | { id: number; s: number; op: "open"; kind: Exclude<CodecKind, "wav">; tmpDir: string }
  | { id: number; s: number; op: "push"; bytes: Uint8Array }
  | { id: number; s: number; op: "finish" | "drain" }
  | { s: number; op: "free"; id?: number };

export type DecodeReply =
  | { id: number; ok: true; planes: Planar | null; info: StreamInfo | null; warnings: string[] }
  | { id: number; ok: false; error: { code?: ErrorCode; message: string; details?: Record<string, unknown> }; info: StreamInfo | null; warnings: string[] };

/**
 * URL of the decode Worker entry (`src/audio/worker.ts`): next to this module from
 * source; in a compiled binary (`bun build --compile src/main.ts … src/audio/worker.ts`)
 * `import.meta.url` is the embedded tree's root and the entry is `audio/worker.ts` below it.
 */
export function audioWorkerUrl(moduleUrl: string = import.meta.url): string {
  if (/\/audio\/remote\.[cm]?[jt]s$/.test(new URL(moduleUrl).pathname)) return new URL("./worker.ts", moduleUrl).href;
  return new URL("./audio/worker.ts", moduleUrl).href;
}

/** decode Workers at most (each a thread with its own WASM instances) */
export const POOL_SIZE = Math.max(1, Math.min(4, availableParallelism()));
/** a Worker with no session for this long is stopped */
const IDLE_MS = 30_000;

interface Slot {
  worker: Worker;
  sessions: number;
  pending: Map<number, { resolve: (r: DecodeReply) => void; reject: (e: unknown) => void }>;
  dead: string | null;
  idle: ReturnType<typeof setTimeout> | null;
}

let url = audioWorkerUrl();
const slots: Slot[] = [];
let nextId = 1;
let nextSession = 1;

/** Point the pool at another Worker entry (tests); running Workers are kept. */
export function setAudioWorkerUrl(u: string): void {
  url = u;
}

function start(): Slot {
  const worker = new Worker(url);
  const slot: Slot = { worker, sessions: 0, pending: new Map(), dead: null, idle: null };
  const die = (why: string) => {
    if (slot.dead) return;
    slot.dead = why;
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    for (const p of slot.pending.values()) p.reject(new Error(why));
    slot.pending.clear();
    worker.terminate();
  };
  worker.onmessage = (ev: MessageEvent<DecodeReply>) => {
    const p = slot.pending.get(ev.data.id);
    if (!p) return;
    slot.pending.delete(ev.data.id);
    p.resolve(ev.data);
  };
  worker.onerror = (ev: ErrorEvent) => {
    ev.preventDefault?.();
    die(`the decoder failed: ${ev.message || "worker error"}`);
  };
  worker.addEventListener("close", () => die("the decoder stopped"));
  worker.unref();
  slots.push(slot);
  return slot;
}

/** The least busy Worker, or a new one while the pool is not full. */
function acquire(): Slot {
  let best: Slot | null = null;
  for (const s of slots) if (!best || s.sessions < best.sessions) best = s;
  const slot = best && (best.sessions === 0 || slots.length >= POOL_SIZE) ? best : start();
  slot.sessions++;
  if (slot.idle) {
    clearTimeout(slot.idle);
    slot.idle = null;
  }
  return slot;
}

function release(slot: Slot): void {
  slot.sessions--;
  if (slot.sessions > 0 || slot.dead) return;
  slot.idle = setTimeout(() => {
    if (slot.sessions > 0 || slot.dead) return;
    slot.dead = "idle";
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    slot.worker.terminate();
  }, IDLE_MS);
  (slot.idle as { unref?: () => void }).unref?.();
}

/** Stops every decode Worker that has no session (the next decode starts a fresh one). */
export function stopIdleAudioWorkers(): void {
  for (const slot of [...slots]) {
    if (slot.sessions > 0) continue;
    if (slot.idle) clearTimeout(slot.idle);
    slot.dead = "stopped";
    slots.splice(slots.indexOf(slot), 1);
    slot.worker.terminate();
  }
}

/** Decode Workers running now (tests, metrics). */
export function audioWorkers(): number {
  return slots.length;
}

export class RemoteDecoder implements PcmDecoder {
  info: StreamInfo | null = null;
  warnings: readonly string[] = [];
  private slot: Slot | null;
  private readonly s = nextSession++;
  private readonly opened: Promise<unknown>;

  /** `tmpDir`: where an MP4 with its index at the end spills (this thread's temporary folder by default) */
  constructor(kind: Exclude<CodecKind, "wav">, tmpDir: string = tmpdir()) {
    this.slot = acquire();
    this.opened = this.call({ id: 0, s: this.s, op: "open", kind, tmpDir });
    this.opened.catch(() => {});
  }

  async push(bytes: Uint8Array): Promise<Planar> {
    await this.opened;
    return (await this.call({ id: 0, s: this.s, op: "push", bytes })) ?? [];
  }
  async finish(): Promise<Planar> {
    await this.opened;
    return (await this.call({ id: 0, s: this.s, op: "finish" })) ?? [];
  }
  async drain(): Promise<Planar | null> {
    await this.opened;
    return this.call({ id: 0, s: this.s, op: "drain" });
  }
  free(): void {
    const slot = this.slot;
    if (!slot) return;
    this.slot = null;
    if (!slot.dead) slot.worker.postMessage({ s: this.s, op: "free" } satisfies DecodeRequest);
    release(slot);
  }

  /** free(), resolved once the Worker has released the session (an MP4 spill file is deleted by then) */
  async close(): Promise<void> {
    const slot = this.slot;
    if (!slot) return;
    this.slot = null;
    if (!slot.dead) {
      const id = nextId++;
      await new Promise<unknown>((resolve) => {
        slot.pending.set(id, { resolve, reject: resolve });
        slot.worker.postMessage({ s: this.s, op: "free", id } satisfies DecodeRequest);
      });
    }
    release(slot);
  }

  private call(req: Exclude<DecodeRequest, { op: "free" }>): Promise<Planar | null> {
    const slot = this.slot;
    if (!slot) return Promise.reject(new Error("decode session is closed"));
    if (slot.dead) return Promise.reject(new Error(slot.dead));
    const id = nextId++;
    return new Promise<DecodeReply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...req, id });
    }).then((r) => {
      if (r.info) this.info = r.info;
      this.warnings = r.warnings;
      if (r.ok) return r.planes;
      const e = r.error;
      throw e.code ? new GigasttError(e.code, e.message, { details: e.details }) : new Error(e.message);
    });
  }
}
