/** `install.sh --help`, run from the file and piped into `sh -s -- --help` as the README's curl line does. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, run } from "./helpers.ts";

const SCRIPT = join(ROOT, "scripts", "install.sh");
const env = { PATH: "/usr/bin:/bin", HOME: "/nonexistent" };

test("install.sh --help prints the help on stdout and exits 0, without script lines", async () => {
  for (const cmd of [["sh", SCRIPT, "--help"], ["sh", SCRIPT, "-h"], ["dash", SCRIPT, "--help"]]) {
    const r = await run(cmd, { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--prefix DIR");
    expect(r.stdout).toContain("GIGASTT_BASE_URL");
    expect(r.stdout).not.toContain("set -eu");
    expect(r.stderr).toBe("");
  }
});

test("piped: `sh -s -- --help` shows the same help and exits 0", async () => {
  const r = await run(["sh", "-s", "--", "--help"], { env, stdin: new Uint8Array(readFileSync(SCRIPT)) });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("--prefix DIR");
  expect(r.stdout).not.toContain("set -eu");
});

test("a usage error still exits 2 with the help on stderr", async () => {
  const r = await run(["sh", SCRIPT, "--frobnicate"], { env });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("unknown option '--frobnicate'");
  expect(r.stderr).toContain("--prefix DIR");
  expect(r.stdout).toBe("");
});
