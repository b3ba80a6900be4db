import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GigasttError } from "../errors.ts";
import { encodeWav, randomChunks, sine, wav16 } from "../../test/helpers/wav.ts";
import { decodeAudioStream, decodeChannels, openAudioSource, readAudio } from "./load.ts";
import { Pcm16Decoder } from "./pcm16.ts";
import { Resampler, resample } from "./resample.ts";

async function collect(src: AsyncIterable<Float32Array>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const y of src) out.push(y);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<GigasttError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GigasttError);
    return e as GigasttError;
  }
  throw new Error("expected a rejection");
}

async function* slowly(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}

const flat = (parts: Float32Array[]) => parts.flatMap((p) => Array.from(p));

describe("decodeAudioStream", () => {
  test("48 kHz stereo WAV → 16 kHz mono, equal to decoding + resampling the whole buffer", async () => {
    const left = sine(440, 48000, 1, 0.4);
    const right = sine(660, 48000, 1, 0.2);
    const bytes = encodeWav({ sampleRate: 48000, channels: [left, right], encoding: "float32" });
    const parts = await collect(decodeAudioStream(slowly(randomChunks(bytes, 4000, 3))));
    const mono = left.map((v, i) => (v + right[i]!) / 2);
    const expected = resample(mono, 48000);
    const got = flat(parts);
    expect(got.length).toBe(16000);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    expect(worst).toBeLessThan(1e-6);
    expect(parts.length).toBeGreaterThan(1); // streamed, not one buffer at the end
  });

  test("accepts a ReadableStream and a plain Uint8Array", async () => {
    const bytes = wav16(sine(300, 16000, 0.1));
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of randomChunks(bytes, 100, 1)) c.enqueue(chunk);
        c.close();
      },
    });
    expect(flat(await collect(decodeAudioStream(stream))).length).toBe(1600);
    expect((await readAudio(bytes)).length).toBe(1600);
  });

  test("16 kHz PCM16 passes through with exact int16/32768 values", async () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.round(Math.sin(i) * 20000) / 32768);
    expect(Array.from(await readAudio(wav16(x)))).toEqual(Array.from(x));
  });

  test("audio_too_long is thrown as soon as maxSeconds is passed, before the rest arrives", async () => {
    const bytes = wav16(sine(300, 16000, 3));
    let pulled = 0;
    async function* counted() {
      for (const c of randomChunks(bytes, 1000, 2)) {
        pulled += c.length;
        yield c;
      }
    }
    const e = await rejection(collect(decodeAudioStream(counted(), { maxSeconds: 1 })));
    expect(e.code).toBe("audio_too_long");
    expect(pulled).toBeLessThan(16000 * 2 + 2000);
    // exactly at the limit is fine
    expect((await readAudio(wav16(sine(300, 16000, 1)), { maxSeconds: 1 })).length).toBe(16000);
  });

  test("audio_too_short below 20 ms, with nothing yielded first; 20 ms is enough", async () => {
    const yielded: Float32Array[] = [];
    const e = await rejection(
      (async () => {
        for await (const y of decodeAudioStream([wav16(new Float32Array(319))])) yielded.push(y);
      })(),
    );
    expect(e.code).toBe("audio_too_short");
    expect(yielded.length).toBe(0);
    expect((await rejection(readAudio(wav16(new Float32Array(0))))).code).toBe("audio_too_short");
    expect((await readAudio(wav16(new Float32Array(320)))).length).toBe(320);
    // 20 ms at 44.1 kHz (882 samples) → 320 samples
    expect((await readAudio(encodeWav({ sampleRate: 44100, channels: [new Float32Array(882)] }))).length).toBe(320);
  });

  test("empty input: invalid_audio by default, empty_body when asked", async () => {
    const a = await rejection(readAudio(new Uint8Array(0)));
    expect(a.code).toBe("invalid_audio");
    expect(a.message).toContain("empty");
    expect((await rejection(readAudio(new Uint8Array(0), { emptyCode: "empty_body" }))).code).toBe("empty_body");
  });

  test("AIFF → unsupported_format with the ffmpeg conversion hint", async () => {
    const aiff = new Uint8Array(80);
    aiff.set(new TextEncoder().encode("FORM\0\0\0\x48AIFF"));
    const e = await rejection(readAudio(aiff));
    expect(e.code).toBe("unsupported_format");
    expect(e.message).toContain("ffmpeg -i in.aiff -ar 16000 -ac 1 out.wav");
  });

  test("an MP3 header with no frames behind it → invalid_audio (nothing decodable)", async () => {
    const mp3 = Uint8Array.of(0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0x21, 0xff, 0xfb, 0x90, 0x64, 0, 0);
    const e = await rejection(readAudio(mp3));
    expect(e.code).toBe("invalid_audio");
    expect(e.message).toContain("MP3");
  });

  test("a truncated file decodes what is there", async () => {
    const bytes = wav16(sine(300, 16000, 1));
    expect((await readAudio(bytes.subarray(0, 44 + 8001))).length).toBe(4000);
  });

  test("onFormat reports the source format once", async () => {
    const seen: unknown[] = [];
    await readAudio(encodeWav({ sampleRate: 22050, channels: [sine(1, 22050, 0.1), sine(1, 22050, 0.1)] }), { onFormat: (f) => seen.push(f) });
    expect(seen).toEqual([{ container: "WAV", codec: "PCM", sampleRate: 22050, channels: 2 }]);
  });
});

