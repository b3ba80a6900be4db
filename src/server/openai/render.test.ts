import { describe, expect, test } from "bun:test";
import { GigasttError } from "../../errors.ts";
import { buildSegments } from "../../format/index.ts";
import type { TranscriptResult, Word } from "../../types.ts";
import { avgLogprob, compressionRatio, openAiErrorBody, openAiErrorResponse, resultResponse, toVerboseJson } from "./render.ts";

const w = (word: string, start: number, end: number, confidence: number): Word => ({ word, start, end, confidence });
const words = [w("привет", 0.12, 0.4, 0.9), w("мир.", 0.52, 0.96, 0.5), w("как", 2.0, 2.2, 1), w("дела?", 2.4, 2.8, 0.25)];
const result: TranscriptResult = { text: "привет мир. как дела?", duration: 3.0004, words, segments: buildSegments(words) };

describe("errors", () => {
  test("OpenAI's shape: 4xx invalid_request_error, 5xx server_error, our code, param from details", () => {
    expect(openAiErrorBody(new GigasttError("unsupported_language", "nope", { details: { param: "language" } }))).toEqual({
      error: { message: "nope", type: "invalid_request_error", param: "language", code: "unsupported_language" },
    });
    expect(openAiErrorBody(new GigasttError("inference_error"))).toEqual({
      error: { message: "Inference failed", type: "server_error", param: null, code: "inference_error" },
    });
  });

  test("the catalogue status; busy errors carry Retry-After and Retry-After-Ms", async () => {
    const r = openAiErrorResponse(new GigasttError("timeout", undefined, { details: { retry_after_ms: 1500 } }), { "x-extra": "1" });
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("2");
    expect(r.headers.get("retry-after-ms")).toBe("1500");
    expect(r.headers.get("x-extra")).toBe("1");
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("timeout");
    expect(openAiErrorResponse(new GigasttError("unsupported_format")).status).toBe(415);
  });
});

describe("verbose_json", () => {
  test("segments are the subtitle cues with Whisper's fields; avg_logprob from each cue's own words", () => {
    const v = toVerboseJson(result, { segments: true, words: false });
    expect(v).toMatchObject({ task: "transcribe", language: "russian", duration: 3, text: result.text });
    expect(v.words).toBeUndefined();
    expect(v.segments!.map((s) => [s.id, s.seek, s.start, s.end, s.text])).toEqual([
      [0, 12, 0.12, 0.96, "привет мир."],
      [1, 200, 2, 2.8, "как дела?"],
    ]);
    expect(v.segments![0]!.avg_logprob).toBeCloseTo((Math.log(0.9) + Math.log(0.5)) / 2, 4);
    expect(v.segments![1]!.avg_logprob).toBeCloseTo(Math.log(0.25) / 2, 4);
    for (const s of v.segments!) expect(s).toMatchObject({ tokens: [], temperature: 0, no_speech_prob: 0 });
  });

  test("words without confidence; no segments when only words were asked for", () => {
    const v = toVerboseJson(result, { segments: false, words: true });
    expect(v.segments).toBeUndefined();
    expect(v.words).toEqual([
      { word: "привет", start: 0.12, end: 0.4 },
      { word: "мир.", start: 0.52, end: 0.96 },
      { word: "как", start: 2, end: 2.2 },
      { word: "дела?", start: 2.4, end: 2.8 },
    ]);
  });

  test("an empty transcript has no segments and no words", () => {
    const v = toVerboseJson({ text: "", duration: 1, words: [], segments: [] }, { segments: true, words: true });
    expect(v).toEqual({ task: "transcribe", language: "russian", duration: 1, text: "", segments: [], words: [] });
  });
});

test("compressionRatio is Whisper's (bytes / zlib bytes): repetitive text compresses well", () => {
  expect(compressionRatio("")).toBe(0);
  expect(compressionRatio("да ".repeat(200))).toBeGreaterThan(10);
  expect(compressionRatio("привет мир")).toBeLessThan(2);
  expect(avgLogprob([])).toBe(0);
  expect(avgLogprob([w("a", 0, 1, 0)])).toBeCloseTo(Math.log(1e-6), 6);
});

test("json is exactly {text}; text ends with a newline", async () => {
  const p = { segments: true, words: false, stream: false } as const;
  expect(await resultResponse(result, { ...p, responseFormat: "json" }).json()).toEqual({ text: result.text });
  const t = resultResponse(result, { ...p, responseFormat: "text" });
  expect(t.headers.get("content-type")).toBe("text/plain; charset=utf-8");
  expect(await t.text()).toBe(`${result.text}\n`);
});
