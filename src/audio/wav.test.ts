import { describe, expect, test } from "bun:test";
// @ts-expect-error wav-decoder ships no types
import wavDecoder from "wav-decoder";
import { GigasttError } from "../errors.ts";
import { decodeG711, encodeSamples, encodeWav, randomChunks, rng, sine, type WavEncoding } from "../../test/helpers/wav.ts";
import { WavStreamDecoder } from "./wav.ts";

function decodeAll(bytes: Uint8Array, chunks?: Uint8Array[]): { samples: Float32Array; dec: WavStreamDecoder } {
  const dec = new WavStreamDecoder();
  const parts: Float32Array[] = [];
  for (const c of chunks ?? [bytes]) parts.push(dec.push(c));
  parts.push(dec.finish());
  const n = parts.reduce((a, p) => a + p.length, 0);
  const samples = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    samples.set(p, o);
    o += p.length;
  }
  return { samples, dec };
}

function errorOf(fn: () => unknown): GigasttError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GigasttError);
    return e as GigasttError;
  }
  throw new Error("expected an error");
}

function decodeError(bytes: Uint8Array): GigasttError {
  return errorOf(() => decodeAll(bytes));
}

/** Channel planes of noise in [-0.9, 0.9] plus a distinct DC per channel. */
function planes(channels: number, frames: number, seed = 7): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: channels }, (_, c) => Float32Array.from({ length: frames }, () => (r() * 2 - 1) * 0.8 + (c - 2) * 0.02));
}

/** What each stored sample decodes to: an independent reading of the quantised value. */
function quantised(v: number, enc: WavEncoding): number {
  const q = (scale: number) => Math.max(-scale, Math.min(scale - 1, Math.round(v * scale))) / scale;
  switch (enc) {
    case "pcm8":
      return q(128);
    case "pcm16":
      return q(32768);
    case "pcm24":
      return q(8388608);
    case "pcm32":
      return q(2147483648);
    case "float32":
      return Math.fround(v);
    case "float64":
      return v;
    case "alaw":
    case "mulaw":
      return decodeG711(encodeSamples([Float32Array.of(v)], enc)[0]!, enc);
  }
}

const ENCODINGS: WavEncoding[] = ["pcm8", "pcm16", "pcm24", "pcm32", "float32", "float64", "alaw", "mulaw"];

describe("WavStreamDecoder: formats", () => {
  for (const enc of ENCODINGS) {
    for (const channels of [1, 2, 3, 4, 5, 6]) {
      for (const extensible of [false, true]) {
        test(`${enc} × ${channels} ch${extensible ? " (extensible)" : ""}: mean of channels`, () => {
          const ch = planes(channels, 301);
          const bytes = encodeWav({ sampleRate: 22050, channels: ch, encoding: enc, extensible });
          const { samples, dec } = decodeAll(bytes);
          expect(samples.length).toBe(301);
          expect(dec.format).toMatchObject({ sampleRate: 22050, channels, encoding: enc.startsWith("pcm") ? "pcm" : enc.startsWith("float") ? "float" : enc });
          for (let i = 0; i < 301; i++) {
            let mean = 0;
            for (let c = 0; c < channels; c++) mean += quantised(ch[c]![i]!, enc);
            mean /= channels;
            expect(Math.abs(samples[i]! - mean)).toBeLessThan(1e-6);
          }
        });
      }
    }
  }

  test("int16 is scaled by 1/32768 (full-scale negative is exactly -1)", () => {
    const { samples } = decodeAll(encodeWav({ sampleRate: 16000, channels: [Float32Array.of(-1, 0.5, 32767 / 32768)] }));
    expect(Array.from(samples)).toEqual([-1, 0.5, 32767 / 32768]);
  });

  test("8-bit is unsigned with 128 as zero", () => {
    const { samples } = decodeAll(encodeWav({ sampleRate: 8000, channels: [Float32Array.of(-1, 0, 0.5)], encoding: "pcm8" }));
    expect(Array.from(samples)).toEqual([-1, 0, 0.5]);
  });

  test("non-finite float samples become 0", () => {
    const ch = [Float32Array.of(0.25, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.25)];
    for (const encoding of ["float32", "float64"] as const) {
      const { samples } = decodeAll(encodeWav({ sampleRate: 16000, channels: ch, encoding }));
      expect(Array.from(samples)).toEqual([0.25, 0, 0, 0, -0.25]);
    }
  });

  test("every sample rate from 8 to 192 kHz is accepted and reported", () => {
    for (const rate of [8000, 11025, 16000, 22050, 37000, 44100, 48000, 96000, 192000]) {
      const { dec } = decodeAll(encodeWav({ sampleRate: rate, channels: [sine(440, rate, 0.01)] }));
      expect(dec.format?.sampleRate).toBe(rate);
    }
  });

  test("agrees with wav-decoder on plain files (which scales positive ints by 1/(2^(n-1)-1))", async () => {
    for (const enc of ["pcm8", "pcm16", "pcm24", "pcm32", "float32", "float64"] as const) {
      for (const channels of [1, 2]) {
        const ch = planes(channels, 500, 3);
        const bytes = encodeWav({ sampleRate: 44100, channels: ch, encoding: enc });
        const ref = await wavDecoder.decode(bytes.slice().buffer);
        const { samples } = decodeAll(bytes);
        const bits = Number(enc.replace(/\D/g, ""));
        const pos = enc.startsWith("pcm") ? 2 ** (bits - 1) / (2 ** (bits - 1) - 1) : 1;
        expect(ref.sampleRate).toBe(44100);
        for (let i = 0; i < 500; i++) {
          let mean = 0;
          for (let c = 0; c < channels; c++) {
            const v = ref.channelData[c][i] as number;
            mean += v > 0 ? v / pos : v;
          }
          expect(Math.abs(samples[i]! - mean / channels)).toBeLessThan(1e-6);
        }
      }
    }
  });
});

