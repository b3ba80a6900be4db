import { describe, expect, test } from "bun:test";
import type { TranscriptResult, Word } from "../types.ts";
import { formatResult, isOutputFormat, toJsonTranscript } from "./result.ts";
import { buildSegments } from "./segments.ts";
import { formatTimestamp, toSrt, toVtt } from "./subtitles.ts";
import { randomWords } from "../../test/helpers/words.ts";

function result(words: Word[], duration?: number): TranscriptResult {
  return {
    text: words.map((w) => w.word).join(" "),
    duration: duration ?? (words.at(-1)?.end ?? 0) + 0.5,
    words,
    segments: buildSegments(words),
  };
}

interface Cue {
  start: number;
  end: number;
  text: string;
}

const toMs = (h: string, m: string, s: string, ms: string) => ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(ms);

/** A strict SubRip parser: numbered blocks, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, text, blank line. */
function parseSrt(srt: string): Cue[] {
  if (srt === "") return [];
  expect(srt.endsWith("\n\n")).toBe(true);
  const blocks = srt.slice(0, -2).split("\n\n");
  return blocks.map((b, i) => {
    const lines = b.split("\n");
    expect(lines[0]).toBe(String(i + 1));
    const m = /^(\d{2,}):([0-5]\d):([0-5]\d),(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d),(\d{3})$/.exec(lines[1]!);
    expect(m).not.toBeNull();
    const text = lines.slice(2).join("\n");
    expect(text.trim().length).toBeGreaterThan(0);
    return { start: toMs(m![1]!, m![2]!, m![3]!, m![4]!), end: toMs(m![5]!, m![6]!, m![7]!, m![8]!), text };
  });
}

/** A strict WebVTT parser for what we emit: header, blank line, cues without ids. */
function parseVtt(vtt: string): Cue[] {
  expect(vtt.startsWith("WEBVTT\n\n")).toBe(true);
  const body = vtt.slice("WEBVTT\n\n".length);
  if (body === "") return [];
  expect(body.endsWith("\n\n")).toBe(true);
  return body
    .slice(0, -2)
    .split("\n\n")
    .map((b) => {
      const lines = b.split("\n");
      const m = /^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$/.exec(lines[0]!);
      expect(m).not.toBeNull();
      const text = lines.slice(1).join("\n");
      expect(text).not.toContain("-->");
      return { start: toMs(m![1]!, m![2]!, m![3]!, m![4]!), end: toMs(m![5]!, m![6]!, m![7]!, m![8]!), text };
    });
}

function checkCues(cues: Cue[], r: TranscriptResult): void {
  expect(cues.length).toBe(r.segments.length);
  let prev = 0;
  cues.forEach((c, i) => {
    expect(c.end).toBeGreaterThan(c.start);
    expect(c.start).toBeGreaterThanOrEqual(prev);
    expect(c.end - c.start).toBeLessThanOrEqual(7000);
    expect([...c.text].length).toBeLessThanOrEqual(84);
    expect(c.start).toBe(Math.round(r.segments[i]!.start * 1000));
    expect(c.end).toBe(Math.round(r.segments[i]!.end * 1000));
    prev = c.end;
  });
  expect(cues.map((c) => c.text).join(" ")).toBe(r.text);
}

describe("timestamps", () => {
  test("SRT and VTT forms, rounded to ms, hours past 99", () => {
    expect(formatTimestamp(0, ",")).toBe("00:00:00,000");
    expect(formatTimestamp(3723.4567, ",")).toBe("01:02:03,457");
    expect(formatTimestamp(59.9996, ".")).toBe("00:01:00.000");
    expect(formatTimestamp(360000, ".")).toBe("100:00:00.000");
    expect(formatTimestamp(-1, ".")).toBe("00:00:00.000");
  });
});

describe("SRT / VTT", () => {
  test("a small transcript renders exactly", () => {
    const words: Word[] = [
      { word: "Привет.", start: 0.12, end: 0.6, confidence: 0.9 },
      { word: "Как", start: 0.64, end: 0.8, confidence: 0.8 },
      { word: "дела?", start: 0.84, end: 1.2, confidence: 0.7 },
    ];
    const r = result(words, 1.5);
    expect(toSrt(r)).toBe("1\n00:00:00,120 --> 00:00:00,600\nПривет.\n\n2\n00:00:00,640 --> 00:00:01,200\nКак дела?\n\n");
    expect(toVtt(r)).toBe("WEBVTT\n\n00:00:00.120 --> 00:00:00.600\nПривет.\n\n00:00:00.640 --> 00:00:01.200\nКак дела?\n\n");
  });

  test("random transcripts parse back with valid, ordered timestamps and respected limits", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = result(randomWords(seed, 400));
      checkCues(parseSrt(toSrt(r)), r);
      checkCues(parseVtt(toVtt(r)), r);
    }
  });

  test("empty transcript: empty SRT, header-only VTT", () => {
    const r = result([], 2);
    expect(toSrt(r)).toBe("");
    expect(toVtt(r)).toBe("WEBVTT\n\n");
  });

  test("without segments, cues are built from words; without words, one cue spans the audio", () => {
    const words = randomWords(3, 50);
    const r = { ...result(words), segments: [] };
    expect(parseSrt(toSrt(r)).length).toBe(buildSegments(words).length);
    const textOnly: TranscriptResult = { text: "просто текст", duration: 2.5, words: [], segments: [] };
    expect(toSrt(textOnly)).toBe("1\n00:00:00,000 --> 00:00:02,500\nпросто текст\n\n");
  });

  test("VTT escapes markup characters; cue text stays on one line", () => {
    const r: TranscriptResult = { text: "", duration: 1, words: [], segments: [{ start: 0, end: 1, text: "a <b> & c -->\nd" }] };
    expect(toVtt(r)).toBe("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na &lt;b&gt; &amp; c --&gt; d\n\n");
    expect(toSrt(r)).toBe("1\n00:00:00,000 --> 00:00:01,000\na <b> & c --> d\n\n");
  });

  test("degenerate times are repaired: end after start, no overlap", () => {
    const r: TranscriptResult = {
      text: "",
      duration: 1,
      words: [],
      segments: [
        { start: 0.5, end: 0.5, text: "a" },
        { start: 0.4, end: 0.9, text: "b" },
      ],
    };
    const cues = parseVtt(toVtt(r));
    expect(cues.map((c) => [c.start, c.end])).toEqual([
      [500, 501],
      [501, 900],
    ]);
  });
});

