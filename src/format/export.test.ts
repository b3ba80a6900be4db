import { describe, expect, test } from "bun:test";
import { isGigasttError } from "../errors.ts";
import type { TranscriptResult, Word } from "../types.ts";
import { transcriptConfidence } from "./confidence.ts";
import { CONTENT_TYPES, contentDisposition, defaultFilename, outputFormatOf, parseOutputFormat } from "./export.ts";
import { sectionTime, toMarkdown } from "./markdown.ts";

describe("format names", () => {
  test("Rust's names and aliases, any case", () => {
    expect(["json", "JSON", "txt", "text", "TEXT", "srt", "Srt", "vtt", "md", "markdown", "MARKDOWN"].map(outputFormatOf)).toEqual([
      "json", "json", "txt", "txt", "txt", "srt", "srt", "vtt", "md", "md", "md",
    ]);
    expect(["docx", "", "hasOwnProperty", "__proto__"].map(outputFormatOf)).toEqual([null, null, null, null]);
  });

  test("anything else is invalid_format naming where it came from", () => {
    try {
      parseOutputFormat("docx", "--format");
      throw new Error("accepted");
    } catch (e) {
      expect(isGigasttError(e) && e.code).toBe("invalid_format");
      expect((e as Error).message).toContain("'--format'");
      expect((e as Error).message).toContain("md (markdown)");
    }
  });

  test("content types and default file names", () => {
    expect(CONTENT_TYPES.md).toBe("text/markdown; charset=utf-8");
    expect(CONTENT_TYPES.txt).toBe("text/plain; charset=utf-8");
    expect(defaultFilename("srt")).toBe("transcript.srt");
  });
});

describe("Content-Disposition (RFC 6266)", () => {
  test("an ASCII name", () => {
    expect(contentDisposition("talk.srt")).toBe(`attachment; filename="talk.srt"; filename*=UTF-8''talk.srt`);
  });

  test("a Cyrillic name: ASCII fallback with _, exact name percent-encoded as UTF-8", () => {
    expect(contentDisposition("звонок 1.txt")).toBe(`attachment; filename="______ 1.txt"; filename*=UTF-8''%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA%201.txt`);
  });

  test("quotes, backslashes, semicolons and line breaks cannot add parameters or headers", () => {
    const v = contentDisposition('x"; filename*=UTF-8\'\'evil.exe\r\nSet-Cookie: a=b\\');
    expect(v).toMatch(/^[\x20-\x7e]+$/);
    // exactly two parameters: one quoted string without inner quotes or escapes, then filename*
    const m = /^attachment; filename="([^"\\]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]*)$/.exec(v);
    expect(m).not.toBeNull();
    expect(v).toContain("%22%3B%20filename%2A%3DUTF-8%27%27evil.exe%0D%0ASet-Cookie%3A%20a%3Db%5C");
    expect(() => new Headers({ "content-disposition": v })).not.toThrow();
  });
});

const words: Word[] = [
  { word: "Привет,", start: 0.12, end: 0.6, confidence: 0.9 },
  { word: "a|b", start: 0.7, end: 1.0, confidence: 0.5 },
  { word: "мир.", start: 61.2, end: 61.7, confidence: 0.8 },
];
const result: TranscriptResult = { text: "Привет, a|b мир.", duration: 62.25, words, segments: [] };

describe("Markdown", () => {
  test("front matter, # Transcript and the text", () => {
    expect(toMarkdown(result)).toBe("---\nduration: 62.25\nlanguage: ru\nspeakers: 0\n---\n\n# Transcript\n\nПривет, a|b мир.\n\n");
  });

  test("word_timestamps: the word table, `|` escaped, 3 decimals, - for no speaker", () => {
    const md = toMarkdown(result, { wordTimestamps: true });
    expect(md).toContain("# Word timings\n\n| Word | Start | End | Confidence | Speaker |\n|------|-------|-----|------------|---------|\n");
    expect(md).toContain("| Привет, | 0.120s | 0.600s | 0.900 | - |\n| a\\|b | 0.700s | 1.000s | 0.500 | - |\n| мир. | 61.200s | 61.700s | 0.800 | - |\n");
    expect(toMarkdown({ ...result, words: [] }, { wordTimestamps: true })).not.toContain("# Word timings");
  });

  test("segments: a ### [mm:ss] section per cue instead of # Transcript", () => {
    const md = toMarkdown(result, { segments: true });
    expect(md).toBe("---\nduration: 62.25\nlanguage: ru\nspeakers: 0\n---\n\n### [00:00]\n\nПривет, a|b мир.\n\n".replace("Привет, a|b мир.", "Привет, a|b") + "### [01:01]\n\nмир.\n\n");
    expect(md).not.toContain("# Transcript");
  });

  test("a split transcript: speakers counted, sections and table labelled by channel", () => {
    const split = { ...result, words: words.map((w, i) => ({ ...w, channel: i % 2 })) };
    const md = toMarkdown(split, { segments: true, wordTimestamps: true });
    expect(md).toContain("speakers: 2\n");
    expect(md).toContain("### [00:01]\n\n[1] a|b\n\n");
    expect(md).toContain("| мир. | 61.200s | 61.700s | 0.800 | SPEAKER_0 |");
  });

  test("section times: mm:ss, hh:mm:ss from one hour, rounded, never negative", () => {
    expect([0, 59.6, 65, 3599.4, 3661, -5].map(sectionTime)).toEqual(["00:00", "01:00", "01:05", "59:59", "01:01:01", "00:00"]);
  });
});

describe("transcript confidence", () => {
  test("duration-weighted mean of the words; null without words", () => {
    expect(transcriptConfidence([])).toBeNull();
    const c = transcriptConfidence(words)!;
    const w = [0.48, 0.3, 0.5];
    expect(c).toBeCloseTo((0.9 * w[0]! + 0.5 * w[1]! + 0.8 * w[2]!) / (w[0]! + w[1]! + w[2]!), 12);
    expect(transcriptConfidence([{ word: "a", start: 1, end: 1, confidence: 0.7 }])).toBeCloseTo(0.7, 12);
  });
});