describe("WavStreamDecoder: chunks and streaming", () => {
  const ch = planes(2, 1001, 11);
  const listData = new TextEncoder().encode("INFOISFT\x0d\x00\x00\x00Lavf60.3.100\x00");

  test("LIST/odd-sized chunks with pad bytes before and after data are skipped", () => {
    const plain = decodeAll(encodeWav({ sampleRate: 16000, channels: ch, encoding: "pcm24" })).samples;
    const bytes = encodeWav({
      sampleRate: 16000,
      channels: ch,
      encoding: "pcm24",
      extra: [
        { id: "JUNK", data: new Uint8Array(13), at: "before-fmt" },
        { id: "LIST", data: listData, at: "before-data" },
        { id: "odd ", data: new Uint8Array(7).fill(0xab) },
        { id: "cue ", data: new Uint8Array(5), at: "after-data" },
      ],
    });
    expect(Array.from(decodeAll(bytes).samples)).toEqual(Array.from(plain));
  });

  test("an odd-sized data chunk (8-bit mono) is followed by its pad byte and more chunks", () => {
    const x = Float32Array.from({ length: 101 }, (_, i) => ((i % 17) - 8) / 16);
    const bytes = encodeWav({ sampleRate: 8000, channels: [x], encoding: "pcm8", extra: [{ id: "LIST", data: listData, at: "after-data" }] });
    expect(Array.from(decodeAll(bytes).samples)).toEqual(Array.from(x));
  });

  test("a large unknown chunk is skipped without being buffered", () => {
    const big = new Uint8Array(3_000_001);
    const bytes = encodeWav({ sampleRate: 16000, channels: [sine(100, 16000, 0.1)], extra: [{ id: "LIST", data: big }] });
    const dec = new WavStreamDecoder();
    let n = 0;
    for (const c of randomChunks(bytes, 65536, 5)) n += dec.push(c).length;
    n += dec.finish().length;
    expect(n).toBe(1600);
  });

  test("pushing byte by byte equals pushing the whole file, for every variant", () => {
    for (const enc of ENCODINGS) {
      for (const extensible of [false, true]) {
        const bytes = encodeWav({ sampleRate: 48000, channels: planes(3, 77, 5), encoding: enc, extensible, extra: [{ id: "LIST", data: listData }] });
        const whole = decodeAll(bytes).samples;
        const single = decodeAll(bytes, Array.from(bytes, (b) => Uint8Array.of(b))).samples;
        expect(Array.from(single)).toEqual(Array.from(whole));
        const random = decodeAll(bytes, randomChunks(bytes, 11, 9)).samples;
        expect(Array.from(random)).toEqual(Array.from(whole));
      }
    }
  });

  test("a streamed WAV (data size 0xFFFFFFFF or 0, unknown RIFF size) is read to the end", () => {
    const x = sine(300, 16000, 0.05);
    const plain = decodeAll(encodeWav({ sampleRate: 16000, channels: [x] })).samples;
    for (const [dataSize, riffSize] of [
      [0xffffffff, 0xffffffff],
      [0xffffffff, 1234],
      [0, 0],
      [0, 0xffffffff],
    ] as const) {
      const { samples, dec } = decodeAll(encodeWav({ sampleRate: 16000, channels: [x], dataSize, riffSize }));
      expect(Array.from(samples)).toEqual(Array.from(plain));
      expect(dec.format?.dataBytes).toBeNull();
    }
  });

  test("an empty data chunk followed by other chunks (RIFF size known) gives no samples", () => {
    const bytes = encodeWav({ sampleRate: 16000, channels: [new Float32Array(0)], extra: [{ id: "LIST", data: listData, at: "after-data" }] });
    expect(decodeAll(bytes).samples.length).toBe(0);
  });

  test("a truncated data chunk decodes every complete frame that is there", () => {
    const x = planes(2, 1000, 13);
    const bytes = encodeWav({ sampleRate: 16000, channels: x, encoding: "pcm24" });
    const whole = decodeAll(bytes).samples;
    // cut in the middle of frame 600 (6 bytes per frame, header 44 bytes)
    const cut = bytes.subarray(0, 44 + 600 * 6 + 4);
    const { samples } = decodeAll(cut, randomChunks(cut, 100, 2));
    expect(samples.length).toBe(600);
    expect(Array.from(samples)).toEqual(Array.from(whole.subarray(0, 600)));
  });
});

