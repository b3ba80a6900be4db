/**
 * The one parser of boolean, precision, count and duration text for every command (serve flags, env vars and
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

/** A non-negative integer (a count, a byte size or a duration in whole seconds), as every command's flags, env vars and config file spell it. */
export function parseUint(value: string, where: string): number {
  const v = value.trim();
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new GigasttError("usage", `invalid value '${value}' for '${where}': expected a non-negative integer`);
  return Number(v);
}

/** A duration in seconds (`--*-secs`): a non-negative integer, as in the Rust gigastt. */
export const parseSeconds = parseUint;

/** A decimal number within [min, max] (e.g. `--stream-max-window-secs`). */
export function parseNumberIn(value: string, where: string, min: number, max: number): number {
  const v = value.trim();
  const n = Number(v);
  if (v === "" || !Number.isFinite(n) || n < min || n > max) throw new GigasttError("usage", `invalid value '${value}' for '${where}': expected a number from ${min} to ${max}`);
  return n;
}

/** An integer within [min, max] (`--workers`, `--port`, `--timeout-ms`). */
export function parseUintIn(value: string, where: string, min: number, max: number): number {
  const v = value.trim();
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) throw new GigasttError("usage", `invalid value '${value}' for '${where}': expected an integer from ${min} to ${max}`);
  return n;
}
