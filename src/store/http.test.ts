import { describe, expect, test } from "bun:test";
import { NoRouteError, RetryableError, classifyNetworkError, parseLinkedEtag, parseRetryAfter } from "./http.ts";
import { DEFAULT_NET, backoffMs } from "./download.ts";

const SHA = "cd60b3764a832e8560ae6d3ad0b10adc1a42ffae412b9476f25620aae4f4a508";

describe("http helpers", () => {
  test("X-Linked-Etag: quotes and W/ stripped, only a SHA-256 is accepted", () => {
    expect(parseLinkedEtag(`"${SHA}"`)).toBe(SHA);
    expect(parseLinkedEtag(`W/"${SHA.toUpperCase()}"`)).toBe(SHA);
    expect(parseLinkedEtag(SHA)).toBe(SHA);
    expect(parseLinkedEtag('"a1b2c3"')).toBeUndefined(); // a git blob sha1, not an LFS sha256
    expect(parseLinkedEtag(null)).toBeUndefined();
  });

  test("Retry-After: seconds or HTTP date", () => {
    expect(parseRetryAfter("7")).toBe(7000);
    expect(parseRetryAfter("1.5")).toBe(1500);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Thu, 01 Jan 2025 00:00:30 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  test("connection refused and DNS failures are 'no route'; other errors are retryable", () => {
    const url = "https://huggingface.co/x";
    expect(classifyNetworkError(Object.assign(new TypeError("x"), { code: "ECONNREFUSED" }), url)).toBeInstanceOf(NoRouteError);
    expect(classifyNetworkError(Object.assign(new TypeError("x"), { code: "ENOTFOUND" }), url)).toBeInstanceOf(NoRouteError);
    expect(classifyNetworkError(Object.assign(new TypeError("x"), { code: "ENOTFOUND" }), url).message).toBe("cannot reach huggingface.co: ENOTFOUND (DNS lookup failed)");
    expect(classifyNetworkError(Object.assign(new TypeError("x"), { code: "ECONNREFUSED" }), url).message).toBe("cannot reach huggingface.co: connection refused");
    expect(classifyNetworkError(Object.assign(new TypeError("x"), { code: "EHOSTUNREACH" }), url).message).toBe("cannot reach huggingface.co: no route to the host (EHOSTUNREACH)");
    expect(classifyNetworkError(Object.assign(new TypeError("x"), { code: "ECONNRESET" }), url)).toBeInstanceOf(RetryableError);
    expect(classifyNetworkError(new Error("weird"), url)).toBeInstanceOf(RetryableError);
  });

  test("defaults: connect timeout 10 s, idle timeout 30 s, 60 s of retry waiting in total", () => {
    expect([DEFAULT_NET.connectTimeoutMs, DEFAULT_NET.idleTimeoutMs, DEFAULT_NET.retryBudgetMs]).toEqual([10_000, 30_000, 60_000]);
  });

  test("backoff doubles from the base, is capped, and jitters within ±50 %", () => {
    const net = { backoffBaseMs: 1000, backoffMaxMs: 16_000 };
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, { ...net, random: () => 0.5 }))).toEqual([1000, 2000, 4000, 8000, 16000, 16000]);
    expect(backoffMs(2, { ...net, random: () => 0 })).toBe(2000);
    expect(backoffMs(2, { ...net, random: () => 0.999999 })).toBe(6000);
  });
});
