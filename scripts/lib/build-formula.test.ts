import { expect, test } from "bun:test";
import { formulaFromSums, FORMULA_ASSETS } from "./build-formula.ts";
import { formatSums, parseSums } from "./build-sums.ts";

const hex = (c: string) => c.repeat(64);
const SUMS = parseSums(
  formatSums(
    new Map([
      ["gigastt-darwin-arm64", hex("a")],
      ["gigastt-darwin-x64", hex("b")],
      ["gigastt-linux-arm64", hex("c")],
      ["gigastt-linux-x64", hex("d")],
    ]),
  ),
);

/** (os, cpu) → { url, sha256 } read back from the formula text */
function platforms(rb: string): Map<string, { url: string; sha256: string }> {
  const out = new Map<string, { url: string; sha256: string }>();
  for (const os of rb.matchAll(/^  on_(macos|linux) do\n([\s\S]*?)^  end$/gm)) {
    for (const cpu of os[2]!.matchAll(/on_(arm|intel) do\n\s+url "([^"]+)"\n\s+sha256 "([0-9a-f]{64})"\n\s+end/g)) {
      out.set(`${os[1]}-${cpu[1]}`, { url: cpu[2]!, sha256: cpu[3]! });
    }
  }
  return out;
}

test("every platform block carries its asset's URL and the sha256 from SHA256SUMS", () => {
  const rb = formulaFromSums(SUMS, { version: "0.1.0", repo: "acme/gigastt" });
  const p = platforms(rb);
  const base = "https://github.com/acme/gigastt/releases/download/v0.1.0";
  expect(Object.fromEntries(p)).toEqual({
    "macos-arm": { url: `${base}/gigastt-darwin-arm64`, sha256: SUMS.get("gigastt-darwin-arm64")! },
    "macos-intel": { url: `${base}/gigastt-darwin-x64`, sha256: SUMS.get("gigastt-darwin-x64")! },
    "linux-arm": { url: `${base}/gigastt-linux-arm64`, sha256: SUMS.get("gigastt-linux-arm64")! },
    "linux-intel": { url: `${base}/gigastt-linux-x64`, sha256: SUMS.get("gigastt-linux-x64")! },
  });
  expect(rb).toContain('version "0.1.0"');
  expect(rb).toContain('bin.install Dir["gigastt-*"].first => "gigastt"');
  expect(rb).toMatch(/test do\n\s+assert_match version\.to_s, shell_output\("#\{bin\}\/gigastt --version"\)\n\s+end/);
  expect(rb).toContain('homepage "https://github.com/acme/gigastt"');
});

test("a custom base URL is used as given (trailing slash dropped)", () => {
  const rb = formulaFromSums(SUMS, { version: "1.2.3", baseUrl: "https://dl.example.org/gigastt/1.2.3/" });
  expect(platforms(rb).get("linux-intel")!.url).toBe("https://dl.example.org/gigastt/1.2.3/gigastt-linux-x64");
});

test("refuses sums without every platform, a bad version, or unsafe strings", () => {
  for (const a of FORMULA_ASSETS) {
    const partial = new Map(SUMS);
    partial.delete(a);
    expect(() => formulaFromSums(partial, { version: "0.1.0" })).toThrow(a);
  }
  expect(() => formulaFromSums(SUMS, { version: "latest" })).toThrow(/version/);
  expect(() => formulaFromSums(SUMS, { version: "0.1.0", baseUrl: 'https://x/"#{system("id")}' })).toThrow(/Ruby string/);
  expect(() => formulaFromSums(SUMS, { version: "0.1.0", repo: "no-slash" })).toThrow(/owner\/name/);
});
