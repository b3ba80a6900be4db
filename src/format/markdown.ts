/**
 * Markdown export (Rust's `format=md`): YAML front matter (`duration`, `language`,
 * `speakers`), then `# Transcript` and the text — or, with `segments`, one
 * `### [mm:ss]` section per cue (the SRT/VTT cues) — and, with
 * `word_timestamps`, a `# Word timings` table.
 */
import type { TranscriptResult } from "../types.ts";
import type { CueLimits } from "./segments.ts";
import { cuesOf } from "./subtitles.ts";

export interface MarkdownOptions extends CueLimits {
  /** `### [mm:ss]` sections per cue instead of one `# Transcript` block */
  readonly segments?: boolean;
  /** append the `# Word timings` table */
  readonly wordTimestamps?: boolean;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `mm:ss`, or `hh:mm:ss` from one hour on; rounded to the second, never negative */
export function sectionTime(seconds: number): string {
  const t = Math.round(Math.max(0, Number.isFinite(seconds) ? seconds : 0));
  const h = Math.floor(t / 3600);
  const m = Math.floor(t / 60) % 60;
  return h > 0 ? `${pad2(h)}:${pad2(m)}:${pad2(t % 60)}` : `${pad2(m)}:${pad2(t % 60)}`;
}

/** a table cell: `|` escaped, line breaks as spaces */
const cell = (s: string) => s.replace(/\s+/gu, " ").replace(/\|/g, "\\|");
const secs = (s: number) => `${(Math.round(s * 1000) / 1000).toFixed(3)}s`;

/** speakers: the channels of a `channels=split` transcript (0 otherwise) */
function speakerCount(result: TranscriptResult): number {
  return new Set(result.words.flatMap((w) => (w.channel === undefined ? [] : [w.channel]))).size;
}

export function toMarkdown(result: TranscriptResult, opts: MarkdownOptions = {}): string {
  let out = `---\nduration: ${Math.round(result.duration * 1000) / 1000}\nlanguage: ru\nspeakers: ${speakerCount(result)}\n---\n\n`;
  if (opts.segments) {
    for (const c of cuesOf(result, opts)) {
      const label = c.channel === undefined ? "" : `[${c.channel}] `;
      out += `### [${sectionTime(c.start)}]\n\n${label}${c.text.replace(/\s+/gu, " ").trim()}\n\n`;
    }
  } else {
    out += `# Transcript\n\n${result.text}\n\n`;
  }
  if (opts.wordTimestamps && result.words.length > 0) {
    out += "# Word timings\n\n| Word | Start | End | Confidence | Speaker |\n|------|-------|-----|------------|---------|\n";
    for (const w of result.words) {
      const speaker = w.channel === undefined ? "-" : `SPEAKER_${w.channel}`;
      const conf = Number.isFinite(w.confidence) ? w.confidence.toFixed(3) : "0.000";
      out += `| ${cell(w.word)} | ${secs(w.start)} | ${secs(w.end)} | ${conf} | ${speaker} |\n`;
    }
  }
  return out;
}
