/**
 * Decoded lengths against Debian's ffmpeg (test/fixtures/formats/ffmpeg-lengths.json,
 * written by ffmpeg-lengths.ts): every sample of the stream and no padding. Counted at
 * the decoder's own rate (Opus decodes at 16 kHz, ffmpeg at 48 kHz), through the decode
 * Worker, in 4 KiB chunks as an upload arrives.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AudioDecoder } from "../src/audio/decoder.ts";

const DIR = join(import.meta.dir, "fixtures", "formats");
const FFMPEG = JSON.parse(readFileSync(join(DIR, "ffmpeg-lengths.json"), "utf8")) as Record<string, { samples: number; rate: number }>;
/**
 * Where this decoder and ffmpeg 5.1 differ on purpose, in samples at ffmpeg's rate:
 * ADTS cannot signal the encoder's 1024 priming samples; ffmpeg keeps them, the decoder drops them.
 */
const EXPECTED_DIFF: Record<string, number> = { "aac-adts.aac": -1024 };

async function decodedLength(name: string): Promise<{ samples: number; rate: number }> {
  const b = new Uint8Array(readFileSync(join(DIR, name)));
  const d = new AudioDecoder();
  let n = 0;
  const add = (p: Float32Array[] | null) => {
    if (p?.length) n += p[0]!.length;
  };
  try {
    for (let i = 0; i < b.length; i += 4096) {
      add(await d.push(b.subarray(i, i + 4096)));
      for (let m = await d.drain(); m; m = await d.drain()) add(m);
    }
    add(await d.finish());
    for (let m = await d.drain(); m; m = await d.drain()) add(m);
    d.end();
  } finally {
    d.free();
  }
  return { samples: n, rate: d.info!.sampleRate };
}

describe("decoded length equals ffmpeg's", () => {
  for (const [name, ff] of Object.entries(FFMPEG)) {
    test(name, async () => {
      const got = await decodedLength(name);
      const atFfmpegRate = Math.round((got.samples * ff.rate) / got.rate);
      expect(atFfmpegRate).toBe(ff.samples + (EXPECTED_DIFF[name] ?? 0));
    });
  }
});
