/**
 * `-f/--format` of `transcribe-batch` and `watch`: a comma-separated list, as
 * the Rust gigastt (`txt,json` by default), de-duplicated, order kept; each
 * name as src/format spells it (json, txt/text, srt, vtt, md/markdown, any
 * case). One `<stem>.<format>` file each (Rust's extensions).
 */
import { GigasttError } from "../errors.ts";
import { type OutputFormat, outputFormatOf } from "../format/index.ts";

export interface BatchFormat {
  /** the renderer */
  readonly format: OutputFormat;
  /** the output file's extension */
  readonly ext: string;
}

export const DEFAULT_BATCH_FORMATS = "txt,json";
const NAMES = "json, txt (text), srt, vtt, md (markdown)";

export function parseBatchFormats(text: string, where = "--format"): BatchFormat[] {
  const out: BatchFormat[] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const f = outputFormatOf(part);
    if (!f) throw new GigasttError("invalid_format", `unsupported export format ${JSON.stringify(part.slice(0, 20))} for '${where}': expected a comma-separated list of ${NAMES}`);
    if (!out.some((o) => o.format === f)) out.push({ format: f, ext: f });
  }
  if (out.length === 0) throw new GigasttError("invalid_format", `'${where}' needs at least one format (${NAMES})`);
  return out;
}
