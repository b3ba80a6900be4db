/**
 * CLI runner around citty: strict flag checking (unknown flag → exit 2),
 * typed errors → one stderr line and the exit code from the catalogue.
 * Commands live in src/cli/<name>.ts and are registered in src/main.ts.
 */
import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import { EXIT, GigasttError, isGigasttError } from "../errors.ts";
import { configureLogger, jsonLine, parseLogLevel } from "../log.ts";

/** Flags every command accepts (handled before the command runs). */
export const GLOBAL_ARGS = {
  "log-level": {
    type: "string",
    description: "Log level: silent|error|warn|info|debug|trace (default info)",
    valueHint: "LEVEL",
  },
} as const satisfies ArgsDef;

async function resolve<T>(v: T | Promise<T> | (() => T) | (() => Promise<T>) | undefined): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

interface Resolved {
  cmd: CommandDef<any>;
  path: string[];
  rest: string[];
}

async function resolveCommand(root: CommandDef<any>, argv: string[]): Promise<Resolved> {
  let cmd = root;
  const path: string[] = [];
  let rest = argv;
  for (;;) {
    const subs = await resolve(cmd.subCommands);
    if (!subs || Object.keys(subs).length === 0) break;
    const idx = firstCommandToken(rest);
    if (idx < 0) break;
    // only flags that belong to the global set may precede the sub-command
    const name = rest[idx]!;
    const sub = subs[name];
    if (!sub) throw new GigasttError("usage", `unknown command '${name}'${path.length ? ` for '${path.join(" ")}'` : ""} (see --help)`);
    path.push(name);
    rest = [...rest.slice(0, idx), ...rest.slice(idx + 1)];
    cmd = (await resolve(sub as CommandDef<any>))!;
  }
  return { cmd, path, rest: joinGlobalValues(rest) };
}

/** `--log-level x` → `--log-level=x`, so a command's parser never takes `x` for a positional. */
function joinGlobalValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    const name = tok.replace(/^--/, "");
    if (tok.startsWith("--") && (GLOBAL_ARGS as Record<string, { type?: string }>)[name]?.type === "string" && i + 1 < argv.length) out.push(`${tok}=${argv[++i]}`);
    else out.push(tok);
    if (tok === "--") {
      out.push(...argv.slice(i + 1));
      break;
    }
  }
  return out;
}

/** Index of the first token that is neither a flag nor the value of a global string flag. */
function firstCommandToken(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (!tok.startsWith("-")) return i;
    const name = tok.replace(/^--?/, "");
    if (!name.includes("=") && (GLOBAL_ARGS as Record<string, { type?: string }>)[name]?.type === "string") i++;
  }
  return -1;
}

/** The value of `--log-level` wherever it stands (before or after the command). */
export function globalLogLevel(argv: readonly string[]): string | undefined {
  let level: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === "--") break;
    if (tok === "--log-level") level = argv[++i];
    else if (tok.startsWith("--log-level=")) level = tok.slice("--log-level=".length);
  }
  return level;
}

/** Positional definitions that take every remaining argument (`FILE…`); mark one with `variadic(def)`. */
const VARIADIC = new WeakSet<object>();
export function variadic<T extends object>(def: T): T {
  VARIADIC.add(def);
  return def;
}

