/**
 * The serve flags as README's configuration table documents them agree with the code: the
 * parser's table (SERVE_FLAGS: name, env var), citty's args (what `--help` prints), the
 * defaults of the reloadable limits and the config-file keys. A flag added, renamed or given
 * another env var in one place and not the others fails here.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import serve from "../src/cli/serve.ts";
import { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_POOL_SIZE, DEFAULT_PORT, FILE_KEYS, SERVE_FLAGS, type ServeFlag } from "../src/server/config.ts";

const README = readFileSync(join(import.meta.dir, "..", "README.md"), "utf8");
/** flags the CLI runner takes for every command (not in serve's own args) */
const GLOBAL: readonly ServeFlag[] = ["log-level"];
/** env vars read outside the generic per-flag env lookup: the model store (resolveModelDir) and the API-key list (comma-separated)*/
const ENV_ELSEWHERE: Partial<Record<ServeFlag, string>> = { "model-dir": "GIGASTT_MODEL_DIR", "api-key": "GIGASTT_API_KEYS" };

interface Row {
  flags: string[];
  env: string | null;
  def: string;
}

function readmeRows(): Row[] {
  const start = README.indexOf("### `gigastt serve` flags");
  expect(start).toBeGreaterThan(0);
  const rows: Row[] = [];
  for (const line of README.slice(start).split("\n").slice(1)) {
    if (line.startsWith("#")) break;
    if (!line.startsWith("| `-")) continue;
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const flags = [...cells[1]!.matchAll(/--(?:no-)?([a-z][a-z-]*)/g)].map((m) => m[1]!);
    const env = /`(GIGASTT_[A-Z_]+)`/.exec(cells[2]!)?.[1] ?? null;
    rows.push({ flags: [...new Set(flags)], env, def: cells[3]! });
  }
  return rows;
}

describe("serve flags: README, parser, citty args and config keys agree", () => {
  const rows = readmeRows();
  const byFlag = new Map(rows.flatMap((r) => r.flags.map((f) => [f, r] as const)));

  test("the README table is read (not a test that cannot fail)", () => {
    expect(rows.length).toBeGreaterThan(20);
    expect(byFlag.get("port")).toMatchObject({ env: "GIGASTT_PORT", def: String(DEFAULT_PORT) });
  });

  test("every parser flag has a README row with its env var, and every row is a parser flag", () => {
    const wrong: string[] = [];
    for (const [name, spec] of Object.entries(SERVE_FLAGS) as [ServeFlag, { env?: string }][]) {
      const row = byFlag.get(name);
      const env = spec.env ?? ENV_ELSEWHERE[name] ?? null;
      if (!row) wrong.push(`--${name}: no README row`);
      else if (row.env !== env) wrong.push(`--${name}: README says ${row.env}, code ${env}`);
    }
    for (const f of byFlag.keys()) if (!(f in SERVE_FLAGS)) wrong.push(`--${f}: in README, not a serve flag`);
    expect(wrong).toEqual([]);
  });

  test("citty's args (--help) are the parser's flags, and name the env var", () => {
    const args = (serve as unknown as { args: Record<string, { description?: string }> }).args;
    expect(Object.keys(args).sort()).toEqual(Object.keys(SERVE_FLAGS).filter((f) => !GLOBAL.includes(f as ServeFlag)).sort());
    const missing = Object.entries(SERVE_FLAGS)
      .filter(([name, spec]) => "env" in spec && args[name] && !args[name]!.description!.includes(spec.env))
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  test("README's defaults are the code's", () => {
    const limitFlag = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    for (const [key, value] of Object.entries(DEFAULT_LIMITS)) expect(byFlag.get(limitFlag(key))!.def.replace(/ \(.*\)$/, "")).toBe(String(value));
    expect(byFlag.get("host")!.def).toBe(DEFAULT_HOST);
    expect(byFlag.get("pool-size")!.def).toBe(String(DEFAULT_POOL_SIZE));
    expect(byFlag.get("compact-pauses")!.def).toBe("on");
  });

  test("config-file keys are the limit flags' names with underscores", () => {
    for (const [key, field] of Object.entries(FILE_KEYS)) {
      const flag = key.replaceAll("_", "-");
      expect(flag in SERVE_FLAGS).toBe(true);
      expect(field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).toBe(flag);
    }
    expect(Object.keys(FILE_KEYS).sort()).toEqual(Object.keys(DEFAULT_LIMITS).map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).sort());
  });
});
