/**
 * Audio decoding in the benchmark: decode speed (× real time, one thread, decode +
 * downmix + resampling to 16 kHz, 4 KiB slices as the server feeds them) for each codec,
 * on 60 s files made by Debian's ffmpeg from the benchmark's speech-like clip; and the
 * decode share of end-to-end time for the 16 s clip as MP3 and as M4A (target ≤ 5 %);
 * and the event-loop lag while a long MP3 and a long M4A upload (LAG_SECONDS each) are
 * decoded at the same time (p99 of the gaps between 1 ms timer ticks, target ≤ 20 ms:
 * wall clock, and this thread's own CPU time, which other load on the machine does not
 * inflate). Runs alone too (`bun scripts/bench/audio-decode.ts`: speeds and lag; with
 * `--model-dir DIR` also the share, `--share-only` just the share).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAudioStream } from "../../src/audio/load.ts";
import { type LoopLag, startLoopLag } from "../../test/helpers/loop-lag.ts";

/** length of each of the two uploads of the loop-lag measurement */
export const LAG_SECONDS = 600;

export const CODECS: Record<string, { ext: string; args: string[] }> = {
  "MP3 128k stereo 44.1 kHz": { ext: "mp3", args: ["-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k"] },
  "MP3 32k mono 16 kHz": { ext: "mp3", args: ["-ar", "16000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k"] },
  "M4A AAC-LC 96k 44.1 kHz": { ext: "m4a", args: ["-ar", "44100", "-ac", "1", "-c:a", "aac", "-b:a", "96k"] },
  "ADTS AAC-LC 48k 16 kHz": { ext: "aac", args: ["-ar", "16000", "-ac", "1", "-c:a", "aac", "-b:a", "48k", "-f", "adts"] },
  "Ogg Vorbis q4 44.1 kHz": { ext: "ogg", args: ["-ar", "44100", "-ac", "1", "-c:a", "libvorbis", "-q:a", "4"] },
  "Ogg Opus 32k": { ext: "opus", args: ["-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "ogg"] },
  "WebM Opus 32k": { ext: "webm", args: ["-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "webm"] },
  "FLAC 16 kHz": { ext: "flac", args: ["-ar", "16000", "-c:a", "flac"] },
  "WAV µ-law 8 kHz": { ext: "wav", args: ["-ar", "8000", "-c:a", "pcm_mulaw"] },
  "WAV IMA ADPCM 8 kHz": { ext: "wav", args: ["-ar", "8000", "-c:a", "adpcm_ima_wav"] },
  "WAV PCM16 16 kHz": { ext: "wav", args: ["-ar", "16000", "-c:a", "pcm_s16le"] },
};

function wav(samples: Float32Array, rate = 16000): Uint8Array {
  const b = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const s = (o: number, t: string) => [...t].forEach((c, i) => b.setUint8(o + i, c.charCodeAt(0)));
  s(0, "RIFF");
  b.setUint32(4, 36 + samples.length * 2, true);
  s(8, "WAVEfmt ");
  b.setUint32(16, 16, true);
  b.setUint16(20, 1, true);
  b.setUint16(22, 1, true);
  b.setUint32(24, rate, true);
  b.setUint32(28, rate * 2, true);
  b.setUint16(32, 2, true);
  b.setUint16(34, 16, true);
  s(36, "data");
  b.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) b.setInt16(44 + 2 * i, Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), true);
  return new Uint8Array(b.buffer);
}

function encode(dir: string, input: string, name: string, c: { ext: string; args: string[] }): Uint8Array {
  const out = join(dir, `${name.replace(/\W+/g, "_")}.${c.ext}`);
  const r = Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", input, ...c.args, out]);
  if (r.exitCode !== 0) throw new Error(`ffmpeg: ${r.stderr.toString().trim()}`);
  return new Uint8Array(readFileSync(out));
}

async function* slices(b: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += 65536) yield b.subarray(i, i + 65536);
}

async function decodeMs(b: Uint8Array): Promise<{ ms: number; seconds: number }> {
  const t = performance.now();
  let n = 0;
  for await (const y of decodeAudioStream(slices(b))) n += y.length;
  return { ms: performance.now() - t, seconds: n / 16000 };
}

/** CPU time of this process (every thread: the decode and inference Workers too), ms */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;

export interface AudioDecodeBench {
  /** codec → × real time */
  speed: Record<string, number | { error: string }>;
  /** a long MP3 and a long M4A decoded concurrently: loop lag (ms) */
  lag?: (Omit<LoopLag, "ticks"> & { ticks: number; seconds: number; ms: number }) | { error: string };
  /** 16 s clip as MP3 / M4A: decode ms, end-to-end ms, decode share; the same by CPU time (this process, Workers included) */
  share?: Record<string, { decode_ms: number; e2e_ms: number; share: number; decode_cpu_ms: number; e2e_cpu_ms: number; cpu_share: number } | { error: string }>;
}

/**
 * `clip`: 16 kHz mono samples; the speed files loop it to 60 s. `transcribe`: the
 * benchmark's default pipeline on 16 kHz chunks (for the share; omitted: speeds only).
 */
export async function benchAudioDecode(clip: Float32Array, reps: number, transcribe?: (audio: AsyncIterable<Float32Array>) => Promise<unknown>): Promise<AudioDecodeBench> {
  const dir = mkdtempSync(join(tmpdir(), "gigastt-bench-decode-"));
  try {
    const sixty = new Float32Array(60 * 16000);
    for (let o = 0; o < sixty.length; o += clip.length) sixty.set(clip.subarray(0, Math.min(clip.length, sixty.length - o)), o);
    writeFileSync(join(dir, "sixty.wav"), wav(sixty));
    writeFileSync(join(dir, "clip.wav"), wav(clip));
    const speed: AudioDecodeBench["speed"] = {};
    for (const [name, c] of Object.entries(CODECS)) {
      try {
        const b = encode(dir, join(dir, "sixty.wav"), name, c);
        await decodeMs(b); // WASM compiled, JIT warm
        const runs: number[] = [];
        let seconds = 0;
        for (let i = 0; i < reps; i++) {
          const r = await decodeMs(b);
          runs.push(r.ms);
          seconds = r.seconds;
        }
        speed[name] = Math.round(seconds / (median(runs) / 1000));
      } catch (e) {
        speed[name] = { error: e instanceof Error ? e.message : String(e) };
      }
    }
    const lag = await loopLag(dir, sixty);
    if (!transcribe) return { speed, lag };
    return { speed, lag, share: await shareIn(dir, reps, transcribe) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** decode share of end-to-end time for `clip` as MP3 and as M4A (the speeds and the loop lag left out) */
export async function decodeShare(clip: Float32Array, reps: number, transcribe: (audio: AsyncIterable<Float32Array>) => Promise<unknown>): Promise<NonNullable<AudioDecodeBench["share"]>> {
  const dir = mkdtempSync(join(tmpdir(), "gigastt-bench-share-"));
  try {
    writeFileSync(join(dir, "clip.wav"), wav(clip));
    return await shareIn(dir, reps, transcribe);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function shareIn(dir: string, reps: number, transcribe: (audio: AsyncIterable<Float32Array>) => Promise<unknown>): Promise<NonNullable<AudioDecodeBench["share"]>> {
  const share: NonNullable<AudioDecodeBench["share"]> = {};
  for (const name of ["MP3 128k stereo 44.1 kHz", "M4A AAC-LC 96k 44.1 kHz"]) {
    try {
      const b = encode(dir, join(dir, "clip.wav"), `clip ${name}`, CODECS[name]!);
      await transcribe(decodeAudioStream(slices(b)));
      const dec: number[] = [];
      const e2e: number[] = [];
      const decCpu: number[] = [];
      const e2eCpu: number[] = [];
      for (let i = 0; i < reps; i++) {
        let c = cpuMs();
        dec.push((await decodeMs(b)).ms);
        decCpu.push(cpuMs() - c);
        const t = performance.now();
        c = cpuMs();
        await transcribe(decodeAudioStream(slices(b)));
        e2e.push(performance.now() - t);
        e2eCpu.push(cpuMs() - c);
      }
      const [d, e, dc, ec] = [median(dec), median(e2e), median(decCpu), median(e2eCpu)];
      const ratio = (x: number, y: number) => Math.round((x / y) * 1e4) / 1e4;
      share[name] = { decode_ms: Math.round(d * 10) / 10, e2e_ms: Math.round(e), share: ratio(d, e), decode_cpu_ms: Math.round(dc), e2e_cpu_ms: Math.round(ec), cpu_share: ratio(dc, ec) };
    } catch (e) {
      share[name] = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  return share;
}

/** A long MP3 and a long M4A (the 60 s clip looped), decoded at once as two uploads; loop lag meanwhile. */
async function loopLag(dir: string, sixty: Float32Array): Promise<NonNullable<AudioDecodeBench["lag"]>> {
  try {
    const long = new Float32Array(LAG_SECONDS * 16000);
    for (let o = 0; o < long.length; o += sixty.length) long.set(sixty.subarray(0, Math.min(sixty.length, long.length - o)), o);
    writeFileSync(join(dir, "long.wav"), wav(long));
    const files = ["MP3 128k stereo 44.1 kHz", "M4A AAC-LC 96k 44.1 kHz"].map((n) => encode(dir, join(dir, "long.wav"), `long ${n}`, CODECS[n]!));
    const t = performance.now();
    const stop = startLoopLag();
    const got = await Promise.all(files.map((b) => decodeMs(b)));
    const lag = stop();
    const r = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
    return { ticks: lag.ticks, seconds: Math.round(got[0]!.seconds + got[1]!.seconds), ms: Math.round(performance.now() - t), wallP99: r(lag.wallP99)!, wallMax: r(lag.wallMax)!, cpuP99: r(lag.cpuP99), cpuMax: r(lag.cpuMax) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

if (import.meta.main) {
  // --model-dir DIR: also the decode share, with the default pipeline (1 Worker × 1 thread) on that model
  const { parseArgs } = await import("node:util");
  // --share-only: only the share (needs --model-dir)
  const { values } = parseArgs({ args: Bun.argv.slice(2), options: { "model-dir": { type: "string" }, reps: { type: "string" }, "share-only": { type: "boolean" } }, strict: true });
  const { speechLikeClip } = await import("./clip.ts");
  let transcribe: ((audio: AsyncIterable<Float32Array>) => Promise<unknown>) | undefined;
  let close = async () => {};
  if (values["model-dir"]) {
    const { Transcriber } = await import("../../src/engine/transcriber.ts");
    const t = await Transcriber.load({ modelDir: values["model-dir"], workers: 1, threadsPerWorker: 1 });
    transcribe = (audio) => t.transcribeStream(audio);
    close = () => t.close();
  }
  const reps = Number(values.reps ?? 5);
  if (values["share-only"] && transcribe) {
    console.log(`decode share of the 16 s clip: ${JSON.stringify(await decodeShare(speechLikeClip(16).samples, reps, transcribe))}`);
    await close();
    process.exit(0);
  }
  const r = await benchAudioDecode(speechLikeClip(16).samples, reps, transcribe);
  for (const [k, v] of Object.entries(r.speed)) console.log(`${k.padEnd(28)} ${typeof v === "number" ? `${v}×` : v.error}`);
  console.log(`loop lag, ${LAG_SECONDS} s MP3 + ${LAG_SECONDS} s M4A decoded at once: ${JSON.stringify(r.lag)}`);
  if (r.share) console.log(`decode share of the 16 s clip: ${JSON.stringify(r.share)}`);
  await close();
}
