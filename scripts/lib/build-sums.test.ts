import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatSums, parseSums, sumsOf } from "./build-sums.ts";

test("SHA256SUMS lines are sorted, coreutils-formatted and parse back", () => {
  const dir = mkdtempSync(join(tmpdir(), "sums-"));
  writeFileSync(join(dir, "gigastt-linux-x64"), "abc");
  writeFileSync(join(dir, "gigastt-darwin-arm64"), "");
  const text = formatSums(sumsOf([join(dir, "gigastt-linux-x64"), join(dir, "gigastt-darwin-arm64")]));
  expect(text).toBe(
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  gigastt-darwin-arm64\n" +
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  gigastt-linux-x64\n",
  );
  expect(parseSums(text)).toEqual(
    new Map([
      ["gigastt-darwin-arm64", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      ["gigastt-linux-x64", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    ]),
  );
});

test("binary-mode marker is accepted; bad lines, paths and duplicates are not", () => {
  const h = "a".repeat(64);
  expect(parseSums(`${h} *gigastt-linux-x64\r\n`).get("gigastt-linux-x64")).toBe(h);
  expect(() => parseSums(`${h.slice(1)}  gigastt-linux-x64\n`)).toThrow(/line 1/);
  expect(() => parseSums(`${h}  ../etc/passwd\n`)).toThrow(/malformed/);
  expect(() => parseSums(`${h}  a\n${h}  a\n`)).toThrow(/twice/);
});
