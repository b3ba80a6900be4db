import { describe, expect, test } from "bun:test";
import { GigasttError } from "../../errors.ts";
import { checkContentLength, limitedBody } from "./body.ts";

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