describe("WavStreamDecoder: malformed input", () => {
  const good = encodeWav({ sampleRate: 16000, channels: [sine(440, 16000, 0.1)] });

  test("empty input → invalid_audio 'empty input'", () => {
    const e = decodeError(new Uint8Array(0));
    expect(e.code).toBe("invalid_audio");
    expect(e.message).toContain("empty");
  });

  test("10 bytes → invalid_audio", () => {
    expect(decodeError(good.subarray(0, 10)).code).toBe("invalid_audio");
    expect(decodeError(new Uint8Array(10).fill(7)).code).toBe("invalid_audio");
  });

  test("RIFF but not WAVE → invalid_audio", () => {
    const avi = good.slice();
    avi.set(new TextEncoder().encode("AVI "), 8);
    const e = decodeError(avi);
    expect(e.code).toBe("invalid_audio");
    expect(e.message).toContain("not WAVE");
  });

  test("no fmt chunk → invalid_audio", () => {
    const e = decodeError(encodeWav({ sampleRate: 16000, channels: [sine(1, 16000, 0.01)], noFmt: true }));
    expect(e.code).toBe("invalid_audio");
    expect(e.message).toContain("fmt");
  });

  test("data before fmt → invalid_audio", () => {
    const e = decodeError(encodeWav({ sampleRate: 16000, channels: [sine(1, 16000, 0.01)], dataFirst: true }));
    expect(e.code).toBe("invalid_audio");
    expect(e.message).toContain("before the fmt");
  });

  test("header cut short (inside fmt, or before data) → invalid_audio", () => {
    for (const n of [12, 20, 30, 36, 40]) expect(decodeError(good.subarray(0, n)).code).toBe("invalid_audio");
  });

  test("no data chunk → invalid_audio", () => {
    const e = decodeError(good.subarray(0, 36));
    expect(e.message).toContain("no data chunk");
  });

  test("ADPCM and other codecs → unsupported_format naming the codec", () => {
    for (const [formatTag, name] of [
      [2, "ADPCM"],
      [0x55, "MP3"],
      [0x1234, "0x1234"],
    ] as const) {
      const e = decodeError(encodeWav({ sampleRate: 16000, channels: [sine(1, 16000, 0.01)], formatTag }));
      expect(e.code).toBe("unsupported_format");
      expect(e.message).toContain(name);
      expect(e.message).toContain("ffmpeg");
    }
    const ext = decodeError(encodeWav({ sampleRate: 16000, channels: [sine(1, 16000, 0.01)], extensible: true, subFormatTag: 2 }));
    expect(ext.code).toBe("unsupported_format");
  });

  test("sample rates outside 8–192 kHz → unsupported_format; rate 0 or 0 channels → invalid_audio", () => {
    expect(decodeError(encodeWav({ sampleRate: 4000, channels: [sine(1, 4000, 0.01)] })).code).toBe("unsupported_format");
    expect(decodeError(encodeWav({ sampleRate: 384000, channels: [sine(1, 384000, 0.01)] })).code).toBe("unsupported_format");
    const zeroRate = good.slice();
    new DataView(zeroRate.buffer).setUint32(24, 0, true);
    expect(decodeError(zeroRate).code).toBe("invalid_audio");
    const zeroCh = good.slice();
    new DataView(zeroCh.buffer).setUint16(22, 0, true);
    expect(decodeError(zeroCh).code).toBe("invalid_audio");
  });

  test("known non-WAV containers → unsupported_format with a conversion hint", () => {
    const enc = new TextEncoder();
    const cases: [Uint8Array, string][] = [
      [Uint8Array.of(...enc.encode("ID3"), 4, 0, 0, 0, 0, 0, 0, 0xff, 0xfb, 0x90, 0x64), "MP3"],
      [Uint8Array.of(0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0), "MP3"],
      [Uint8Array.of(...enc.encode("OggS"), 0, 2, 0, 0, 0, 0, 0, 0, 0, 0), "OGG"],
      [Uint8Array.of(...enc.encode("fLaC"), 0, 0, 0, 34, 0, 0, 0, 0), "FLAC"],
      [Uint8Array.of(0, 0, 0, 0x20, ...enc.encode("ftypM4A "), 0, 0, 0, 0), "M4A"],
      [Uint8Array.of(0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0xf7, 0x81), "WebM"],
    ];
    for (const [bytes, name] of cases) {
      const e = decodeError(bytes);
      expect(e.code).toBe("unsupported_format");
      expect(e.message).toContain(name);
      expect(e.message).toContain("not supported");
      expect(e.message).toContain("ffmpeg -i in.");
      expect(e.message).not.toContain("\n");
    }
    // ID3 alone (shorter than a WAV header) is still recognised at finish
    expect(decodeError(enc.encode("ID3\x04\x00")).code).toBe("unsupported_format");
  });

  test("mutated headers never crash, hang or throw anything but a typed error", () => {
    const base = encodeWav({ sampleRate: 44100, channels: planes(2, 200, 1), encoding: "pcm24", extensible: true, extra: [{ id: "LIST", data: new Uint8Array(9) }] });
    const r = rng(99);
    let decoded = 0;
    for (let t = 0; t < 500; t++) {
      const bytes = base.slice();
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) bytes[Math.floor(r() * 90)] = Math.floor(r() * 256);
      try {
        decodeAll(bytes, randomChunks(bytes, 64, t));
        decoded++;
      } catch (e) {
        expect(e).toBeInstanceOf(GigasttError);
        expect(["invalid_audio", "unsupported_format"]).toContain((e as GigasttError).code);
        expect((e as GigasttError).message).not.toContain("\n");
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });

  test("RF64 header with a 0xFFFFFFFF data size is read to the end", () => {
    const x = sine(200, 16000, 0.05);
    const bytes = encodeWav({ sampleRate: 16000, channels: [x], dataSize: 0xffffffff, riffSize: 0xffffffff, extra: [{ id: "ds64", data: new Uint8Array(28), at: "before-fmt" }] });
    bytes.set(new TextEncoder().encode("RF64"), 0);
    expect(decodeAll(bytes).samples.length).toBe(x.length);
  });

  test("random garbage → invalid_audio, and never throws anything but GigasttError", () => {
    const r = rng(42);
    for (let t = 0; t < 200; t++) {
      const n = Math.floor(r() * 300);
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
      if (t % 2) bytes.set(good.subarray(0, Math.min(n, 12 + Math.floor(r() * 30))));
      try {
        decodeAll(bytes, randomChunks(bytes, 17, t));
      } catch (e) {
        expect(e).toBeInstanceOf(GigasttError);
        expect(["invalid_audio", "unsupported_format"]).toContain((e as GigasttError).code);
      }
    }
    expect(decodeError(Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff)).code).toBe("invalid_audio");
  });
});
