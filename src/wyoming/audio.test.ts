import { describe, expect, test } from "bun:test";
import { parseAudioFormat, WyomingAudioInput } from "./audio.ts";

function pcm(values: number[]): Uint8Array {
  return new Uint8Array(Int16Array.from(values).buffer);
}

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

describe("WyomingAudioInput", () => {
  test("16 kHz stereo: channel mean, frames split anywhere across chunks", () => {
    // frames (L, R): (1000, 3000), (-2000, 0), (32767, -32768)
    const bytes = pcm([1000, 3000, -2000, 0, 32767, -32768]);
    const want = [2000 / 32768, -1000 / 32768, -0.5 / 32768];
    for (let split = 1; split <= bytes.length; split++) {
      const a = new WyomingAudioInput({ rate: 16000, width: 2, channels: 2 });
      const got: number[] = [];
      for (let i = 0; i < bytes.length; i += split) got.push(...a.push(bytes.subarray(i, i + split)));
      got.push(...a.flush().samples);
      expect(got.length).toBe(3);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 7));
      expect(a.seconds).toBeCloseTo(3 / 16000, 12);
    }
  });

  test("an incomplete last frame is reported, not decoded", () => {
    const a = new WyomingAudioInput({ rate: 16000, width: 2, channels: 2 });
    expect(a.push(pcm([1, 2, 3])).length).toBe(1);
    expect(a.flush().droppedBytes).toBe(2);
  });

  test("other rates are resampled to 16 kHz with the same length rule as the resampler", () => {
    const a = new WyomingAudioInput({ rate: 22050, width: 2, channels: 1 });
    const n = 22050;
    const x = new Int16Array(n).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 22050)));
    const bytes = new Uint8Array(x.buffer);
    let total = 0;
    for (let i = 0; i < bytes.length; i += 999) total += a.push(bytes.subarray(i, i + 999)).length;
    total += a.flush().samples.length;
    expect(total).toBe(16000);
  });
});
