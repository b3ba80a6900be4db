/** CLI output formats for a transcript: plain text, JSON, SRT, WebVTT. */
import type { TranscriptResult } from "../types.ts";
import { cuesOf, toSrt, toVtt } from "./subtitles.ts";

export const OUTPUT_FORMATS = ["text", "json", "srt", "vtt"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function isOutputFormat(s: string): s is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(s);
}

export interface JsonTranscript {
  text: string;
  duration: number;
  words: { word: string; start: number; end: number; confidence: number; channel?: number }[];
  segments: { start: number; end: number; text: string; channel?: number }[];
  warnings?: string[];
}

const ms = (s: number) => Math.round(s * 1000) / 1000;
const ch = (c: number | undefined) => (c === undefined ? {} : { channel: c });
const conf = (c: number) => (Number.isFinite(c) ? Math.round(c * 10000) / 10000 : 0);

/** The JSON shape: times rounded to milliseconds, confidence to 4 decimals. */
export function toJsonTranscript(result: TranscriptResult): JsonTranscript {
  return {
    text: result.text,
    duration: ms(result.duration),
    words: result.words.map((w) => ({ word: w.word, start: ms(w.start), end: ms(w.end), confidence: conf(w.confidence), ...ch(w.channel) })),
    segments: cuesOf(result).map((s) => ({ start: ms(s.start), end: ms(s.end), text: s.text, ...ch(s.channel) })),
    ...(result.warnings?.length ? { warnings: [...result.warnings] } : {}),
  };
}

/** Render `result` as `format`: text and JSON end with a newline, SRT/VTT cues with a blank line (an empty SRT is ""). */
export function formatResult(result: TranscriptResult, format: OutputFormat, opts: { pretty?: boolean } = {}): string {
  switch (format) {
    case "text":
      return `${result.text}\n`;
    case "json":
      return `${JSON.stringify(toJsonTranscript(result), null, opts.pretty ? 2 : undefined)}\n`;
    case "srt":
      return toSrt(result);
    case "vtt":
      return toVtt(result);
  }
}