/** Reject unknown flags, bad enum values, missing and extra positional arguments; citty itself accepts anything. */
export function checkFlags(args: ArgsDef, argv: string[], where: string): void {
  const known = new Map<string, { type?: string; options?: string[] }>();
  const positionals: { name: string; required: boolean; hint?: string; variadic: boolean }[] = [];
  /** positional tokens, each with the bare boolean flag right before it (for the hint) */
  const given: { tok: string; afterSwitch?: string }[] = [];
  for (const [name, def] of Object.entries({ ...GLOBAL_ARGS, ...args })) {
    if ((def as { type?: string }).type === "positional") {
      // citty: a positional is required unless `required: false` or it has a default
      const d = def as { required?: boolean; default?: unknown; valueHint?: string };
      positionals.push({ name, required: d.required !== false && d.default === undefined, hint: d.valueHint, variadic: VARIADIC.has(def) });
      continue;
    }
    known.set(name, def as { type?: string; options?: string[] });
    const aliases = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
    for (const a of aliases) known.set(a, def as { type?: string });
  }
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === "--") {
      for (const t of argv.slice(i + 1)) given.push({ tok: t });
      break;
    }
    if (!tok.startsWith("-") || tok === "-") {
      const prev = argv[i - 1];
      const afterSwitch = prev?.startsWith("-") && !prev.includes("=") && known.get(prev.replace(/^--?/, ""))?.type === "boolean" ? prev : undefined;
      given.push({ tok, afterSwitch });
      continue;
    }
    const body = tok.replace(/^--?/, "");
    const eq = body.indexOf("=");
    let name = eq >= 0 ? body.slice(0, eq) : body;
    let def = known.get(name);
    if (!def && name.startsWith("no-")) {
      const pos = known.get(name.slice(3));
      if (pos?.type === "boolean") def = pos;
    }
    if (!def) throw new GigasttError("usage", `unknown flag '${tok.split("=")[0]}' for '${where}' (see ${where} --help)`);
    if (def.type === "string" || def.type === "enum") {
      const value = eq >= 0 ? body.slice(eq + 1) : argv[i + 1];
      if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new GigasttError("usage", `flag '${tok}' needs a value`);
      if (eq < 0) i++;
      if (def.type === "enum" && def.options && !def.options.includes(value))
        throw new GigasttError("usage", `invalid value '${value}' for '--${name}': expected one of ${def.options.join(", ")}`);
    }
  }
  const missing = positionals.slice(given.length).find((p) => p.required);
  if (missing) throw new GigasttError("usage", `missing argument ${missing.hint ?? missing.name.toUpperCase()} for '${where}' (see ${where} --help)`);
  const extra = positionals.at(-1)?.variadic ? undefined : given[positionals.length];
  if (extra) {
    const hint = extra.afterSwitch ? `; ${extra.afterSwitch} takes no separate value (write ${extra.afterSwitch}=${extra.tok} if it accepts one)` : "";
    throw new GigasttError("usage", `unexpected argument '${extra.tok}' for '${where}'${hint} (see ${where} --help)`);
  }
}

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /** ANSI colours in help text (default: off) */
  readonly color?: boolean;
  /** terminal width help text is fitted to (default: 80) */
  readonly columns?: number;
}

const defaultIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  columns: process.stdout.isTTY ? process.stdout.columns : undefined,
};

/** Help text's width when the terminal's is unknown (piped, redirected). */
export const DEFAULT_HELP_COLUMNS = 80;

/**
 * citty pads every option row to the widest one (trailing blanks, 160+
 * columns for `serve`): strip the padding and wrap each description to
 * `columns`, continuation lines aligned under the description (or, when the
 * flag column leaves too little room, indented on the lines below).
 */
export function fitHelp(text: string, columns: number = DEFAULT_HELP_COLUMNS): string {
  const width = Math.max(40, Math.floor(columns));
  // what the terminal shows: colour codes take no columns
  const vis = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (vis(line) <= width) {
      out.push(line);
      continue;
    }
    // an option/command row ("  --flag=<X>    description"), else prose wrapped at its own indent
    const m = /^(\s+\S.*?\S?)( {2,})(\S.*)$/.exec(line) ?? /^(\s*)()(\S.*)$/.exec(line)!;
    const head = m[1]!;
    let indent = vis(head) + m[2]!.length;
    const rows: string[] = [];
    if (width - indent < 24) {
      rows.push(head);
      indent = Math.min(8, indent);
    }
    let cur = rows.length === 0 ? `${head}${m[2]}` : " ".repeat(indent);
    let empty = true;
    for (const word of m[3]!.split(/\s+/)) {
      if (!empty && vis(cur) + 1 + vis(word) > width) {
        rows.push(cur);
        cur = " ".repeat(indent);
        empty = true;
      }
      cur += (empty ? "" : " ") + word;
      empty = false;
    }
    rows.push(cur);
    out.push(...rows);
  }
  return out.join("\n");
}

