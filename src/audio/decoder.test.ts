import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GigasttError } from "../errors.ts";
import { readAudio } from "./load.ts";
import { detect } from "./sniff.ts";

const DIR = join(import.meta.dir, "..", "..", "test", "fixtures", "formats");
const file = (n: string) => new Uint8Array(readFileSync(join(DIR, n)));
/** the phrase is 3.5 s: 56000 samples at 16 kHz */
const PHRASE_SAMPLES = 56000;

async function rejection(p: Promise<unknown>): Promise<GigasttError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GigasttError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

describe("detect", () => {
  test("every fixture's container (and Ogg codec) from its first bytes", () => {
    const want: Record<string, string> = {
      "mp3-128k-mono.mp3": "MP3",
      "mp3-32k-mono.mp3": "MP3",
      "aac-adts.aac": "ADTS",
      "aac-96k.m4a": "MP4",
      "aac-video.mp4": "MP4",
      "vorbis-q4.ogg": "Ogg/Vorbis",
      "opus-32k.ogg": "Ogg/Opus",
      "flac-in.ogg": "Ogg/FLAC",
      "opus-live.webm": "WebM",
      "flac-16.flac": "FLAC",
      "mulaw-8k.wav": "WAV",
    };
    for (const [name, c] of Object.entries(want)) {
      const d = detect(file(name).subarray(0, 64))!;
      expect(`${name}: ${d.container}${d.codec ? `/${d.codec}` : ""}`).toBe(`${name}: ${c}`);
    }
  });
});

describe("AudioDecoder through readAudio", () => {
  test("each decoded fixture gives the phrase's length at 16 kHz", async () => {
    for (const name of ["mp3-128k-stereo.mp3", "mp3-32k-mono.mp3", "vorbis-q4.ogg", "opus-32k.ogg", "flac-24.flac", "flac-in.ogg", "mulaw-8k.wav", "alaw-8k.wav"]) {
      const a = await readAudio(file(name));
      expect(`${name}: ${a.length}`).toBe(`${name}: ${PHRASE_SAMPLES}`);
    }
    // live WebM Opus carries no end trim (encoder padding stays), ADTS keeps AAC's 1024-sample priming
    expect(Math.abs((await readAudio(file("opus-live.webm"))).length - PHRASE_SAMPLES)).toBeLessThan(400);
    expect(Math.abs((await readAudio(file("aac-adts.aac"))).length - PHRASE_SAMPLES)).toBeLessThanOrEqual(1400);
  });

  test("chunk size does not change the output (997-byte pushes equal one push)", async () => {
    for (const name of ["opus-live.webm", "opus-32k.ogg", "ima-adpcm-8k.wav", "aac-adts.aac"]) {
      const b = file(name);
      const whole = await readAudio(b);
      const bytes = Array.from({ length: Math.ceil(b.length / 997) }, (_, i) => b.subarray(i * 997, (i + 1) * 997));
      const chunks: Float32Array[] = [];
      const { decodeAudioStream } = await import("./load.ts");
      for await (const y of decodeAudioStream(bytes)) chunks.push(y);
      const n = chunks.reduce((s, c) => s + c.length, 0);
      expect(`${name}: ${n}`).toBe(`${name}: ${whole.length}`);
    }
  });

  test("a truncated file decodes its valid part", async () => {
    for (const name of ["mp3-128k-mono.mp3", "vorbis-q4.ogg", "opus-live.webm", "flac-16.flac", "aac-adts.aac"]) {
      const b = file(name);
      const half = await readAudio(b.subarray(0, Math.floor(b.length * 0.6)));
      expect(half.length).toBeGreaterThan(PHRASE_SAMPLES * 0.3);
      expect(half.length).toBeLessThan(PHRASE_SAMPLES * 0.9);
    }
  });

  test("damage in the middle: the rest still decodes, and the damage is reported", async () => {
    const b = file("opus-32k.ogg");
    const broken = b.slice();
    broken.fill(0x55, 6000, 6400);
    const warnings: string[] = [];
    const a = await readAudio(broken, { onWarnings: (w) => warnings.push(...w) });
    expect(a.length).toBeGreaterThan(PHRASE_SAMPLES * 0.8);
    expect(warnings.join("\n")).toContain("Opus: libopus");
  });

  test("MP4/M4A, index first or last, and the audio track of a video: the phrase's length, priming dropped", async () => {
    for (const name of ["aac-96k.m4a", "aac-96k-faststart.m4a", "aac-video.mp4"]) {
      const a = await readAudio(file(name));
      // the edit list drops the 1024-sample priming; AAC's last frame is padded to 1024 samples
      expect(`${name}: ${Math.abs(a.length - PHRASE_SAMPLES) <= 400}`).toBe(`${name}: true`);
    }
  });

  test("an MP4 whose index comes last is spilled to a temporary file, deleted afterwards", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "gigastt-spill-test-"));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      let seen = 0;
      const b = file("aac-96k.m4a");
      const chunks = Array.from({ length: Math.ceil(b.length / 4096) }, (_, i) => b.subarray(i * 4096, (i + 1) * 4096));
      async function* slow() {
        for (const c of chunks) {
          seen = Math.max(seen, readdirSync(tmp).length);
          yield c;
        }
      }
      const { decodeAudioStream } = await import("./load.ts");
      let n = 0;
      for await (const y of decodeAudioStream(slow())) n += y.length;
      expect(n).toBeGreaterThan(PHRASE_SAMPLES - 400);
      expect(seen).toBe(1); // the spill folder existed while the media streamed in
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("MP4 without an audio track / ending before its index → named errors", async () => {
    const v = await rejection(readAudio(file("video-only.mp4")));
    expect(v.code).toBe("unsupported_format");
    expect(v.message).toBe("MP4 video without an audio track");
    const cut = file("aac-96k.m4a");
    const e = await rejection(readAudio(cut.subarray(0, 20000)));
    expect(e.code).toBe("invalid_audio");
    expect(e.message).toContain("without its index");
  });

  test("Matroska with another codec → unsupported_format naming the codec", async () => {
    // EBML header, then a Segment holding Tracks/TrackEntry(number 1, audio, A_AC3) and a Cluster
    const el = (id: number[], body: number[]) => [...id, 0x80 | body.length, ...body];
    const entry = el([0xae], [...el([0xd7], [1]), ...el([0x83], [2]), ...el([0x86], [..."A_AC3"].map((c) => c.charCodeAt(0)))]);
    const bytes = Uint8Array.from([
      ...el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], [..."webm"].map((c) => c.charCodeAt(0)))),
      0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      ...el([0x16, 0x54, 0xae, 0x6b], entry),
      0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      ...new Array(40).fill(0xec).flatMap(() => [0xec, 0x80]),
    ]);
    const e = await rejection(readAudio(bytes));
    expect(e.code).toBe("unsupported_format");
    expect(e.message).toContain("AC-3 in Matroska");
  });
});
