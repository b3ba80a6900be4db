/** SubRip (SRT) and WebVTT renderings of a transcript. */
import type { SegmentText, TranscriptResult } from "../types.ts";
import { buildCues, type Cue, type CueLimits } from "./segments.ts";

/** `HH:MM:SS,mmm` (SRT, sep ",") or `HH:MM:SS.mmm` (VTT, sep "."); hours grow past 99 if needed. */
export function formatTimestamp(seconds: number, sep: "," | "."): string {
  const ms = Math.max(0, Math.round((Number.isFinite(seconds) ? seconds : 0) * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (v: number, n: number) => String(v).padStart(n, "0");
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${sep}${pad(ms % 1000, 3)}`;
}

/**
 * The cues to show, with their words: built from the result's words with `limits` (a split
 * transcript's channels apart, then merged by time), else its segments, else one cue for the
 * whole text.
 */
export function cueList(result: TranscriptResult, limits: CueLimits = {}): Cue[] {
  if (result.words.length > 0) {
    const channels = [...new Set(result.words.map((w) => w.channel))];
    if (channels.length === 1) return buildCues(result.words, limits).map((c) => withChannel(c, channels[0]));
    const all = channels.flatMap((ch) => buildCues(result.words.filter((w) => w.channel === ch), limits).map((c) => withChannel(c, ch)));
    return all.sort((a, b) => a.segment.start - b.segment.start || (a.segment.channel ?? 0) - (b.segment.channel ?? 0));
  }
  if (result.segments.length > 0) return result.segments.map((segment) => ({ segment, words: [] }));
  const text = result.text.trim();
  return text ? [{ segment: { start: 0, end: result.duration, text }, words: [] }] : [];
}

const withChannel = (c: Cue, channel: number | undefined): Cue => (channel === undefined ? c : { ...c, segment: { ...c.segment, channel } });

/** The cues' segments (see {@link cueList}). */
export function cuesOf(result: TranscriptResult, limits: CueLimits = {}): SegmentText[] {
  return cueList(result, limits).map((c) => c.segment);
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

export function toSrt(result: TranscriptResult, limits: CueLimits = {}): string {
  const cues = cuesOf(result, limits);
  const t = times(cues);
  let out = "";
  cues.forEach((c, i) => {
    const [a, b] = t[i]!;
    out += `${i + 1}\n${formatTimestamp(a / 1000, ",")} --> ${formatTimestamp(b / 1000, ",")}\n${label(c)}${oneLine(c.text)}\n\n`;
  });
  return out;
}

const escapeVtt = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function toVtt(result: TranscriptResult, limits: CueLimits = {}): string {
  const cues = cuesOf(result, limits);
  const t = times(cues);
  let out = "WEBVTT\n\n";
  cues.forEach((c, i) => {
    const [a, b] = t[i]!;
    out += `${formatTimestamp(a / 1000, ".")} --> ${formatTimestamp(b / 1000, ".")}\n${escapeVtt(label(c) + oneLine(c.text))}\n\n`;
  });
  return out;
}
