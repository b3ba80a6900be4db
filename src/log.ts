/**
 * Logging for the CLI and the server (never imported by the inference core).
 * consola, always to stderr; `json` format (one object per line) when stderr
 * is not a TTY, `pretty` otherwise. Transcripts are never logged.
 */
import { createConsola, type ConsolaInstance, type LogObject } from "consola";

export type LogFormat = "json" | "pretty";
export const LOG_LEVELS = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;

export function parseLogLevel(s: string | undefined): LogLevelName {
  const v = (s ?? "info").trim().toLowerCase();
  if (v in LOG_LEVELS) return v as LogLevelName;
  if (v === "warning") return "warn";
  throw new Error(`invalid log level '${s}': expected one of ${Object.keys(LOG_LEVELS).join(", ")}`);
}

/** One JSON log line (what the json format writes for every event). */
export function jsonLine(date: Date, level: string, msg: string, fields: Readonly<Record<string, unknown>> = {}, tag?: string): string {
  return `${JSON.stringify({ time: date.toISOString(), level, ...(tag ? { tag } : {}), msg, ...fields })}\n`;
}

function splitArgs(obj: LogObject): { msg: string; fields: Record<string, unknown> } {
  const [first, ...rest] = obj.args;
  const fields = rest.length === 1 && typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as Record<string, unknown>) : rest.length ? { args: rest } : {};
  const msg = first instanceof Error ? first.message : String(first ?? "");
  return { msg, fields };
}

function jsonReporter(write: (s: string) => void) {
  return {
    log(obj: LogObject) {
      const { msg, fields } = splitArgs(obj);
      write(jsonLine(obj.date, obj.type, msg, fields, obj.tag || undefined));
    },
  };
}

/** a field value inline: bare when it is a plain word or number, JSON otherwise */
function inlineValue(v: unknown): string {
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (typeof v === "string") return /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
}

/**
 * `pretty`: one line per event, `HH:MM:SS.mmm LEVEL msg key=value …`, objects
 * inline as JSON (consola's default box/multi-line rendering is not used), so
 * a line is still one event when read by a human or grepped.
 */
export function prettyReporter(write: (s: string) => void, opts: { color?: boolean } = {}) {
  const colors: Record<string, string> = { error: "31", fatal: "31", warn: "33", info: "36", success: "32", debug: "90", trace: "90" };
  return {
    log(obj: LogObject) {
      const { msg, fields } = splitArgs(obj);
      const d = obj.date;
      const time = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}:${String(d.getSeconds()).padStart(2, "0")}.${String(d.getMilliseconds()).padStart(3, "0")}`;
      const name = (obj.type === "log" ? "info" : obj.type).toUpperCase().padEnd(5);
      const level = opts.color && colors[obj.type] ? `\x1b[${colors[obj.type]}m${name}\x1b[0m` : name;
      const kv = Object.entries(fields).map(([k, v]) => `${k}=${inlineValue(v)}`);
      const text = [time, level, ...(obj.tag ? [`[${obj.tag}]`] : []), msg.replace(/\r?\n/g, " ⏎ "), ...kv].join(" ");
      write(`${text}\n`);
    },
  };
}

export function createLogger(opts: { level?: LogLevelName; format?: LogFormat; write?: (s: string) => void } = {}): ConsolaInstance {
  const write = opts.write ?? ((s: string) => void process.stderr.write(s));
  const format = opts.format ?? (process.stderr.isTTY ? "pretty" : "json");
  const logger = createConsola({
    level: LOG_LEVELS[opts.level ?? "info"],
    stdout: process.stderr,
    stderr: process.stderr,
    reporters: [format === "json" ? jsonReporter(write) : prettyReporter(write, { color: opts.write === undefined && Boolean(process.stderr.isTTY) && !process.env.NO_COLOR })],
  });
  return logger;
}

/** The process-wide logger; commands call `configureLogger` once at start. */
export let log: ConsolaInstance = createLogger();

export function configureLogger(opts: { level?: LogLevelName; format?: LogFormat }): ConsolaInstance {
  log = createLogger(opts);
  return log;
}

/** Whether the process-wide logger's level shows warnings (`--log-level error|silent` hides them). */
export function warningsOn(): boolean {
  return log.level >= LOG_LEVELS.warn;
}
