import { expect, test } from "bun:test";
import { jsonTooDeep, MAX_JSON_DEPTH } from "./json-guard.ts";

test("nesting is counted outside strings, in text and in UTF-8 bytes", () => {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  expect(jsonTooDeep(deep(MAX_JSON_DEPTH))).toBe(false);
  expect(jsonTooDeep(deep(MAX_JSON_DEPTH + 1))).toBe(true);
  expect(jsonTooDeep(`{"a":{"b":[1,{"c":2}]}}`, 4)).toBe(false);
  expect(jsonTooDeep(`{"a":{"b":[1,{"c":2}]}}`, 3)).toBe(true);
  // brackets inside strings (also after an escaped quote) do not count
  expect(jsonTooDeep(`{"t":"[[[[[[\\"[[[[[[","u":"щ{{{{"}`, 1)).toBe(false);
  expect(jsonTooDeep(new TextEncoder().encode(`{"t":"ё[[[["}`), 1)).toBe(false);
  expect(jsonTooDeep(new TextEncoder().encode(deep(40)), 32)).toBe(true);
});

test("a 488 KiB frame of [[[…]]] is judged in milliseconds", () => {
  const s = "[".repeat(250_000) + "]".repeat(250_000);
  const t = performance.now();
  expect(jsonTooDeep(s)).toBe(true);
  expect(jsonTooDeep(`[${"1,".repeat(200_000)}1]`)).toBe(false);
  expect(performance.now() - t).toBeLessThan(250);
});
