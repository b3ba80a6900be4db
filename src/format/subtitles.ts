/** SubRip (SRT) and WebVTT renderings of a transcript. */
import type { SegmentText, TranscriptResult } from "../types.ts";
import { buildSegments } from "./segments.ts";

/** `HH:MM:SS,mmm` (SRT, sep ",") or `HH:MM:SS.mmm` (VTT, sep "."); hours grow past 99 if needed. */
export function formatTimestamp(seconds: number, sep: "," | "."): string {
  const ms = Math.max(0, Math.round((Number.isFinite(seconds) ? seconds : 0) * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (v: number, n: number) => String(v).padStart(n, "0");
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${sep}${pad(ms % 1000, 3)}`;
}

/** The cues to show: the result's segments, else built from its words, else one cue for the whole text. */
export function cuesOf(result: TranscriptResult): SegmentText[] {
  if (result.segments.length > 0) return [...result.segments];
  if (result.words.length > 0) return buildSegments(result.words);
  const text = result.text.trim();
  return text ? [{ start: 0, end: result.duration, text }] : [];
}

/** "[1] " before a cue of channel 1 (`channels=split`); nothing otherwise */
const label = (c: SegmentText) => (c.channel === undefined ? "" : `[${c.channel}] `);

/**
 * Cue times in ms: never negative, end after start, no overlap with the previous cue of
 * the same channel (cues of different channels of a split transcript may overlap: two
 * people talking at once).
 */
function times(cues: readonly SegmentText[]): [number, number][] {
  const prevEnd = new Map<number, number>();
  return cues.map((c) => {
    const key = c.channel ?? -1;
    const start = Math.max(prevEnd.get(key) ?? 0, Math.round(Math.max(0, c.start) * 1000));
    const end = Math.max(start + 1, Math.round(c.end * 1000));
    prevEnd.set(key, end);
    return [start, end];
  });
}

const oneLine = (s: string) => s.replace(/\s+/gu, " ").trim();

export function toSrt(result: TranscriptResult): string {
  const cues = cuesOf(result);
  const t = times(cues);
  let out = "";
  cues.forEach((c, i) => {
    const [a, b] = t[i]!;
    out += `${i + 1}\n${formatTimestamp(a / 1000, ",")} --> ${formatTimestamp(b / 1000, ",")}\n${label(c)}${oneLine(c.text)}\n\n`;
  });
  return out;
}

const escapeVtt = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function toVtt(result: TranscriptResult): string {
  const cues = cuesOf(result);
  const t = times(cues);
  let out = "WEBVTT\n\n";
  cues.forEach((c, i) => {
    const [a, b] = t[i]!;
    out += `${formatTimestamp(a / 1000, ".")} --> ${formatTimestamp(b / 1000, ".")}\n${escapeVtt(label(c) + oneLine(c.text))}\n\n`;
  });
  return out;
}
