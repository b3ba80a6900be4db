/**
 * Hotword lists: what a user asks the decoder to prefer (names, brands, terms), as they travel
 * from a flag, a request or a WebSocket `configure` to the Workers.
 *
 * Names, defaults and limits are the Rust gigastt's: `?hotwords=a,b` (comma-separated), at most
 * {@link MAX_HOTWORDS_PER_REQUEST} phrases of at most {@link MAX_HOTWORD_CHARS} characters each
 * (400 `too_many_hotwords` / `hotword_phrase_too_long`), `hotwords_boost` default
 * {@link DEFAULT_HOTWORDS_BOOST}; the `--hotwords-file` holds one phrase a line with an optional
 * `<TAB>weight` (blank lines and `#` comments skipped, weight ≤ 0 drops the phrase).
 *
 * A list is plain data (structured-clone safe): the Worker compiles it against the vocabulary
 * (`./bias.ts`). `null` means "biasing off"; `undefined` where a list is optional means "the
 * server's default" (the `--hotwords-file` list).
 */
import { GigasttError } from "../errors.ts";

/** Phrases one request (or WebSocket session) may give (the Rust server's limit). */
export const MAX_HOTWORDS_PER_REQUEST = 64;
/** Characters (code points) of one phrase. */
export const MAX_HOTWORD_CHARS = 64;
/** Phrases a `--hotwords-file` may hold (with `--hotwords-default`'s). */
export const MAX_HOTWORDS_FILE = 4096;
/** Added to the log-probability of a piece that continues a hotword (Rust `--hotwords-boost` default). */
export const DEFAULT_HOTWORDS_BOOST = 5;
/** Largest accepted boost: beyond it a hotword overrides almost any acoustic evidence. */
export const MAX_HOTWORDS_BOOST = 20;

export interface HotwordPhrase {
  readonly text: string;
  /** scales the boost for this phrase (file weights; 1 elsewhere) */
  readonly weight: number;
}

export interface HotwordList {
  readonly phrases: readonly HotwordPhrase[];
  readonly boost: number;
}

/**
 * A small built-in list of brands and services the Russian model tends to misspell
 * (`--hotwords-default`); combined with the `--hotwords-file` phrases.
 */
export const DEFAULT_HOTWORDS: readonly string[] = Object.freeze([
  "Яндекс", "Сбер", "Сбербанк", "Тинькофф", "Озон", "Вайлдберриз", "Авито", "Госуслуги", "Телеграм", "ВКонтакте",
  "Ютуб", "Гугл", "Айфон", "Самсунг", "Алиса", "Маруся", "Кинопоиск", "Ватсап", "Тикток", "Алиэкспресс",
]);

/** Phrase text normalised: trimmed, inner whitespace collapsed to one space. */
export function normalizePhrase(s: string): string {
  return s.trim().replace(/\s+/g, " ");
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Checks the per-request limits; throws the 400 codes. */
export function checkRequestPhrases(phrases: readonly string[], from = "hotwords"): void {
  if (phrases.length > MAX_HOTWORDS_PER_REQUEST) {
    throw new GigasttError("too_many_hotwords", `${from}: ${phrases.length} phrases, at most ${MAX_HOTWORDS_PER_REQUEST} are allowed`, { details: { param: from } });
  }
  for (const p of phrases) {
    if (codePoints(p) > MAX_HOTWORD_CHARS) {
      throw new GigasttError("hotword_phrase_too_long", `${from}: a phrase is longer than ${MAX_HOTWORD_CHARS} characters (${JSON.stringify([...p].slice(0, 24).join(""))}…)`, {
        details: { param: from },
      });
    }
  }
}

/** `hotwords_boost` text or number → a boost in [0, MAX]; 400 `invalid_hotwords_boost` otherwise. */
export function parseBoost(v: unknown, from = "hotwords_boost"): number {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v.trim()) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > MAX_HOTWORDS_BOOST) {
    throw new GigasttError("invalid_hotwords_boost", `${from} must be a number from 0 to ${MAX_HOTWORDS_BOOST} (default ${DEFAULT_HOTWORDS_BOOST})`, { details: { param: from } });
  }
  return n;
}

