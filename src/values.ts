/**
 * The one parser of boolean and precision text for every command (serve flags, env vars and
 * config file; transcribe, download, models): the same spellings are accepted everywhere and a
 * bad value is a `usage` error naming where it came from.
 */
import { GigasttError } from "./errors.ts";
import type { Precision } from "./types.ts";

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

/** the boolean `value` spells, or null when it is not one */
export function boolOf(value: string): boolean | null {
  const v = value.trim().toLowerCase();
  return TRUE.has(v) ? true : FALSE.has(v) ? false : null;
}

/** 1/0, true/false, yes/no, on/off (any case, surrounding blanks ignored); `where` is `--flag` or `GIGASTT_X`. */
export function parseBool(value: string, where: string): boolean {
  const b = boolOf(value);
  if (b !== null) return b;
  throw new GigasttError("usage", `invalid value '${value}' for '${where}': expected 1/0, true/false, yes/no or on/off`);
}

/** a whole number from 0 to `max` (surrounding blanks ignored); `where` is `--flag`, `GIGASTT_X` or a query name */
export function parseCount(value: string, where: string, max: number): number {
  const v = value.trim();
  const n = /^\d{1,15}$/.test(v) ? Number(v) : Number.NaN;
  if (Number.isSafeInteger(n) && n <= max) return n;
  throw new GigasttError("usage", `invalid value '${value.slice(0, 40)}' for '${where}': expected a whole number from 0 to ${max}`);
}

/** fp32 or int8 (any case). */
export function parsePrecision(value: string, where: string): Precision {
  const v = value.trim().toLowerCase();
  if (v === "fp32" || v === "int8") return v;
  throw new GigasttError("usage", `invalid value '${value}' for '${where}': expected fp32 or int8`);
}
