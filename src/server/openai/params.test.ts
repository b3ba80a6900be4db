import { describe, expect, test } from "bun:test";
import { checkLanguage, OpenAiForm, parseResponseFormat } from "./params.ts";

describe("OpenAiForm", () => {
  test("defaults: json, segments, no words, no stream", () => {
    expect(new OpenAiForm().params()).toEqual({ responseFormat: "json", segments: true, words: false, stream: false });
  });

  test("granularities: word only drops segments; both (repeated or comma-separated) keep both", () => {
    const w = new OpenAiForm();
    w.set("timestamp_granularities[]", "word");
    expect(w.params()).toMatchObject({ segments: false, words: true });
    const both = new OpenAiForm();
    both.set("timestamp_granularities[]", "word");
    both.set("timestamp_granularities[]", "segment");
    expect(both.params()).toMatchObject({ segments: true, words: true });
    const csv = new OpenAiForm();
    csv.set("timestamp_granularities", "segment, word");
    expect(csv.params()).toMatchObject({ segments: true, words: true });
  });

  test("stream accepts true/false/1/0 in any case; model, prompt, temperature and unknown fields are ignored", () => {
    const f = new OpenAiForm();
    for (const [v, want] of [["TRUE", true], ["0", false], ["1", true], ["false", false]] as const) {
      f.set("stream", v);
      expect(f.params().stream).toBe(want);
    }
    for (const name of ["model", "prompt", "temperature", "include[]", "chunking_strategy"]) f.set(name, "anything at all");
    expect(f.params()).toEqual({ responseFormat: "json", segments: true, words: false, stream: false });
    expect(() => f.set("stream", "yes")).toThrow(expect.objectContaining({ code: "usage", details: { param: "stream" } }));
  });

  test("bad values are usage errors that name the param", () => {
    expect(() => new OpenAiForm().set("timestamp_granularities[]", "char")).toThrow(expect.objectContaining({ code: "usage", details: { param: "timestamp_granularities[]" } }));
    expect(() => new OpenAiForm().set("response_format", "diarized_json")).toThrow(expect.objectContaining({ code: "usage", details: { param: "response_format" } }));
  });
});

test("parseResponseFormat: the five formats, empty = json", () => {
  for (const f of ["json", "text", "srt", "vtt", "verbose_json"]) expect(parseResponseFormat(f)).toBe(f as never);
  expect(parseResponseFormat("")).toBe("json");
  expect(() => parseResponseFormat("JSON")).toThrow(expect.objectContaining({ code: "usage" }));
});

test("checkLanguage: Russian spellings pass, anything else is unsupported_language", () => {
  for (const ok of ["", "ru", "RU", "rus", "Russian", "ru-RU", "ru_ru", "auto", "Auto"]) expect(() => checkLanguage(ok)).not.toThrow();
  for (const bad of ["en", "uk", "russ", "de-RU"]) {
    expect(() => checkLanguage(bad)).toThrow(expect.objectContaining({ code: "unsupported_language", http: 400, details: { param: "language" } }));
  }
});