describe("decodeChannels", () => {
  test("resolves with the first audio of every channel; close() drops them all and stops reading the input", async () => {
    const rate = 16000;
    const bytes = encodeWav({ sampleRate: rate, channels: [sine(440, rate, 1), sine(880, rate, 1)] });
    let reading = true;
    // a stereo upload that sends its first half and then stalls
    async function* stalled(): AsyncGenerator<Uint8Array> {
      try {
        yield bytes.subarray(0, 44 + 4 * 3200);
        await new Promise<void>(() => {});
      } finally {
        reading = false;
      }
    }
    const streams = await decodeChannels(stalled());
    expect(streams.length).toBe(2);
    expect(reading).toBe(true);
    streams.close();
    await Bun.sleep(10);
    expect(reading).toBe(false);
    // the streams end (nothing more comes), they do not wait for the stalled input
    expect(await Promise.race([collect(streams[0]!).then((c) => c.length), Bun.sleep(500).then(() => "waiting")])).toBe(0);
  });
});

describe("openAudioSource / readAudio(path)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gigastt-audio-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("reads a file by path in chunks", async () => {
    const file = join(dir, "a.wav");
    const x = sine(1000, 44100, 4);
    writeFileSync(file, encodeWav({ sampleRate: 44100, channels: [x] }));
    const chunks: number[] = [];
    for await (const c of openAudioSource(file)) chunks.push(c.length);
    expect(chunks.length).toBeGreaterThan(1);
    expect((await readAudio(file)).length).toBe(64000);
  });

  test('"-" reads the injected stdin', async () => {
    const bytes = wav16(sine(500, 16000, 0.5));
    const got: number[] = [];
    for await (const c of openAudioSource("-", { stdin: slowly(randomChunks(bytes, 999, 4)) })) got.push(...c);
    expect(got).toEqual(Array.from(bytes));
  });

  test("a missing file or a directory is a usage error naming the path", async () => {
    const missing = join(dir, "nope.wav");
    const e = await rejection(readAudio(missing));
    expect(e.code).toBe("usage");
    expect(e.message).toContain("nope.wav");
    expect(e.message).toContain("no such file");
    expect((await rejection(readAudio(dir))).code).toBe("usage");
  });
});

describe("every input path agrees", () => {
  test("WAV upload and raw PCM16 frames + Resampler give the same 16 kHz samples", async () => {
    for (const rate of [8000, 16000, 44100, 48000]) {
      const x = sine(523, rate, 0.7, 0.6);
      const wav = wav16(x, rate);
      const fromWav = flat(await collect(decodeAudioStream(slowly(randomChunks(wav, 3000, rate)))));
      const pcm = new Pcm16Decoder();
      const rs = new Resampler(rate);
      const fromPcm: number[] = [];
      for (const frame of randomChunks(wav.subarray(44), 1001, 7)) fromPcm.push(...rs.process(pcm.push(frame)));
      fromPcm.push(...rs.flush());
      expect(fromPcm).toEqual(fromWav);
    }
  });
});
