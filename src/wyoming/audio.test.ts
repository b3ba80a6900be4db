import { describe, expect, test } from "bun:test";
import { parseAudioFormat } from "./audio.ts";

describe("parseAudioFormat", () => {
  test("16-bit, 8–192 kHz, 1–16 channels", () => {
    expect(parseAudioFormat({ rate: 22050, width: 2, channels: 2, timestamp: null })).toEqual({ rate: 22050, width: 2, channels: 2 });
    expect(() => parseAudioFormat({ rate: 16000, width: 4, channels: 1 })).toThrow(expect.objectContaining({ code: "unsupported_format" }));
    expect(() => parseAudioFormat({ rate: 16000, width: 2, channels: 0 })).toThrow(expect.objectContaining({ code: "unsupported_format" }));
    expect(() => parseAudioFormat({ rate: 7999, width: 2, channels: 1 })).toThrow(expect.objectContaining({ code: "invalid_sample_rate" }));
    expect(() => parseAudioFormat({ rate: 192001, width: 2, channels: 1 })).toThrow(expect.objectContaining({ code: "invalid_sample_rate" }));
    expect(() => parseAudioFormat({ rate: "16000", width: 2, channels: 1 })).toThrow(expect.objectContaining({ code: "bad_message" }));
    expect(() => parseAudioFormat({ width: 2, channels: 1 })).toThrow(expect.objectContaining({ code: "bad_message" }));
  });
});
