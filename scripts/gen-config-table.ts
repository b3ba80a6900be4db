/**
 * Prints README's `gigastt serve` flags table and the config file's key list from the one flag
 * schema (src/server/flag-schema.ts), so docs and code cannot drift (test/serve-flags.test.ts
 * checks README holds exactly these).
 *   bun scripts/gen-config-table.ts          print them
 *   bun scripts/gen-config-table.ts --write  replace them in README.md
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configTable, fileKeysText } from "../src/server/flag-schema.ts";

export const README_PATH = join(import.meta.dir, "..", "README.md");

/** README with the generated table and key list in place of the current ones. */
export function withGenerated(readme: string): string {
  const lines = readme.split("\n");
  const head = lines.indexOf("### `gigastt serve` flags");
  if (head < 0) throw new Error("README has no '### `gigastt serve` flags' section");
  const start = lines.findIndex((l, i) => i > head && l.startsWith("| flag |"));
  let end = start;
  while (end < lines.length && lines[end]!.startsWith("|")) end++;
  lines.splice(start, end - start, ...configTable().split("\n"));
  const keys = lines.findIndex((l) => l.startsWith("Flat keys, all optional"));
  if (keys < 0) throw new Error("README has no 'Flat keys, all optional' line");
  let keysEnd = keys + 1;
  while (keysEnd < lines.length && lines[keysEnd]!.trim() !== "") keysEnd++;
  lines.splice(keys, keysEnd - keys, fileKeysText());
  return lines.join("\n");
}

if (import.meta.main) {
  if (process.argv.includes("--write")) writeFileSync(README_PATH, withGenerated(readFileSync(README_PATH, "utf8")));
  else console.log(`${configTable()}\n\n${fileKeysText()}`);
}