describe("formatResult", () => {
  const words: Word[] = [
    { word: "один", start: 0.12, end: 0.4000000001, confidence: 0.876543 },
    { word: "два", start: 1.2, end: 1.48, confidence: 0.5 },
  ];
  const r: TranscriptResult = { text: "один два", duration: 2.0000004, words, segments: buildSegments(words) };

  test("text is the transcript and a newline", () => {
    expect(formatResult(r, "text")).toBe("один два\n");
  });

  test("json has text, duration, words and segments, times rounded to ms", () => {
    const out = formatResult(r, "json");
    expect(out.endsWith("}\n")).toBe(true);
    expect(out.trimEnd()).not.toContain("\n");
    expect(JSON.parse(out)).toEqual({
      text: "один два",
      duration: 2,
      // the words' duration-weighted mean (equal durations here)
      confidence: 0.6883,
      words: [
        { word: "один", start: 0.12, end: 0.4, confidence: 0.8765 },
        { word: "два", start: 1.2, end: 1.48, confidence: 0.5 },
      ],
      segments: [
        { start: 0.12, end: 0.4, text: "один" },
        { start: 1.2, end: 1.48, text: "два" },
      ],
    });
    const pretty = formatResult(r, "json", { pretty: true });
    expect(pretty.split("\n").length).toBeGreaterThan(5);
    expect(JSON.parse(pretty)).toEqual(toJsonTranscript(r) as unknown as Record<string, unknown>);
  });

  test("srt and vtt", () => {
    expect(formatResult(r, "srt")).toBe(toSrt(r));
    expect(formatResult(r, "vtt")).toBe(toVtt(r));
  });

  test("isOutputFormat accepts the Rust names and aliases in any case, nothing else", () => {
    expect(["json", "txt", "text", "srt", "vtt", "md", "markdown", "JSON", "Txt", "SRT", "MarkDown"].every(isOutputFormat)).toBe(true);
    expect(["docx", "verbose_json", "", "tx", "constructor", "toString"].some(isOutputFormat)).toBe(false);
  });

  test("segments: the JSON segments carry their words; a split transcript's words and segments name their channel as speaker too", () => {
    const j = toJsonTranscript(r, { segments: true });
    expect(j.segments.map((s) => s.words?.map((w) => w.word))).toEqual([["один"], ["два"]]);
    expect(toJsonTranscript(r).segments.every((s) => s.words === undefined)).toBe(true);
    const split: TranscriptResult = { ...r, words: words.map((w, i) => ({ ...w, channel: i })) };
    const js = toJsonTranscript(split, { segments: true });
    expect(js.words.map((w) => [w.channel, w.speaker])).toEqual([[0, 0], [1, 1]]);
    expect(js.segments.map((s) => [s.channel, s.speaker, s.words?.[0]?.speaker])).toEqual([[0, 0, 0], [1, 1, 1]]);
  });

  test("no words: no confidence key (as Rust)", () => {
    const empty: TranscriptResult = { text: "", duration: 1, words: [], segments: [] };
    expect("confidence" in JSON.parse(formatResult(empty, "json"))).toBe(false);
  });

  test("line limits reach SRT and VTT: 0 is no limit", () => {
    const many = Array.from({ length: 30 }, (_, i): Word => ({ word: `w${i}`, start: i * 0.2, end: i * 0.2 + 0.15, confidence: 1 }));
    const m: TranscriptResult = { text: many.map((w) => w.word).join(" "), duration: 7, words: many, segments: [] };
    const count = (srt: string) => srt.split("\n\n").filter(Boolean).length;
    expect(count(formatResult(m, "srt", { maxWords: 5, maxChars: 0 }))).toBe(6);
    expect(count(formatResult(m, "srt", { maxWords: 0, maxChars: 0 }))).toBe(1);
    // the default 14 words
    expect(count(formatResult(m, "srt"))).toBe(3);
    expect(formatResult(m, "vtt", { maxWords: 10 }).split("-->").length - 1).toBe(3);
  });
});
