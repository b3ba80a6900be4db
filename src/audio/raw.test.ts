import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isGigasttError } from "../errors.ts";
import { G722Decoder } from "./g722.ts";
import { readAudio } from "./load.ts";
import { rawAsWav, rawAudioOf, parseRawCodec } from "./raw.ts";
import { convert } from "./samples.ts";

const FIX = join(import.meta.dir, "..", "..", "test", "fixtures", "formats");
const W = { codec: "codec", rate: "sample_rate" };

function codeOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return isGigasttError(e) ? e.code : "not a GigasttError";
  }
}

async function collect(g: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of g) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

describe("G.722 decoder", () => {
  test("bit-exact with ffmpeg's decoding of ffmpeg's g722 encoding (test/fixtures/formats/make.ts)", () => {
    const coded = new Uint8Array(readFileSync(join(FIX, "g722.raw")));
    const ref = new Int16Array(new Uint8Array(readFileSync(join(FIX, "g722.s16"))).buffer);
    const ours = new G722Decoder().decode(coded);
    expect(ours.length).toBe(ref.length);
    let diff = 0;
    for (let i = 0; i < ref.length; i++) if (ours[i] !== ref[i]) diff++;
    expect(diff).toBe(0);
    // not silence: the phrase's tones are there
    expect(ref.some((v) => Math.abs(v) > 3000)).toBe(true);
  });

  test("state carries across calls: any split of the bytes decodes the same", () => {
    const coded = new Uint8Array(readFileSync(join(FIX, "g722.raw")));
    const whole = new G722Decoder().decode(coded);
    const d = new G722Decoder();
    const parts = [coded.subarray(0, 1), coded.subarray(1, 777), coded.subarray(777)].map((p) => d.decode(p));
    expect(Buffer.from(new Int16Array([...parts[0]!, ...parts[1]!, ...parts[2]!]).buffer).equals(Buffer.from(whole.buffer))).toBe(true);
  });
});

describe("raw telephone streams", () => {
  test("codec names: pcmu/ulaw, pcma/alaw, g722, any case; others unsupported_codec", () => {
    expect(["pcmu", "ULAW", "pcma", "Alaw", "G722"].map((c) => parseRawCodec(c))).toEqual(["pcmu", "pcmu", "pcma", "pcma", "g722"]);
    for (const bad of ["opus", "g729", "", "toString", "mulaw"]) expect(codeOf(() => parseRawCodec(bad))).toBe("unsupported_codec");
  });

  test("sample rates: required; G.711 8000–48000; G.722 8000 or 16000 (decoded at 16 kHz)", () => {
    expect(codeOf(() => rawAudioOf("pcmu", undefined, W))).toBe("invalid_sample_rate");
    expect(codeOf(() => rawAudioOf("pcmu", "", W))).toBe("invalid_sample_rate");
    for (const bad of ["7999", "48001", "8k", "-8000", "8000.5"]) expect(codeOf(() => rawAudioOf("pcma", bad, W))).toBe("invalid_sample_rate");
    for (const bad of ["44100", "24000"]) expect(codeOf(() => rawAudioOf("g722", bad, W))).toBe("invalid_sample_rate");
    expect(rawAudioOf("pcmu", "8000", W)).toEqual({ codec: "pcmu", sampleRate: 8000 });
    expect(rawAudioOf("alaw", "48000", W)).toEqual({ codec: "pcma", sampleRate: 48000 });
    expect(rawAudioOf("g722", "8000", W)).toEqual({ codec: "g722", sampleRate: 16000 });
    expect(codeOf(() => rawAudioOf("amr", "8000", W))).toBe("unsupported_codec");
  });

  test("G.711 bytes become a streaming WAV the decoder reads with its own tables", async () => {
    for (const [name, codec, kind] of [["pcmu-8k.raw", "pcmu", "mulaw"], ["pcma-8k.raw", "pcma", "alaw"]] as const) {
      const raw = new Uint8Array(readFileSync(join(FIX, name)));
      const wav = await collect(rawAsWav([raw.subarray(0, 100), raw.subarray(100)], { codec, sampleRate: 8000 }));
      expect(wav.length).toBe(44 + raw.length);
      expect(Buffer.from(wav.subarray(44)).equals(Buffer.from(raw))).toBe(true);
      const direct = new Float32Array(raw.length);
      convert(kind, 1, 1, raw, 0, raw.length, direct, 0);
      // 8 kHz → 16 kHz: twice the samples, same energy
      const pcm = await readAudio(wav);
      expect(Math.abs(pcm.length - 2 * raw.length)).toBeLessThan(64);
      const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
      expect(Math.abs(rms(pcm) - rms(direct))).toBeLessThan(0.01 * rms(direct) + 1e-4);
    }
  });

  test("G.722 bytes become 16 kHz PCM16 WAV; an empty input stays empty", async () => {
    const raw = new Uint8Array(readFileSync(join(FIX, "g722.raw")));
    const wav = await collect(rawAsWav(raw, { codec: "g722", sampleRate: 16000 }));
    expect(wav.length).toBe(44 + 4 * raw.length);
    expect(Buffer.from(wav.subarray(44)).equals(readFileSync(join(FIX, "g722.s16")))).toBe(true);
    expect((await collect(rawAsWav([new Uint8Array(0)], { codec: "g722", sampleRate: 16000 }))).length).toBe(0);
  });
});

describe("G.722 in WAV (format tag 0x028F, ffmpeg -c:a g722; 0x0064)", () => {
  test("the payload decodes as the raw stream does: ffmpeg's own decoding, at 16 kHz", async () => {
    const wav = new Uint8Array(readFileSync(join(FIX, "g722.wav")));
    const ref = new Int16Array(new Uint8Array(readFileSync(join(FIX, "g722.s16"))).buffer);
    const pcm = await readAudio(wav);
    expect(pcm.length).toBe(ref.length);
    let diff = 0;
    for (let i = 0; i < ref.length; i++) if (Math.round(pcm[i]! * 32768) !== ref[i]) diff++;
    expect(diff).toBe(0);
  });

  test("tag 0x0064 is the same codec; stereo G.722 is refused by name", async () => {
    const wav = new Uint8Array(readFileSync(join(FIX, "g722.wav")));
    const legacy = wav.slice();
    legacy[20] = 0x64;
    legacy[21] = 0x00;
    expect((await readAudio(legacy)).length).toBe((await readAudio(wav)).length);
    const stereo = wav.slice();
    stereo[22] = 2;
    let code = "";
    try {
      await readAudio(stereo);
    } catch (e) {
      code = isGigasttError(e) ? `${e.code}: ${e.message}` : String(e);
    }
    expect(code).toStartWith("unsupported_format: WAV G.722 with 2 channels");
  });
});
