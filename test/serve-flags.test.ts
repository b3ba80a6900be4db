/**
 * The serve flags are declared once (src/server/flag-schema.ts) and everything else agrees with
 * that declaration: README's configuration table and config-file key list are exactly the
 * generated ones (scripts/gen-config-table.ts), citty's args (what `--help` prints) are the
 * schema's, the parser takes every declared flag and no other, and the defaults README shows
 * are the ones the parser applies. A flag added, renamed or given another env var in one place
 * and not the others fails here.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { withGenerated, README_PATH } from "../scripts/gen-config-table.ts";
import serve from "../src/cli/serve.ts";
import { GigasttError } from "../src/errors.ts";
import { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_POOL_SIZE, DEFAULT_PORT, parseServeArgv, parseServeConfig } from "../src/server/config.ts";
import { configTable, FILE_KEYS, type FlagDef, fileKeysText, SERVE_SCHEMA } from "../src/server/flag-schema.ts";

const README = readFileSync(README_PATH, "utf8");
const schema = Object.entries(SERVE_SCHEMA) as [string, FlagDef][];

describe("serve flags: README, parser, citty args and config keys come from one schema", () => {
  test("README holds the generated table and key list (run `bun scripts/gen-config-table.ts --write`)", () => {
    expect(README).toContain(configTable());
    expect(README).toContain(fileKeysText());
    expect(withGenerated(README)).toBe(README);
  });

  test("the table has a row per flag, naming its env var", () => {
    const rows = configTable().split("\n").slice(2);
    expect(rows.length).toBe(schema.length);
    expect(rows.length).toBeGreaterThan(60);
    for (const [name, d] of schema) {
      const row = rows.find((r) => r.split("|")[1]!.match(/--(?:no-)?([a-z][a-z-]*)/)?.[1] === name);
      expect(row, `--${name}`).toBeDefined();
      if (d.env) expect(row!).toContain(`\`${d.env}\``);
      if (d.file) expect(row!).toContain(`\`${d.file}\``);
    }
  });

  test("citty's args (--help) are the schema's flags but the global ones, with the env var in each description", () => {
    const args = (serve as unknown as { args: Record<string, { description?: string; alias?: string }> }).args;
    expect(Object.keys(args).sort()).toEqual(schema.filter(([, d]) => !d.global).map(([n]) => n).sort());
    for (const [name, d] of schema) if (!d.global && d.env) expect(args[name]!.description, name).toContain(d.env);
    expect(args.port!.alias).toBe("p");
  });

  test("the parser takes every declared flag, and refuses an undeclared one", () => {
    for (const [name, d] of schema) {
      const argv = d.kind === "boolean" || d.kind === "optional-list" ? [`--${name}`] : [`--${name}`, "x"];
      expect(() => parseServeArgv(argv), name).not.toThrow();
    }
    expect(() => parseServeArgv(["--no-such-flag"])).toThrow("unknown flag '--no-such-flag'");
  });

  test("README's defaults are the parser's", () => {
    const c = parseServeConfig([], {}, { isTTY: false, cpus: 2 });
    const def = (flag: keyof typeof SERVE_SCHEMA) => (SERVE_SCHEMA[flag] as FlagDef).def;
    for (const [key, flag] of Object.entries(FILE_KEYS)) {
      const field = key === "jobs_enabled" ? "enableJobs" : key.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
      const value = (c as unknown as Record<string, unknown>)[field];
      if (typeof value === "number") expect(def(flag).replace(/ \(.*\)$/, ""), key).toBe(String(value));
      else expect(def(flag), key).toBe(value ? "on" : "off");
    }
    for (const key of Object.keys(DEFAULT_LIMITS)) expect(Object.values(FILE_KEYS).some((f) => f.replaceAll("-", "") === key.toLowerCase())).toBe(true);
    expect(def("port")).toBe(String(DEFAULT_PORT));
    expect(def("host")).toBe(DEFAULT_HOST);
    expect(def("pool-size")).toBe(String(DEFAULT_POOL_SIZE));
    expect(def("batch-pool-size")).toBe(String(c.batchPoolSize));
    expect(def("pool-min-size")).toBe(String(c.poolMinSize));
    expect(def("encoder-intra-threads")).toBe(String(c.encoderIntraThreads));
    expect(def("compact-pauses")).toBe(c.compactPauses ? "on" : "off");
  });

  test("the config-file keys are the flags' names with underscores (jobs_enabled: Rust's name for --enable-jobs)", () => {
    for (const [key, flag] of Object.entries(FILE_KEYS)) expect(key === "jobs_enabled" ? flag === "enable-jobs" : key.replaceAll("_", "-") === flag, key).toBe(true);
  });

  test("a declared refusal is a feature_unavailable line naming the flag, exit 2, never 'unknown flag'", () => {
    for (const [name, d] of schema) {
      if (!d.refuse) continue;
      const argv = d.kind === "boolean" ? [`--${name}`] : [`--${name}`, d.values?.find((v) => d.refuse!(v)) ?? "x"];
      let e: unknown;
      try {
        parseServeConfig(argv, {}, { isTTY: false, cpus: 1 });
      } catch (x) {
        e = x;
      }
      expect(e, name).toBeInstanceOf(GigasttError);
      expect((e as GigasttError).code, name).toBe("feature_unavailable");
      expect((e as GigasttError).exitCode).toBe(2);
      expect((e as GigasttError).message.startsWith(`--${name}`), (e as Error).message).toBe(true);
      expect((e as GigasttError).message).not.toContain("\n");
    }
  });
});
