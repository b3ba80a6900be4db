/**
 * Where `serve`'s values come from beyond the command line's tokens: the `--config` TOML file
 * (unknown keys warned about, as the Rust gigastt ignores them), the Rust flags this server
 * cannot honour (one `feature_unavailable` line), and the Rust flags accepted with nothing to do
 * (one warning line each). Used by ./config.ts.
 */
import { GigasttError } from "../errors.ts";
import { parseBool, parseNumberIn } from "../values.ts";
import { FILE_KEYS, type FlagDef, SERVE_SCHEMA, type ServeFlagName } from "./flag-schema.ts";

type Env = Record<string, string | undefined>;
type ServeFlag = ServeFlagName;

/** a value and where it came from, for messages: `--flag`, `GIGASTT_X` or `key in FILE` */
export interface Sourced<T> {
  value: T;
  from: string;
}

function usage(msg: string): GigasttError {
  return new GigasttError("usage", msg);
}

export interface ConfigFileValues {
  /** flag → value (numbers for counts and durations, booleans for switches) */
  readonly values: Partial<Record<ServeFlag, Sourced<number | boolean>>>;
  /** one line per unknown key (ignored, as the Rust gigastt ignores them) */
  readonly warnings: readonly string[];
}

/** Parses the TOML config file: bad values are errors naming the key; unknown keys are warnings. */
export function parseConfigFile(text: string, path = "config file"): ConfigFileValues {
  let doc: unknown;
  try {
    doc = Bun.TOML.parse(text);
  } catch (e) {
    throw new GigasttError("invalid_config", `cannot parse '${path}': ${(e as Error)?.message ?? e}`, { cause: e });
  }
  const values: Partial<Record<ServeFlag, Sourced<number | boolean>>> = {};
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const flag = FILE_KEYS[key];
    if (!flag) {
      warnings.push(`unknown key '${key}' in '${path}' ignored (known: ${Object.keys(FILE_KEYS).join(", ")})`);
      continue;
    }
    const from = `${key} in ${path}`;
    if ((SERVE_SCHEMA[flag] as FlagDef).kind === "boolean") {
      if (typeof value !== "boolean") throw new GigasttError("invalid_config", `invalid value for '${key}' in '${path}': expected true or false`);
      values[flag] = { value, from };
      continue;
    }
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
      throw new GigasttError("invalid_config", `invalid value for '${key}' in '${path}': expected a non-negative integer`);
    values[flag] = { value, from };
  }
  return { values, warnings };
}

/**
 * A Rust gigastt flag (or its env var) asking for a model or feature this server does not have:
 * one `feature_unavailable` line naming it and what to use instead. A value outside the flag's
 * choices is a usage error. Harmless values (`--vad=false`, `--punctuation auto`) pass.
 */
export function refuseUnavailable(flags: Partial<Record<ServeFlag, unknown>>, env: Env): void {
  for (const [name, def] of Object.entries(SERVE_SCHEMA) as [ServeFlag, FlagDef][]) {
    if (!def.refuse && !def.values) continue;
    let value: string | boolean | undefined;
    let from: string;
    const given = flags[name];
    if (given !== undefined) {
      value = given as string | boolean;
      from = typeof given === "boolean" ? (given ? `--${name}` : `--${name}=false`) : `--${name} ${given}`;
    } else {
      const raw = def.env ? env[def.env]?.trim() : undefined;
      if (!raw) continue;
      from = `${def.env}=${raw}`;
      value = def.kind === "boolean" ? parseBool(raw, def.env!) : raw;
    }
    if (def.values && typeof value === "string" && !def.values.includes(value.trim().toLowerCase()))
      throw usage(`invalid value '${value}' for '${given !== undefined ? `--${name}` : def.env}': expected ${def.values.join(", ")}`);
    const why = def.refuse?.(typeof value === "string" ? value.trim() : value);
    if (why) throw new GigasttError("feature_unavailable", `${from}: ${why}`);
  }
}

/** Rust 2.15 flags accepted here with nothing to do: one warning line each, never silence. */
export function noEffectWarnings(punctDir: Sourced<string> | undefined, window: Sourced<string> | undefined, stablePrefix: boolean | Sourced<string> | undefined): string[] {
  const out: string[] = [];
  if (punctDir) out.push(`${punctDir.from} has no effect: it is the RuPunct model's folder, used only by --punctuation on (e2e_rnnt punctuates itself)`);
  if (window) {
    parseNumberIn(window.value, window.from, 0.1, 3600);
    out.push(`${window.from} has no effect: partials here re-decode the whole open utterance (≤ 20 s), there is no smaller streaming window to widen`);
  }
  if (stablePrefix !== undefined) {
    if (typeof stablePrefix !== "boolean") parseBool(stablePrefix.value, stablePrefix.from);
    out.push(`${typeof stablePrefix === "boolean" ? "--stream-stable-prefix" : stablePrefix.from} has no effect: finals here are decoded from the whole utterance, nothing is committed at a window cap`);
  }
  return out;
}

