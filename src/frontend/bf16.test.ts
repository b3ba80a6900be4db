import { describe, expect, test } from "bun:test";
import { f32Bits, f32FromBits, roundArrayToBf16, roundToBf16 } from "./bf16.ts";

const bits = (x: number) => f32Bits(x).toString(16).padStart(8, "0");

describe("roundToBf16", () => {
  test("keeps values that are already bfloat16", () => {
    for (const x of [0, -0, 1, -2, 0.5, 1.5, 65536, 2 ** -130, Infinity, -Infinity]) {
      expect(roundToBf16(x)).toBe(x);
    }
  });

  test("zeroes the low 16 bits and rounds to nearest", () => {
    expect(bits(roundToBf16(f32FromBits(0x3f807fff)))).toBe("3f800000"); // below half: down
    expect(bits(roundToBf16(f32FromBits(0x3f808001)))).toBe("3f810000"); // above half: up
    expect(bits(roundToBf16(f32FromBits(0xbf80c000)))).toBe("bf810000"); // negative, above half
  });

  test("ties go to the even bfloat16", () => {
    expect(bits(roundToBf16(f32FromBits(0x3f808000)))).toBe("3f800000"); // 0x3f80 even: stays
    expect(bits(roundToBf16(f32FromBits(0x3f818000)))).toBe("3f820000"); // 0x3f81 odd: up
  });

  test("rounds float64 input to float32 first", () => {
    // 1 + 2^-8 is exactly half a bfloat16 ulp above 1: a tie, goes to even (1).
    expect(roundToBf16(1 + 2 ** -8)).toBe(1);
    // a hair above the tie, but that hair is lost in the float32 rounding
    expect(roundToBf16(1 + 2 ** -8 + 2 ** -40)).toBe(1);
    expect(roundToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7);
  });

  test("overflow to infinity and NaN stay as in torch", () => {
    expect(roundToBf16(f32FromBits(0x7f7fffff))).toBe(Infinity);
    expect(roundToBf16(Number.NaN)).toBeNaN();
  });

  test("relative error is at most 2^-8 (half a 7-bit-mantissa ulp)", () => {
    for (let i = 1; i < 2000; i++) {
      const x = Math.fround(Math.sin(i) * 10 ** ((i % 13) - 6));
      if (x === 0) continue;
      const r = roundToBf16(x);
      expect(f32Bits(r) & 0xffff).toBe(0);
      expect(Math.abs(r - x) / Math.abs(x)).toBeLessThanOrEqual(2 ** -8);
    }
  });

  test("roundArrayToBf16 rounds in place", () => {
    const a = new Float32Array([f32FromBits(0x3f808001), 0.1]);
    expect(roundArrayToBf16(a)).toBe(a);
    expect(bits(a[0]!)).toBe("3f810000");
    expect(bits(a[1]!)).toBe("3dcd0000"); // 0.1 = 0x3dcccccd → 0x3dcd
  });
});
