/**
 * Long audio end to end: a 10-minute tone recording (docs/MODEL.md §7.1) streamed in random
 * chunks through the Transcriber. The segmenter cuts it into ≤ 20 s segments (in pauses, and
 * by hard cut + overlap inside two 25 s stretches without a pause); every word comes back once,
 * in order, with its absolute start within ±0.1 s of its tone's onset; memory stays bounded.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Transcriber } from "../src/engine/transcriber.ts";
import { Segmenter } from "../src/segment/segmenter.ts";
import type { Word } from "../src/types.ts";
import { DEFAULT_TONE_PIECES, makeToneModelDir, piecesToText, toneFrequency } from "./helpers/tone.ts";
import { rng } from "./helpers/wav.ts";

const SR = 16000;
const MINUTES = 10;
const AMP = 0.5;

interface Tone {
  readonly piece: number;
  /** first sample */
  readonly at: number;
  readonly len: number;
}

/**
 * The recording as a list of tones: phrases of 3–12 pieces (0.25–0.4 s tones, 0–0.12 s gaps)
 * separated by 0.35–2 s pauses; at 3 and 7 minutes a 70-piece phrase (≈ 25 s, no pause).
 * Phrases start with a word piece; no piece follows itself (the tone model's contract).
 */
function schedule(seed: number, seconds: number): Tone[] {
  const r = rng(seed);
  const words = DEFAULT_TONE_PIECES.map((p, k) => [p, k] as const).filter(([p]) => p.startsWith("▁")).map(([, k]) => k);
  const tones: Tone[] = [];
  let pos = Math.round(0.5 * SR);
  let last = -1;
  const long = new Set([180, 420]);
  while (pos < (seconds - 30) * SR) {
    const longNow = [...long].find((s) => pos >= s * SR);
    if (longNow !== undefined) long.delete(longNow);
    const n = longNow !== undefined ? 70 : 3 + Math.floor(r() * 10);
    for (let i = 0; i < n; i++) {
      let k: number;
      do k = i === 0 ? words[Math.floor(r() * words.length)]! : Math.floor(r() * DEFAULT_TONE_PIECES.length);
      while (k === last);
      const len = Math.round((0.25 + r() * 0.15) * SR);
      tones.push({ piece: k, at: pos, len });
      last = k;
      pos += len + Math.round(r() * 0.12 * SR);
    }
    pos += Math.round((0.35 + r() * 1.65) * SR);
  }
  return tones;
}

/** Renders [from, from + n) of the recording. */
function render(tones: readonly Tone[], from: number, n: number, firstTone: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = firstTone; i < tones.length && tones[i]!.at < from + n; i++) {
    const t = tones[i]!;
    const w = (2 * Math.PI * toneFrequency(t.piece)) / SR;
    const a = Math.max(from, t.at);
    const b = Math.min(from + n, t.at + t.len);
    for (let s = a; s < b; s++) out[s - from] = AMP * Math.sin(w * (s - t.at));
  }
  return out;
}

/** The recording in random chunks of 10 ms – 3 s, generated on the fly (never held whole). */
async function* chunks(tones: readonly Tone[], total: number, seed: number): AsyncGenerator<Float32Array> {
  const r = rng(seed);
  let first = 0;
  for (let pos = 0; pos < total; ) {
    const n = Math.min(total - pos, Math.round((0.01 + r() * 3) * SR));
    while (first < tones.length && tones[first]!.at + tones[first]!.len <= pos) first++;
    yield render(tones, pos, n, first);
    pos += n;
  }
}

const heapMB = () => {
  Bun.gc(true);
  return process.memoryUsage().heapUsed / 2 ** 20;
};

let transcriber: Transcriber;
beforeAll(async () => {
  transcriber = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 2 });
});
afterAll(() => transcriber.close());

describe("10-minute tone recording", () => {
  test("segments ≤ 20 s, exact transcript, absolute word starts within ±0.1 s, bounded memory", async () => {
    const total = MINUTES * 60 * SR;
    const tones = schedule(42, MINUTES * 60);
    const pieces = tones.map((t) => DEFAULT_TONE_PIECES[t.piece]!);
    const onsets = tones.filter((t) => DEFAULT_TONE_PIECES[t.piece]!.startsWith("▁")).map((t) => t.at / SR);

    // the segmenter alone: what the transcriber will decode
    const seg = new Segmenter();
    const spans: { start: number; length: number; overlap: number }[] = [];
    for await (const c of chunks(tones, total, 7)) for (const s of seg.push(c)) spans.push({ start: s.start, length: s.samples.length, overlap: s.overlap });
    for (const s of seg.flush()) spans.push({ start: s.start, length: s.samples.length, overlap: s.overlap });
    expect(spans.every((s) => s.length <= 20 * SR)).toBe(true);
    expect(spans.filter((s) => s.overlap > 0).length).toBeGreaterThanOrEqual(2); // the two long phrases
    expect(spans.length).toBeGreaterThanOrEqual(30);

    const before = heapMB();
    let peak = 0;
    let polled = 0;
    const streamed: Word[] = [];
    const spansSeen: { start: number; end: number }[] = [];
    const result = await transcriber.transcribeStream(chunks(tones, total, 7), {
      onSegment: (words, span) => {
        streamed.push(...words);
        spansSeen.push(span);
        if (++polled % 8 === 0) peak = Math.max(peak, heapMB() - before);
      },
    });
    peak = Math.max(peak, heapMB() - before);

    expect(result.duration).toBe(MINUTES * 60);
    expect(result.text).toBe(piecesToText(pieces));
    expect(result.words.length).toBe(onsets.length);
    const late = result.words.map((w, i) => Math.abs(w.start - onsets[i]!)).filter((d) => d > 0.1);
    expect(late).toEqual([]);
    for (let i = 1; i < result.words.length; i++) expect(result.words[i]!.start).toBeGreaterThan(result.words[i - 1]!.start);
    // streamed words are the final words, in order, each once
    expect(streamed).toEqual([...result.words]);
    // segment callbacks arrive in order and cover the recording
    for (let i = 1; i < spansSeen.length; i++) expect(spansSeen[i]!.start).toBeGreaterThanOrEqual(spansSeen[i - 1]!.start);
    expect(spansSeen.at(-1)!.end).toBe(MINUTES * 60);
    // the recording is 37.5 MB of float32; the main thread holds a few segments at a time
    expect(peak).toBeLessThan(24);
  }, 120_000);
});

