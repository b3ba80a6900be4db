import { describe, expect, test } from "bun:test";
import { PcmInput } from "./pcm-input.ts";

function pcm(values: number[]): Uint8Array {
  return new Uint8Array(Int16Array.from(values).buffer);
}

describe("PcmInput", () => {
  test("16 kHz stereo: channel mean, frames split anywhere across chunks", () => {
    // frames (L, R): (1000, 3000), (-2000, 0), (32767, -32768)
    const bytes = pcm([1000, 3000, -2000, 0, 32767, -32768]);
    const want = [2000 / 32768, -1000 / 32768, -0.5 / 32768];
    for (let split = 1; split <= bytes.length; split++) {
      const a = new PcmInput(16000, 2);
      const got: number[] = [];
      for (let i = 0; i < bytes.length; i += split) got.push(...a.push(bytes.subarray(i, i + split)));
      got.push(...a.flush().samples);
      expect(got.length).toBe(3);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 7));
      expect(a.seconds).toBeCloseTo(3 / 16000, 12);
    }
  });

  test("an incomplete last frame is reported, not decoded", () => {
    const a = new PcmInput(16000, 2);
    expect(a.push(pcm([1, 2, 3])).length).toBe(1);
    expect(a.flush().droppedBytes).toBe(2);
  });

  test("other rates are resampled to 16 kHz with the same length rule as the resampler", () => {
    const a = new PcmInput(22050);
    const n = 22050;
    const x = new Int16Array(n).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 22050)));
    const bytes = new Uint8Array(x.buffer);
    let total = 0;
    for (let i = 0; i < bytes.length; i += 999) total += a.push(bytes.subarray(i, i + 999)).length;
    total += a.flush().samples.length;
    expect(total).toBe(16000);
  });

  test("mono: odd bytes carried over, the same samples for any split (the WebSocket's input)", () => {
    const x = new Int16Array(4801).map((_, i) => Math.round(9000 * Math.sin(i / 7)));
    const bytes = new Uint8Array(x.buffer);
    const whole = new PcmInput(48000);
    const want = [...whole.push(bytes), ...whole.flush().samples];
    for (const split of [1, 3, 977]) {
      const a = new PcmInput(48000);
      const got: number[] = [];
      for (let i = 0; i < bytes.length; i += split) got.push(...a.push(bytes.subarray(i, i + split)));
      got.push(...a.flush().samples);
      expect(got).toEqual(want);
      expect(a.bytes).toBe(bytes.length);
      expect(a.seconds).toBeCloseTo(4801 / 48000, 12);
    }
    const odd = new PcmInput(16000);
    odd.push(bytes.subarray(0, 5));
    expect(odd.flush().droppedBytes).toBe(1);
  });
});
