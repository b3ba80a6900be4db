/**
 * A fixed-seed fuzz corpus: mutated copies of a fixture of every container (flipped,
 * zeroed, inserted and deleted bytes, truncations) through the decoder. Every case
 * ends in audio or a catalogued error (`invalid_audio`, `unsupported_format`,
 * `audio_too_short`), never anything else, and never hangs: 2,600 cases on this thread,
 * and one in twenty of them again through the decode Worker, with the same outcome.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readAudio } from "../src/audio/load.ts";
import { isGigasttError } from "../src/errors.ts";

const DIR = join(import.meta.dir, "fixtures", "formats");
/** one file per container/codec */
const SEEDS = [
  "mp3-128k-mono.mp3",
  "mp3-32k-stereo.mp3",
  "aac-adts.aac",
  "aac-96k-faststart.m4a",
  "vorbis-q4.ogg",
  "opus-32k.ogg",
  "opus-live.webm",
  "vorbis.webm",
  "flac-16.flac",
  "flac-in.ogg",
  "mulaw-8k.wav",
  "ima-adpcm-8k.wav",
  "g722.wav",
];
/** cases per seed decoded on this thread (the codecs' robustness: fast, no messaging) */
const CASES_PER_SEED = 200;
/** of those, every this-many-th also goes through the decode Worker, as the server decodes */
const WORKER_EVERY = 20;
/** bytes of each seed the mutations work on: the header and the first frames */
const PREFIX = 6144;
/** ffmpeg puts 8 KiB of padding before the first FLAC frame */
const PREFIX_OF: Record<string, number> = { "flac-16.flac": 12288 };
const CATALOGUED = new Set(["invalid_audio", "unsupported_format", "audio_too_short"]);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const ops = 1 + Math.floor(r() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(r() * b.length * (r() < 0.6 ? 0.1 : 1)); // headers more often
    const op = Math.floor(r() * 5);
    if (op === 0) b[at] = Math.floor(r() * 256);
    else if (op === 1) b.fill(r() < 0.5 ? 0 : 0xff, at, at + 1 + Math.floor(r() * 64));
    else if (op === 2) {
      const ins = Uint8Array.from({ length: 1 + Math.floor(r() * 32) }, () => Math.floor(r() * 256));
      b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
    } else if (op === 3) b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + Math.floor(r() * 64))]);
    else b = b.subarray(0, Math.max(1, at));
  }
  return b;
}

async function outcome(bytes: Uint8Array, inProcess: boolean): Promise<string> {
  const hang = new Promise<string>((resolve) => setTimeout(() => resolve("hang"), 5000));
  const run = (async () => {
    try {
      await readAudio(bytes, { inProcess });
      return "ok";
    } catch (e) {
      return isGigasttError(e) ? e.code : `uncaught ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    }
  })();
  return Promise.race([run, hang]);
}

describe("decoder fuzz (fixed seed)", () => {
  for (const [i, name] of SEEDS.entries()) {
    test(name, async () => {
      const src = new Uint8Array(readFileSync(join(DIR, name))).subarray(0, PREFIX_OF[name] ?? PREFIX);
      const r = rng(1234 + i);
      const seen = new Map<string, number>();
      for (let k = 0; k < CASES_PER_SEED; k++) {
        const bytes = mutate(src, r);
        const o = await outcome(bytes, true);
        if (o !== "ok" && !CATALOGUED.has(o)) throw new Error(`${name} case ${k}: ${o}`);
        if (k % WORKER_EVERY === 0) expect(`${name} case ${k} in the Worker: ${await outcome(bytes, false)}`).toBe(`${name} case ${k} in the Worker: ${o}`);
        seen.set(o, (seen.get(o) ?? 0) + 1);
      }
      if (process.env.FUZZ_DEBUG) console.log(name, Object.fromEntries(seen));
      // the corpus reaches both outcomes: some mutations still decode, some are refused
      expect(seen.get("ok") ?? 0).toBeGreaterThan(0);
      expect(CASES_PER_SEED - (seen.get("ok") ?? 0)).toBeGreaterThan(0);
    });
  }
});