/**
 * The real CLI on a 1-hour recording streamed to `gigastt transcribe -` (generated on the fly,
 * never on disk, 16 kHz mono PCM16 so that the hour takes seconds; other rates only add the
 * streaming resampler, whose state is a few KB). Every 10 s holds a 4-piece phrase, then silence.
 * Stated ceiling: once 10 minutes have gone through (Workers, JIT and GC heaps warm), the
 * process's peak RSS grows by less than 48 MB over the remaining 50 minutes, whose audio alone
 * is 96 MB of WAV and 192 MB as float32 samples.
 */
describe("1-hour file through the CLI", () => {
  const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
  const RATE = 16000;
  const BLOCK_SECONDS = 10;
  const WORDS = DEFAULT_TONE_PIECES.map((p, k) => [p, k] as const).filter(([p]) => p.startsWith("▁")).map(([, k]) => k);

  /** Block b: the 4 pieces WORDS[b+j], tones of 0.3 s every 0.4 s from 0.5 s, as mono int16. */
  function block(b: number): { bytes: Uint8Array; pieces: number[] } {
    const n = RATE * BLOCK_SECONDS;
    const pcm = new Int16Array(n);
    const pieces: number[] = [];
    for (let j = 0; j < 4; j++) {
      const k = WORDS[(b + j) % WORDS.length]!;
      pieces.push(k);
      const w = (2 * Math.PI * toneFrequency(k)) / RATE;
      const at = Math.round((0.5 + 0.4 * j) * RATE);
      for (let s = 0; s < 0.3 * RATE; s++) pcm[at + s] = Math.round(16384 * Math.sin(w * s));
    }
    return { bytes: new Uint8Array(pcm.buffer), pieces };
  }

  function header(dataBytes: number): Uint8Array {
    const v = new DataView(new ArrayBuffer(44));
    const ascii = (o: number, s: string) => [...s].forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
    ascii(0, "RIFF");
    v.setUint32(4, 36 + dataBytes, true);
    ascii(8, "WAVE");
    ascii(12, "fmt ");
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true);
    v.setUint16(22, 1, true);
    v.setUint32(24, RATE, true);
    v.setUint32(28, RATE * 2, true);
    v.setUint16(32, 2, true);
    v.setUint16(34, 16, true);
    ascii(36, "data");
    v.setUint32(40, dataBytes, true);
    return new Uint8Array(v.buffer);
  }

  const peakRssMB = (pid: number): number => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0; // the process has exited
    }
  };

  /** Streams `blocks` blocks into the CLI; returns its JSON, its peak RSS, and that peak once `warmBlocks` were written. */
  async function run(modelDir: string, blocks: number, warmBlocks: number): Promise<{ json: { duration: number; words: Word[] }; peakMB: number; warmMB: number; pieces: number[] }> {
    const proc = Bun.spawn(["bun", MAIN, "transcribe", "-", "--model-dir", modelDir, "--workers", "2", "--format", "json"], {
      env: { PATH: process.env.PATH ?? "", HOME: tmpdir() },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    let peakMB = 0;
    let warmMB = 0;
    const poll = setInterval(() => (peakMB = Math.max(peakMB, peakRssMB(proc.pid))), 50);
    const out = new Response(proc.stdout).text();
    const err = new Response(proc.stderr).text();
    const cache = new Map<number, ReturnType<typeof block>>();
    const pieces: number[] = [];
    proc.stdin.write(header(blocks * RATE * BLOCK_SECONDS * 2));
    for (let b = 0; b < blocks; b++) {
      const key = b % WORDS.length;
      if (!cache.has(key)) cache.set(key, block(key));
      const blk = cache.get(key)!;
      pieces.push(...blk.pieces);
      proc.stdin.write(blk.bytes);
      await proc.stdin.flush();
      peakMB = Math.max(peakMB, peakRssMB(proc.pid));
      if (b + 1 === warmBlocks) warmMB = peakMB;
    }
    await proc.stdin.end();
    const code = await proc.exited;
    clearInterval(poll);
    if (code !== 0) throw new Error(`gigastt transcribe exited ${code}: ${await err}`);
    return { json: JSON.parse(await out), peakMB, warmMB, pieces };
  }

  test("exact words with absolute times; peak RSS grows < 48 MB after the first 10 minutes", async () => {
    const blocks = 3600 / BLOCK_SECONDS;
    const r = await run(makeToneModelDir(), blocks, 600 / BLOCK_SECONDS);
    expect(r.json.duration).toBe(3600);
    expect(r.json.words.map((w) => w.word).join(" ")).toBe(piecesToText(r.pieces.map((k) => DEFAULT_TONE_PIECES[k]!)));
    const late = r.json.words.filter((w, i) => Math.abs(w.start - (Math.floor(i / 4) * BLOCK_SECONDS + 0.5 + 0.4 * (i % 4))) > 0.1);
    expect(late).toEqual([]);
    expect(r.warmMB).toBeGreaterThan(0);
    expect(r.peakMB - r.warmMB).toBeLessThan(48);
  }, 120_000);
});