/** Help text for `cmd` reached through `path`, titled with its full name ("gigastt models list"). */
async function usageText(root: string, cmd: CommandDef<any>, path: readonly string[], io: CliIo): Promise<string> {
  const parent = path.length > 0 ? { meta: { name: [root, ...path.slice(0, -1)].join(" ") } } : undefined;
  // the name the user typed, whatever the command's meta says; the global flags are listed too
  const meta = path.length > 0 ? { ...(await resolve(cmd.meta)), name: path.at(-1) } : await resolve(cmd.meta);
  const own = { ...cmd, meta, args: { ...((await resolve(cmd.args)) ?? {}), ...GLOBAL_ARGS } };
  const text = await renderUsage(own, parent);
  // citty colours unconditionally; piped or redirected help stays plain text
  const plain = io.color ? text : text.replace(/\x1b\[[0-9;]*m/g, "");
  return fitHelp(plain, io.columns ?? DEFAULT_HELP_COLUMNS);
}

/** The first flag of `argv` that is not a global one (for `gigastt --bogus`). */
function firstUnknownFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === "--") return undefined;
    if (!tok.startsWith("-")) continue;
    const name = tok.replace(/^--?/, "").split("=")[0]!;
    const def = (GLOBAL_ARGS as Record<string, { type?: string }>)[name];
    if (!def) return tok.split("=")[0];
    if (def.type === "string" && !tok.includes("=")) i++;
  }
  return undefined;
}

/** Runs the CLI and returns the exit code (never calls process.exit). */
/**
 * A command may say how its fatal errors are printed (`serve` in JSON log mode:
 * one JSON line, like all its other stderr lines); default `text`.
 */
export type ErrorFormat = (argv: readonly string[]) => "json" | "pretty" | "text";

export async function runCli(root: CommandDef<any>, argv: string[], io: CliIo = defaultIo): Promise<number> {
  let errorFormat: "json" | "pretty" | "text" = "text";
  try {
    const meta = await resolve(root.meta);
    if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V" || argv[0] === "-v")) {
      io.stdout(`${meta?.version ?? "unknown"}\n`);
      return EXIT.ok;
    }
    const { cmd, path, rest } = await resolveCommand(root, argv);
    errorFormat = (cmd as { errorFormat?: ErrorFormat }).errorFormat?.(rest) ?? "text";
    const where = ["gigastt", ...path].join(" ");
    const rootName = meta?.name ?? "gigastt";
    if (rest.includes("--help") || rest.includes("-h") || (path.length === 0 && rest.length === 0)) {
      io.stdout(`${await usageText(rootName, cmd, path, io)}\n`);
      return path.length === 0 && rest.length === 0 ? EXIT.usage : EXIT.ok;
    }
    const subs = await resolve(cmd.subCommands);
    if (subs && Object.keys(subs).length > 0 && !cmd.run) {
      // `gigastt --bogus`, `gigastt models --bogus`: say what was wrong, as the commands do
      const bogus = firstUnknownFlag(rest);
      if (bogus !== undefined) io.stderr(`error[usage]: unknown flag ${bogus}${path.length ? ` for '${where}'` : ""} (see ${where} --help)\n`);
      io.stdout(`${await usageText(rootName, cmd, path, io)}\n`);
      return EXIT.usage;
    }
    checkFlags((await resolve(cmd.args)) ?? {}, rest, where);
    const level = globalLogLevel(rest);
    if (level !== undefined) {
      try {
        configureLogger({ level: parseLogLevel(level) });
      } catch (e) {
        throw new GigasttError("usage", (e as Error).message);
      }
    }
    const result = await runCommand({ ...cmd, subCommands: undefined }, { rawArgs: rest });
    return typeof result.result === "number" ? result.result : EXIT.ok;
  } catch (e) {
    if (errorFormat === "json") {
      const err = isGigasttError(e) ? e : null;
      const code = err?.code ?? "internal";
      const message = err ? err.message : e instanceof Error ? e.message : String(e);
      io.stderr(jsonLine(new Date(), "error", `error[${code}]: ${message}`, { code, exit_code: err?.exitCode ?? EXIT.runtime }));
      return err?.exitCode ?? EXIT.runtime;
    }
    if (isGigasttError(e)) {
      io.stderr(`error[${e.code}]: ${e.message}\n`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(`error[internal]: ${msg}\n`);
    if (process.env.GIGASTT_DEBUG) io.stderr(`${(e as Error)?.stack ?? ""}\n`);
    return EXIT.runtime;
  }
}
