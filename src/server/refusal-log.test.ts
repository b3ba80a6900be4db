import { expect, test } from "bun:test";
import { createRefusalThrottle } from "./refusal-log.ts";

test("one line per key per window, carrying the refusals it stands for", () => {
  let t = 0;
  const th = createRefusalThrottle({ windowMs: 60_000, now: () => t });
  expect(th.take("1.2.3.4 origin_denied")).toBe(1);
  for (let i = 0; i < 500; i++) expect(th.take("1.2.3.4 origin_denied")).toBeNull();
  expect(th.take("5.6.7.8 origin_denied")).toBe(1); // another client has its own line
  t = 59_999;
  expect(th.take("1.2.3.4 origin_denied")).toBeNull();
  t = 60_000;
  expect(th.take("1.2.3.4 origin_denied")).toBe(502); // 501 quiet ones + this one
  expect(th.take("1.2.3.4 origin_denied")).toBeNull();
});

test("the key table stays bounded under a flood from many addresses", () => {
  let t = 0;
  const th = createRefusalThrottle({ maxKeys: 100, now: () => t });
  for (let i = 0; i < 10_000; i++) {
    t = i;
    expect(th.take(`10.0.${i >> 8}.${i & 255}`)).toBe(1);
  }
  expect(th.size).toBeLessThanOrEqual(100);
});
