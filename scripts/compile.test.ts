import { expect, test } from "bun:test";
import { hostTarget, parseTargets } from "./compile.ts";

const names = (ts: { name: string }[]) => ts.map((t) => t.name);

test("`bun run compile` builds the host's target only; --all builds the four release targets", () => {
  expect(names(parseTargets(undefined, { host: "linux-arm64" }))).toEqual(["linux-arm64"]);
  expect(names(parseTargets([], { all: false, host: "darwin-x64" }))).toEqual(["darwin-x64"]);
  expect(names(parseTargets(undefined, { all: true }))).toEqual(["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"]);
  expect(names(parseTargets(["linux-x64,darwin-arm64"], { host: "linux-arm64" }))).toEqual(["linux-x64", "darwin-arm64"]);
  expect(() => parseTargets(["linux-x64"], { all: true })).toThrow("exclude");
  expect(() => parseTargets(undefined, { host: null })).toThrow("--all");
});

test("the host target is named from platform and arch", () => {
  expect(hostTarget("linux", "x64")).toBe("linux-x64");
  expect(hostTarget("darwin", "arm64")).toBe("darwin-arm64");
  expect(hostTarget("win32", "x64")).toBeNull();
  expect(hostTarget()).toBe(`${process.platform}-${process.arch}` as never);
});
