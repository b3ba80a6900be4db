/**
 * The export formats of a transcript (Rust's `ExportFormat`): names and their
 * aliases, HTTP content types, file extensions and the `download=` header.
 */
import { GigasttError } from "../errors.ts";

export const OUTPUT_FORMATS = ["json", "txt", "srt", "vtt", "md"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** every accepted spelling (any case) → its format */
const NAMES: Readonly<Record<string, OutputFormat>> = { json: "json", txt: "txt", text: "txt", srt: "srt", vtt: "vtt", md: "md", markdown: "md" };

/** the format `name` spells (json, txt/text, srt, vtt, md/markdown; any case), or null */
export function outputFormatOf(name: string): OutputFormat | null {
  return Object.hasOwn(NAMES, name.toLowerCase()) ? NAMES[name.toLowerCase()]! : null;
}

/** `name` as a format, or 400 `invalid_format` naming the accepted ones (`where`: `format`, `--format`) */
export function parseOutputFormat(name: string, where = "format"): OutputFormat {
  const f = outputFormatOf(name);
  if (f) return f;
  throw new GigasttError("invalid_format", `unsupported export format ${JSON.stringify(name.slice(0, 20))} for '${where}': expected json, txt (text), srt, vtt or md (markdown)`);
}

export const CONTENT_TYPES: Readonly<Record<OutputFormat, string>> = {
  json: "application/json; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  srt: "application/x-subrip; charset=utf-8",
  vtt: "text/vtt; charset=utf-8",
  md: "text/markdown; charset=utf-8",
};

/** `download=` with no name: `transcript.<ext>` */
export function defaultFilename(format: OutputFormat): string {
  return `transcript.${format}`;
}

/** RFC 5987 attr-char: sent as it is in `filename*`; every other byte is %XX of its UTF-8 */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

/**
 * `Content-Disposition: attachment` for a user-given name (RFC 6266): an ASCII
 * `filename="…"` fallback (quotes, backslashes, control and non-ASCII
 * characters replaced by `_`, so the name cannot add parameters) and the exact
 * name as `filename*=UTF-8''…`. The value is always printable ASCII.
 */
export function contentDisposition(filename: string): string {
  let fallback = "";
  for (const c of filename) fallback += c === '"' || c === "\\" || c.codePointAt(0)! < 0x20 || c.codePointAt(0)! > 0x7e ? "_" : c;
  let encoded = "";
  for (const b of new TextEncoder().encode(filename)) {
    const c = String.fromCharCode(b);
    encoded += ATTR_CHAR.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
