/**
 * SHA256SUMS in the coreutils format (`<hex>  <name>`, one per line, sorted),
 * readable by `sha256sum -c`, `shasum -a 256 -c`, scripts/install.sh and the
 * Homebrew formula generator.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";

export type Sums = ReadonlyMap<string, string>;

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export function formatSums(sums: Sums): string {
  return [...sums.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, hex]) => `${hex}  ${name}\n`)
    .join("");
}

/** Parses SHA256SUMS text; throws on a malformed line or a duplicate name. */
export function parseSums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const m = /^([0-9a-f]{64}) [ *]([^\s/][^/]*)$/.exec(line);
    if (!m) throw new Error(`SHA256SUMS line ${i + 1} is malformed: ${JSON.stringify(line)}`);
    if (out.has(m[2]!)) throw new Error(`SHA256SUMS lists ${m[2]} twice`);
    out.set(m[2]!, m[1]!);
  }
  return out;
}

export function sumsOf(paths: readonly string[]): Map<string, string> {
  return new Map(paths.map((p) => [basename(p), sha256File(p)]));
}
