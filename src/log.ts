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

function jsonReporter(write: (s: string) => void) {
  return {
    log(obj: LogObject) {
      const [first, ...rest] = obj.args;
      const fields = rest.length === 1 && typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as Record<string, unknown>) : rest.length ? { args: rest } : {};
      const msg = first instanceof Error ? first.message : String(first ?? "");
      write(`${JSON.stringify({ time: obj.date.toISOString(), level: obj.type, ...(obj.tag ? { tag: obj.tag } : {}), msg, ...fields })}\n`);
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
    ...(format === "json" ? { reporters: [jsonReporter(write)] } : {}),
  });
  return logger;
}

/** The process-wide logger; commands call `configureLogger` once at start. */
export let log: ConsolaInstance = createLogger();

export function configureLogger(opts: { level?: LogLevelName; format?: LogFormat }): ConsolaInstance {
  log = createLogger(opts);
  return log;
}
