import { expect, test } from "bun:test";
import { E2E_RNNT_HEAD } from "../model/head.ts";
import type { ClosableTranscriber } from "./model-holder.ts";
import { createModelHolder } from "./model-holder.ts";

/** a model whose calls end when the test says so */
function fake(name: string) {
  const pending: Array<() => void> = [];
  let closed = false;
  const t: ClosableTranscriber & { closed: boolean; release(): void } = {
    info: { precision: "fp32", vocabSize: 1, workers: 1 },
    get available() {
      return !closed;
    },
    get closed() {
      return closed;
    },
    async transcribeStream() {
      if (closed) throw new Error(`${name} is closed`);
      await new Promise<void>((r) => pending.push(r));
      return { text: name, duration: 0, words: [], segments: [] };
    },
    async decodeSegment() {
      if (closed) throw new Error(`${name} is closed`);
      return [{ word: name, start: 0, end: 0, confidence: 1 }];
    },
    async partialSlot() {
      return () => {};
    },
    async close() {
      closed = true;
    },
    release() {
      for (const r of pending.splice(0)) r();
    },
  };
  return t;
}

const empty = (async function* () {})();

test("after a swap the old model finishes the work running at the swap and its calls in flight, then closes", async () => {
  let finishRunning!: () => void;
  const running = new Promise<void>((r) => (finishRunning = r));
  const holder = createModelHolder({ running: () => running });
  const a = fake("a");
  const b = fake("b");
  holder.set(a, E2E_RNNT_HEAD, true);
  const handleA = holder.current!;
  const call = handleA.transcribeStream(empty);
  const slot = await handleA.partialSlot!();
  const { retiredClosed } = holder.swap(b, E2E_RNNT_HEAD);
  expect((await holder.current!.decodeSegment(new Float32Array(1), 0))[0]!.word).toBe("b");
  // still running on a: a session that began on it keeps using it
  expect((await handleA.decodeSegment(new Float32Array(1), 0))[0]!.word).toBe("a");
  finishRunning();
  await Bun.sleep(5);
  expect(a.closed).toBe(false); // a call and a partial slot are still out
  a.release();
  expect((await call).text).toBe("a");
  await Bun.sleep(5);
  expect(a.closed).toBe(false);
  slot();
  slot(); // idempotent
  await retiredClosed;
  expect(a.closed).toBe(true);
  // a late caller of the old handle (its upload was still arriving) runs on the current model
  expect((await handleA.decodeSegment(new Float32Array(1), 0))[0]!.word).toBe("b");
  expect(handleA.available).toBe(true);
  await holder.close();
  expect(b.closed).toBe(true);
});

test("set() without ownership never closes the model it was given; a synchronous throw stays synchronous", async () => {
  const holder = createModelHolder({ running: async () => {} });
  const a = fake("a");
  holder.set(a, E2E_RNNT_HEAD);
  await holder.swap(fake("b"), E2E_RNNT_HEAD).retiredClosed;
  expect(a.closed).toBe(false);
  const bug = () => {
    throw new Error("bug");
  };
  const throwing = { ...fake("c"), decodeSegment: bug } as unknown as ClosableTranscriber;
  holder.set(throwing, E2E_RNNT_HEAD);
  expect(() => holder.current!.decodeSegment(new Float32Array(1), 0)).toThrow("bug");
  await holder.close();
  expect(holder.current).toBeNull();
});
