/**
 * The stream core's session lifecycle driven through its seams only: a fake admission pool,
 * drain, counters, log and decoder, and a sink that records what a transport would put on its
 * wire. No socket, no server, no model.
 */
import { describe, expect, test } from "bun:test";
import { GigasttError } from "../errors.ts";
import type { Word } from "../types.ts";
import type { StreamResult } from "./audio-stream.ts";
import { type CloseCause, LiveSession, type LiveSessionOptions, MAX_EMPTY_FRAMES } from "./live-session.ts";
import type { AdmissionPort, DrainPort, Slot } from "./ports.ts";
import type { SegmentDecoder } from "./utterances.ts";

const SR = 16000;

/** PCM16 of `spec`: [kind, seconds] with a 440 Hz tone or silence */
function pcm(spec: ReadonlyArray<readonly ["tone" | "pause", number]>): Uint8Array {
  const n = spec.reduce((s, [, sec]) => s + Math.round(sec * SR), 0);
  const out = new Int16Array(n);
  let o = 0;
  for (const [kind, sec] of spec) {
    const len = Math.round(sec * SR);
    if (kind === "tone") for (let i = 0; i < len; i++) out[o + i] = Math.round(16000 * Math.sin((2 * Math.PI * 440 * i) / SR));
    o += len;
  }
  return new Uint8Array(out.buffer);
}

/** one word per decoded segment: "w<start ms>", spanning it, confidence 0.5 */
class FakeDecoder implements SegmentDecoder {
  calls = 0;
  /** next decodes fail with this (once set) */
  failWith: unknown = null;
  /** decodes wait for this before resolving (when set) */
  gate: Promise<void> | null = null;
  async decodeSegment(samples: Float32Array, offset: number): Promise<Word[]> {
    this.calls++;
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return [{ word: `w${Math.round(offset * 1000)}`, start: offset, end: offset + samples.length / SR, confidence: 0.5 }];
  }
}

class FakePool implements AdmissionPort {
  inUse = 0;
  waiting: Array<{ resolve: (s: Slot) => void; reject: (e: unknown) => void }> = [];
  constructor(private readonly size = 1, private readonly refuse: GigasttError | null = null) {}
  acquire(opts: { signal?: AbortSignal } = {}): Promise<Slot> {
    if (this.refuse) return Promise.reject(this.refuse);
    return new Promise((resolve, reject) => {
      const give = () => {
        this.inUse++;
        let released = false;
        resolve({ release: () => void (released || (released = true, this.inUse--, this.waiting.shift()?.resolve(this.slot()))) });
      };
      if (this.inUse < this.size) give();
      else {
        const w = { resolve: (s: Slot) => resolve(s), reject };
        this.waiting.push(w);
        opts.signal?.addEventListener("abort", () => {
          this.waiting = this.waiting.filter((x) => x !== w);
          reject(opts.signal!.reason);
        });
      }
    });
  }
  private slot(): Slot {
    this.inUse++;
    let released = false;
    return { release: () => void (released || (released = true, this.inUse--)) };
  }
}

class FakeDrain implements DrainPort {
  draining = false;
  tracked: Promise<unknown>[] = [];
  private subs: Array<() => void> = [];
  onDrain(cb: () => void): () => void {
    this.subs.push(cb);
    return () => (this.subs = this.subs.filter((s) => s !== cb));
  }
  track<T>(p: Promise<T>): Promise<T> {
    this.tracked.push(p);
    return p;
  }
  start(): void {
    this.draining = true;
    for (const s of [...this.subs]) s();
  }
  get subscribers(): number {
    return this.subs.length;
  }
}

