/** The export formats of a transcript (JSON, plain text, SRT, WebVTT, Markdown): one renderer for the CLI and every file route. */
import type { TranscriptResult, Word } from "../types.ts";
import { transcriptConfidence } from "./confidence.ts";
import { type OutputFormat, outputFormatOf } from "./export.ts";
import { toMarkdown } from "./markdown.ts";
import type { CueLimits } from "./segments.ts";
import { cueList, toSrt, toVtt } from "./subtitles.ts";

export { OUTPUT_FORMATS, type OutputFormat } from "./export.ts";

/** true for a format name or alias (json, txt/text, srt, vtt, md/markdown; any case) */
export function isOutputFormat(s: string): boolean {
  return outputFormatOf(s) !== null;
}

export interface JsonWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  channel?: number;
  /** = channel (Rust's name for the channel of a `channels=split` word) */
  speaker?: number;
}

export interface JsonSegment {
  start: number;
  end: number;
  text: string;
  channel?: number;
  speaker?: number;
  /** with `segments=true`: the words of this segment */
  words?: JsonWord[];
}

export interface JsonTranscript {
  text: string;
  duration: number;
  /** duration-weighted mean word confidence; absent when no word was decoded */
  confidence?: number;
  words: JsonWord[];
  segments: JsonSegment[];
  warnings?: string[];
}

export interface RenderOptions extends CueLimits {
  /** JSON on several indented lines */
  readonly pretty?: boolean;
  /** JSON: each segment carries its `words`; Markdown: `### [mm:ss]` sections */
  readonly segments?: boolean;
  /** Markdown: the word timings table */
  readonly wordTimestamps?: boolean;
}

const ms = (s: number) => Math.round(s * 1000) / 1000;
const ch = (c: number | undefined) => (c === undefined ? {} : { channel: c, speaker: c });
const conf = (c: number) => (Number.isFinite(c) ? Math.round(c * 10000) / 10000 : 0);
const jsonWord = (w: Word): JsonWord => ({ word: w.word, start: ms(w.start), end: ms(w.end), confidence: conf(w.confidence), ...ch(w.channel) });

/** The JSON shape: times rounded to milliseconds, confidences to 4 decimals. */
export function toJsonTranscript(result: TranscriptResult, opts: RenderOptions = {}): JsonTranscript {
  const c = transcriptConfidence(result.words);
  return {
    text: result.text,
    duration: ms(result.duration),
    ...(c === null ? {} : { confidence: conf(c) }),
    words: result.words.map(jsonWord),
    segments: cueList(result, opts).map(({ segment: s, words }) => ({
      start: ms(s.start),
      end: ms(s.end),
      text: s.text,
      ...ch(s.channel),
      ...(opts.segments ? { words: words.map(jsonWord) } : {}),
    })),
    ...(result.warnings?.length ? { warnings: [...result.warnings] } : {}),
  };
}

/**
 * Render `result` as `format` (`text` and `markdown` are accepted aliases): txt and JSON end with
 * a newline, SRT/VTT cues and Markdown sections with a blank line (an empty SRT is "").
 */
export function formatResult(result: TranscriptResult, format: OutputFormat | "text" | "markdown", opts: RenderOptions = {}): string {
  switch (outputFormatOf(format) ?? "json") {
    case "txt":
      return `${result.text}\n`;
    case "json":
      return `${JSON.stringify(toJsonTranscript(result, opts), null, opts.pretty ? 2 : undefined)}\n`;
    case "srt":
      return toSrt(result, opts);
    case "vtt":
      return toVtt(result, opts);
    case "md":
      return toMarkdown(result, opts);
  }
}
