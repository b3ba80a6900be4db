/**
 * `-f/--format` of `transcribe-batch` and `watch`: a comma-separated list, as
 * the Rust gigastt (`txt,json` by default), de-duplicated, order kept. Rust's
 * names map onto the renderers of src/format (`txt` is the text rendering).
 */
import { GigasttError } from "../errors.ts";
import type { OutputFormat } from "../format/index.ts";

export interface BatchFormat {
  /** the renderer */
  readonly format: OutputFormat;
  /** the output file's extension */
  readonly ext: string;
}

const NAMES: Readonly<Record<string, BatchFormat>> = Object.freeze({
  txt: { format: "text", ext: "txt" },
  text: { format: "text", ext: "txt" },
  json: { format: "json", ext: "json" },
  srt: { format: "srt", ext: "srt" },
  vtt: { format: "vtt", ext: "vtt" },
});

export const DEFAULT_BATCH_FORMATS = "txt,json";

export function parseBatchFormats(text: string, where = "--format"): BatchFormat[] {
  const out: BatchFormat[] = [];
  for (const part of text.split(",").map((p) => p.trim().toLowerCase()).filter(Boolean)) {
    const f = NAMES[part];
    if (!f) throw new GigasttError("usage", `invalid value '${part}' for '${where}': expected a comma-separated list of ${Object.keys(NAMES).join(", ")}`);
    if (!out.some((o) => o.ext === f.ext)) out.push(f);
  }
  if (out.length === 0) throw new GigasttError("usage", `'${where}' needs at least one format (${Object.keys(NAMES).join(", ")})`);
  return out;
}