class Sink {
  events: Array<{ t: "ready" } | { t: "result"; r: StreamResult } | { t: "error"; code: string } | { t: "close"; cause: CloseCause }> = [];
  ready(): void {
    this.events.push({ t: "ready" });
  }
  result(r: StreamResult): void {
    this.events.push({ t: "result", r });
  }
  error(e: GigasttError): void {
    this.events.push({ t: "error", code: e.code });
  }
  close(cause: CloseCause): number {
    this.events.push({ t: "close", cause });
    return 4000;
  }
  get kinds(): string[] {
    return this.events.map((e) => (e.t === "result" ? e.r.type : e.t === "error" ? `error:${e.code}` : e.t === "close" ? `close:${e.cause}` : e.t));
  }
  get finals(): StreamResult[] {
    return this.events.flatMap((e) => (e.t === "result" && e.r.type === "final" ? [e.r] : []));
  }
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function make(over: Partial<LiveSessionOptions> = {}, pool = new FakePool()) {
  const sink = new Sink();
  const drain = (over.lifecycle as FakeDrain | undefined) ?? new FakeDrain();
  const decoder = (over.decoder as FakeDecoder | undefined) ?? new FakeDecoder();
  const counts = { sessions: 0, errors: [] as string[], inferences: 0 };
  const s = new LiveSession(sink, {
    admission: pool,
    lifecycle: drain,
    metrics: { error: (c) => counts.errors.push(c), inference: () => counts.inferences++, sessions: (d) => (counts.sessions += d) },
    decoder,
    log: quiet,
    limits: { idleTimeoutSecs: 0, maxSessionSecs: 0 },
    id: "t",
    sampleRate: SR,
    maxMessageBytes: 1 << 20,
    partials: undefined as never,
    ...over,
  } as LiveSessionOptions);
  return { s, sink, drain, decoder, pool, counts };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(5);
  expect(cond()).toBe(true);
};

describe("LiveSession lifecycle (no socket)", () => {
  test("ready once a slot is held; messages before it run in order after; stop → finals, close, slot back, done", async () => {
    const pool = new FakePool(1);
    const held = await pool.acquire();
    const { s, sink, drain, counts } = make({}, pool);
    s.start();
    const order: string[] = [];
    s.message(10, () => order.push("configure"));
    s.message(100, () => {
      order.push("audio");
      s.pushAudio(pcm([["tone", 0.5], ["pause", 1], ["tone", 0.4]]));
    });
    await Bun.sleep(20);
    expect(sink.kinds).toEqual([]);
    expect(counts.sessions).toBe(1);
    held.release();
    await until(() => order.length === 2);
    expect(order).toEqual(["configure", "audio"]);
    expect(sink.kinds[0]).toBe("ready");
    s.stop();
    await s.done;
    expect(sink.kinds).toEqual(["ready", "final", "final", "close:stop"]);
    // the pause ended the first utterance, the stop the second
    expect(sink.finals.map((f) => [f.speechFinal, f.endpointReason, f.last])).toEqual([
      [true, "blank", false],
      [true, "stop", true],
    ]);
    expect(sink.finals[0]!.confidence).toBe(0.5);
    expect(pool.inUse).toBe(0);
    expect(counts.sessions).toBe(0);
    expect(drain.tracked).toHaveLength(1);
    expect(drain.subscribers).toBe(0);
  });

  test("endpoint mode manual: only stop ends the utterance; auto with a longer pause keeps two tones together", async () => {
    for (const [e, n] of [[{ mode: "manual" }, 1], [{ mode: "auto", minSilenceMs: 1500 }, 1], [{ mode: "auto", minSilenceMs: 200 }, 2]] as const) {
      const { s, sink } = make();
      s.start();
      await until(() => s.isActive);
      expect(s.setEndpointing(e)).toBe(true);
      s.message(1, () => s.pushAudio(pcm([["tone", 0.5], ["pause", 1], ["tone", 0.4]])));
      expect(s.setEndpointing({ mode: "auto" })).toBe(false); // audio arrived: fixed
      s.stop();
      await s.done;
      expect(sink.finals.filter((f) => f.words.length > 0)).toHaveLength(n);
    }
  });

  test("idle timeout, session cap: the error, the final of what was heard, the close", async () => {
    for (const [limits, code, cause] of [
      [{ idleTimeoutSecs: 0.05, maxSessionSecs: 0 }, "idle_timeout", "idle"],
      [{ idleTimeoutSecs: 0, maxSessionSecs: 0.05 }, "max_session_duration_exceeded", "session_cap"],
    ] as const) {
      const { s, sink, pool } = make({ limits });
      s.start();
      await until(() => s.isActive);
      s.message(1, () => s.pushAudio(pcm([["tone", 0.4]])));
      await s.done;
      expect(sink.kinds).toEqual(["ready", `error:${code}`, "final", `close:${cause}`]);
      expect(sink.finals[0]!.words).toHaveLength(1);
      expect(pool.inUse).toBe(0);
    }
  });

  test("backlog: audio far ahead of its finals → backlog_exceeded, the final with everything sent, close", async () => {
    const decoder = new FakeDecoder();
    let open!: () => void;
    decoder.gate = new Promise<void>((r) => (open = r));
    const { s, sink } = make({ decoder, maxBacklogSeconds: 2 });
    s.start();
    await until(() => s.isActive);
    for (let i = 0; i < 4; i++) s.message(1, () => s.pushAudio(pcm([["tone", 0.4], ["pause", 0.7]])));
    expect(sink.kinds).toEqual(["ready", "error:backlog_exceeded"]);
    open();
    await s.done;
    expect(sink.kinds.at(-1)).toBe("close:backlog");
    // 2.2 s in (two utterances) crossed the 2 s bound: both are answered, later audio is not taken
    expect(sink.finals.flatMap((f) => f.words)).toHaveLength(2);
  });

  test(`more than ${MAX_EMPTY_FRAMES} empty frames → policy_violation (Rust's code), final, close`, async () => {
    const { s, sink, counts } = make();
    s.start();
    await until(() => s.isActive);
    for (let i = 0; i <= MAX_EMPTY_FRAMES; i++) s.message(0, () => s.pushAudio(new Uint8Array(0)));
    await s.done;
    expect(sink.kinds).toEqual(["ready", "error:policy_violation", "final", "close:policy"]);
    expect(counts.errors).toEqual(["policy_violation"]);
  });

  test("a message over the cap → frame_too_large and close; before ready without a final", async () => {
    const a = make({ maxMessageBytes: 100 });
    a.s.start();
    await until(() => a.s.isActive);
    a.s.message(101, () => {});
    await a.s.done;
    expect(a.sink.kinds).toEqual(["ready", "error:frame_too_large", "final", "close:too_big"]);
    const pool = new FakePool(1);
    const held = await pool.acquire();
    const b = make({ maxMessageBytes: 100 }, pool);
    b.s.start();
    b.s.message(101, () => {});
    await b.s.done;
    expect(b.sink.kinds).toEqual(["error:frame_too_large", "close:too_big"]);
    expect(pool.waiting).toHaveLength(0); // the wait was abandoned
    held.release();
  });

  test("drain: a waiting session gets shutting_down, an active one its final; a draining server refuses at once", async () => {
    const pool = new FakePool(1);
    const drain = new FakeDrain();
    const active = make({ lifecycle: drain }, pool);
    active.s.start();
    await until(() => active.s.isActive);
    active.s.message(1, () => active.s.pushAudio(pcm([["tone", 0.4]])));
    const waiting = make({ lifecycle: drain }, pool);
    waiting.s.start();
    drain.start();
    await Promise.all([active.s.done, waiting.s.done]);
    expect(active.sink.kinds).toEqual(["ready", "final", "close:drain"]);
    expect(waiting.sink.kinds).toEqual(["error:shutting_down", "close:drain"]);
    expect(pool.inUse).toBe(0);
    const late = make({ lifecycle: drain });
    late.s.start();
    await late.s.done;
    expect(late.sink.kinds).toEqual(["error:shutting_down", "close:drain"]);
  });

  test("a busy pool: timeout (retry hint kept) and close busy; pool_closed closes as a drain", async () => {
    const busy = make({}, new FakePool(1, new GigasttError("timeout", undefined, { details: { retry_after_ms: 5 } })));
    busy.s.start();
    await busy.s.done;
    expect(busy.sink.kinds).toEqual(["error:timeout", "close:busy"]);
    const closed = make({}, new FakePool(1, new GigasttError("pool_closed")));
    closed.s.start();
    await closed.s.done;
    expect(closed.sink.kinds).toEqual(["error:pool_closed", "close:drain"]);
  });

  test("a failed decode → inference_error and the session goes on; a timed-out one → inference_timeout, close without a final", async () => {
    const a = make();
    a.s.start();
    await until(() => a.s.isActive);
    (a.decoder as FakeDecoder).failWith = new Error("boom");
    a.s.message(1, () => a.s.pushAudio(pcm([["tone", 0.4], ["pause", 1]])));
    await until(() => a.sink.kinds.includes("error:inference_error"));
    (a.decoder as FakeDecoder).failWith = null;
    a.s.stop();
    await a.s.done;
    expect(a.sink.kinds).toEqual(["ready", "error:inference_error", "final", "close:stop"]);

    const b = make();
    b.s.start();
    await until(() => b.s.isActive);
    (b.decoder as FakeDecoder).failWith = new GigasttError("inference_timeout");
    b.s.message(1, () => b.s.pushAudio(pcm([["tone", 0.4], ["pause", 1]])));
    await b.s.done;
    expect(b.sink.kinds).toEqual(["ready", "error:inference_timeout", "close:inference_timeout"]);
    expect(b.pool.inUse).toBe(0);
  });

  test("the client leaving: no close callback, the slot and the drain subscription go back", async () => {
    const { s, sink, pool, drain } = make();
    s.start();
    await until(() => s.isActive);
    s.message(1, () => s.pushAudio(pcm([["tone", 0.4]])));
    s.clientClosed(1000);
    await s.done;
    expect(sink.kinds).toEqual(["ready"]);
    expect(pool.inUse).toBe(0);
    expect(drain.subscribers).toBe(0);
  });

  test("commit ends the open utterance (endpoint_reason stop) and the stream goes on; clear drops it", async () => {
    const { s, sink } = make();
    s.start();
    await until(() => s.isActive);
    s.setEndpointing({ mode: "manual" });
    s.message(1, () => s.pushAudio(pcm([["tone", 0.4]])));
    await s.commit();
    expect(sink.finals.map((f) => f.endpointReason)).toEqual(["stop"]);
    s.message(1, () => s.pushAudio(pcm([["tone", 0.4]])));
    s.clear();
    s.stop();
    await s.done;
    expect(sink.finals.map((f) => f.words.length)).toEqual([1, 0]);
  });
});
