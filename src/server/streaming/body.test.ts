import { describe, expect, test } from "bun:test";
import { GigasttError } from "../../errors.ts";
import { checkContentLength, DRAIN_STALL_MS, limitedBody } from "./body.ts";

function streamOf(chunks: Uint8Array[], onCancel?: () => void): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < chunks.length) c.enqueue(chunks[i++]!);
      else c.close();
    },
    cancel: () => onCancel?.(),
  });
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof GigasttError ? e.code : "not-gigastt";
  }
  return undefined;
}

describe("checkContentLength", () => {
  test("over the cap → payload_too_large, zero → empty_body, absent or within → ok", () => {
    const h = (v?: string) => new Headers(v === undefined ? {} : { "content-length": v });
    expect(() => checkContentLength(h("101"), 100)).toThrow("Payload too large");
    expect(() => checkContentLength(h("0"), 100)).toThrow("Request body is empty");
    expect(() => checkContentLength(h("100"), 100)).not.toThrow();
    expect(() => checkContentLength(h(), 100)).not.toThrow();
  });
});

describe("limitedBody", () => {
  test("passes every byte through within the cap", async () => {
    expect(await drain(limitedBody(streamOf([new Uint8Array(60), new Uint8Array(40)]), 100))).toBe(100);
  });

  test("fails as soon as the cap is crossed and cancels the upload", async () => {
    let cancelled = false;
    let pulled = 0;
    const chunks = Array.from({ length: 1000 }, () => new Uint8Array(64));
    const src = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled < chunks.length) c.enqueue(chunks[pulled++]!);
        else c.close();
      },
      cancel: () => {
        cancelled = true;
      },
    });
    expect(await codeOf(drain(limitedBody(src, 1000)))).toBe("payload_too_large");
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(40);
  });

  test("no body or zero bytes → empty_body", async () => {
    expect(await codeOf(drain(limitedBody(null, 100)))).toBe("empty_body");
    expect(await codeOf(drain(limitedBody(streamOf([new Uint8Array(0)]), 100)))).toBe("empty_body");
  });
});

describe("limitedBody pace", () => {
  /** a body that yields `chunks` with `gapMs` between them, then stays open */
  function slowStream(chunks: Uint8Array[], gapMs: number, close = true): ReadableStream<Uint8Array> {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        if (i < chunks.length) {
          if (i > 0) await Bun.sleep(gapMs);
          c.enqueue(chunks[i++]!);
        } else if (close) c.close();
        else await new Promise(() => {});
      },
    });
  }

  test("no byte within idleMs → body_timeout; the consumer's own time does not count", async () => {
    const pace = { idleMs: 100, minBytesPerSec: 0 };
    expect(await codeOf(drain(limitedBody(slowStream([new Uint8Array(10)], 0, false), 1000, pace)))).toBe("body_timeout");
    // chunks 60 ms apart are fine, and a slow consumer (150 ms per chunk) is not the client's fault
    let n = 0;
    for await (const c of limitedBody(slowStream([new Uint8Array(10), new Uint8Array(10), new Uint8Array(10)], 60), 1000, pace)) {
      n += c.length;
      await Bun.sleep(150);
    }
    expect(n).toBe(30);
  });

  test("under minBytesPerSec over a window of waiting → body_timeout, at or over it → ok", async () => {
    const trickle = Array.from({ length: 12 }, () => new Uint8Array(1));
    const pace = { idleMs: 200, minBytesPerSec: 100 }; // 20 bytes per 200 ms window
    expect(await codeOf(drain(limitedBody(slowStream(trickle, 30), 1000, pace)))).toBe("body_timeout");
    const steady = Array.from({ length: 12 }, () => new Uint8Array(10));
    expect(await drain(limitedBody(slowStream(steady, 30), 1000, pace))).toBe(120);
  });

  test("draining: a read stalled for DRAIN_STALL_MS → shutting_down (not the full idle timeout)", async () => {
    const stop = new AbortController();
    const started = performance.now();
    const p = codeOf(drain(limitedBody(slowStream([new Uint8Array(10)], 0, false), 1000, { idleMs: 30_000, minBytesPerSec: 0, stop: stop.signal })));
    await Bun.sleep(50);
    stop.abort();
    expect(await p).toBe("shutting_down");
    expect(performance.now() - started).toBeLessThan(DRAIN_STALL_MS + 500);
  });
});
