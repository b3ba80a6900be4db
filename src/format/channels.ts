/**
 * `channels=split`: one transcript per source channel → one result whose words and
 * segments carry their `channel` and are merged by start time; the text is one line
 * per channel, "[0] …", "[1] …" (channels with no words are left out).
 */
import { GigasttError } from "../errors.ts";
import type { SegmentText, TranscriptResult, Word } from "../types.ts";
import { buildSegments } from "./segments.ts";
import { wordsToText } from "../decode/detok.ts";

export const CHANNEL_MODES = ["mix", "split"] as const;
export type ChannelMode = (typeof CHANNEL_MODES)[number];

/** `--channels` / `channels=`: mix (default) or split; anything else is a `usage` error naming `name`. */
export function parseChannels(v: unknown, name: string): ChannelMode {
  if (v === undefined || v === null || v === "" || v === "mix") return "mix";
  if (v === "split") return "split";
  throw new GigasttError("usage", `invalid value '${String(v)}' for '${name}': expected mix or split`);
}

export function mergeChannels(perChannel: readonly { words: readonly Word[]; duration: number }[]): TranscriptResult {
  const words: Word[] = [];
  const segments: SegmentText[] = [];
  const lines: string[] = [];
  perChannel.forEach((r, channel) => {
    const tagged = r.words.map((w) => ({ ...w, channel }));
    words.push(...tagged);
    segments.push(...buildSegments(tagged).map((s) => ({ ...s, channel })));
    if (tagged.length) lines.push(`[${channel}] ${wordsToText(tagged)}`);
  });
  const byTime = <T extends { start: number; channel?: number }>(a: T, b: T) => a.start - b.start || (a.channel ?? 0) - (b.channel ?? 0);
  words.sort(byTime);
  segments.sort(byTime);
  return { text: lines.join("\n"), duration: Math.max(0, ...perChannel.map((r) => r.duration)), words, segments };
}