/** A list from request phrases; `null` (off) when none is left or the boost is 0. */
export function requestList(phrases: readonly string[], boost: number = DEFAULT_HOTWORDS_BOOST): HotwordList | null {
  const seen = new Set<string>();
  const out: HotwordPhrase[] = [];
  for (const p of phrases) {
    const text = normalizePhrase(p);
    if (text.length === 0 || seen.has(text)) continue;
    seen.add(text);
    out.push({ text, weight: 1 });
  }
  if (out.length === 0 || boost === 0) return null;
  return Object.freeze({ phrases: Object.freeze(out), boost });
}

/**
 * The per-request override from `hotwords` / `hotwords_boost` values (query or form text, or a
 * WebSocket array): `undefined` when `hotwords` is absent (the server's default applies),
 * `null` when it is present but empty (biasing off for this request), else the list.
 * `hotwords_boost` without `hotwords` is ignored, as in the Rust server (but still checked).
 */
export function requestHotwords(hotwords: unknown, boost: unknown, from = "hotwords"): HotwordList | null | undefined {
  const b = boost === undefined || boost === null || boost === "" ? DEFAULT_HOTWORDS_BOOST : parseBoost(boost);
  if (hotwords === undefined || hotwords === null) return undefined;
  let phrases: string[];
  if (typeof hotwords === "string") phrases = hotwords.split(",");
  else if (Array.isArray(hotwords) && hotwords.every((x) => typeof x === "string")) phrases = hotwords as string[];
  else throw new GigasttError("bad_message", `${from} must be a comma-separated string or an array of strings`, { details: { param: from } });
  phrases = phrases.map(normalizePhrase).filter((p) => p.length > 0);
  checkRequestPhrases(phrases, from);
  return requestList(phrases, b);
}

/**
 * A `--hotwords-file`: one phrase a line, optional `<TAB>weight` (a positive number; ≤ 0 drops
 * the line), blank lines and `#` comments skipped. Errors name the line (`invalid_config`).
 */
export function parseHotwordsFile(text: string, path: string): HotwordPhrase[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: HotwordPhrase[] = [];
  const lines = src.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const tab = line.lastIndexOf("\t");
    let phrase = line;
    let weight = 1;
    if (tab >= 0 && line.slice(tab + 1).trim() !== "") {
      weight = Number(line.slice(tab + 1).trim());
      phrase = line.slice(0, tab);
      if (!Number.isFinite(weight)) throw new GigasttError("invalid_config", `${path}:${i + 1}: the weight after the tab is not a number`);
    }
    const text = normalizePhrase(phrase);
    if (text === "" || weight <= 0) continue;
    if (codePoints(text) > MAX_HOTWORD_CHARS) throw new GigasttError("invalid_config", `${path}:${i + 1}: the phrase is longer than ${MAX_HOTWORD_CHARS} characters`);
    out.push({ text, weight });
  }
  return out;
}

/** The server's default list from the file's phrases and (optionally) {@link DEFAULT_HOTWORDS}; `null` when empty. */
export function bootList(filePhrases: readonly HotwordPhrase[], withDefaults: boolean, boost: number): HotwordList | null {
  const byText = new Map<string, HotwordPhrase>();
  const add = (p: HotwordPhrase) => {
    const prev = byText.get(p.text);
    if (!prev || prev.weight < p.weight) byText.set(p.text, p);
  };
  if (withDefaults) for (const text of DEFAULT_HOTWORDS) add({ text, weight: 1 });
  for (const p of filePhrases) add(p);
  if (byText.size > MAX_HOTWORDS_FILE) throw new GigasttError("invalid_config", `${byText.size} hotwords: at most ${MAX_HOTWORDS_FILE} are allowed`);
  if (byText.size === 0 || boost === 0) return null;
  return Object.freeze({ phrases: Object.freeze([...byText.values()]), boost });
}

/** A stable key of a list (the Workers cache compiled lists by it). */
export function listKey(list: HotwordList): string {
  return JSON.stringify([list.boost, list.phrases.map((p) => [p.text, p.weight])]);
}
