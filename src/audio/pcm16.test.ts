import { describe, expect, test } from "bun:test";
import { randomChunks, rng } from "../../test/helpers/wav.ts";
import { Pcm16Decoder } from "./pcm16.ts";

function int16Bytes(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setInt16(2 * i, v, true));
  return b;
}

describe("Pcm16Decoder", () => {
  test("little-endian int16 scaled by 1/32768", () => {
    const d = new Pcm16Decoder();
    expect(Array.from(d.push(int16Bytes([0, 1, -1, 32767, -32768, 16384])))).toEqual([0, 1 / 32768, -1 / 32768, 32767 / 32768, -1, 0.5]);
    expect(d.hasPendingByte).toBe(false);
  });

  test("an odd trailing byte is carried, so later samples keep their phase", () => {
    const r = rng(5);
    const values = Array.from({ length: 5000 }, () => Math.floor(r() * 65536) - 32768);
    const bytes = int16Bytes(values);
    for (const max of [1, 3, 7, 1001]) {
      const d = new Pcm16Decoder();
      const got: number[] = [];
      for (const c of randomChunks(bytes, max, max)) got.push(...d.push(c));
      expect(got).toEqual(values.map((v) => v / 32768));
      expect(d.hasPendingByte).toBe(false);
    }
  });

  test("hasPendingByte reports the carried byte; empty pushes keep it; reset drops it", () => {
    const d = new Pcm16Decoder();
    expect(d.push(Uint8Array.of(0x34)).length).toBe(0);
    expect(d.hasPendingByte).toBe(true);
    expect(d.push(new Uint8Array(0)).length).toBe(0);
    expect(d.hasPendingByte).toBe(true);
    expect(Array.from(d.push(Uint8Array.of(0x12)))).toEqual([0x1234 / 32768]);
    d.push(Uint8Array.of(1, 2, 3));
    expect(d.reset()).toBe(true);
    expect(d.hasPendingByte).toBe(false);
    expect(Array.from(d.push(Uint8Array.of(0, 0x80)))).toEqual([-1]);
  });
});
