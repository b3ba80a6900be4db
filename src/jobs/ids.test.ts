import { expect, test } from "bun:test";
import { isJobId, newJobId } from "./ids.ts";

test("ids are 128 random bits as 32 hex digits, never repeated", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newJobId()));
  expect(ids.size).toBe(1000);
  for (const id of ids) expect(isJobId(id)).toBe(true);
  expect(newJobId((b) => b.fill(0xab))).toBe("ab".repeat(16));
});

test("anything but 32 lower-case hex digits is not an id", () => {
  for (const s of ["", "abc", "AB".repeat(16), `${"a".repeat(31)}g`, "../jobs.db", "a".repeat(33)]) expect(isJobId(s)).toBe(false);
});
