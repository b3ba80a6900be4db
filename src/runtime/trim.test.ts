import { describe, expect, test } from "bun:test";
import { releaseFreedMemory } from "./trim.ts";

describe("releaseFreedMemory", () => {
  test("calls glibc malloc_trim on Linux; a no-op elsewhere", () => {
    if (process.platform === "linux") expect(releaseFreedMemory()).toBe(true);
    expect(releaseFreedMemory("darwin")).toBe(false);
    expect(releaseFreedMemory("win32")).toBe(false);
  });
});
