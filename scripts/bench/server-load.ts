/**
 * Load generators for the server benchmark, run against `gigastt serve` started in the
 * benchmark's own process (so the engine's decode calls can be observed exactly):
 *
 * - `streamTrial`: N WebSocket clients each send a different speech-like clip as 16 kHz
 *   PCM16 in 100 ms frames at real-time pace, then `stop`.
 *   partial latency = receipt of a partial − send time of the last byte it covers (the end of
 *   the audio the partial's decode was given, read from the recorded decode calls);
 *   final latency = receipt of an utterance's final − send time of the last byte of its
 *   closing pause (utterance end + the segmenter's 500 ms minimum pause).
 * - `restThroughput`: POST /v1/transcribe of a 5 s WAV with C requests in flight.
 */
import type { Word } from "../../src/types.ts";
import { CLIP_RATE, type Clip, speechLikeClip, toPcm16, toWav } from "./clip.ts";
import { LoopLag, percentile, round } from "./stats.ts";

/** One decode call seen by the engine wrapper. */
export interface DecodeRecord {
  readonly session: string;
  readonly offset: number;
  readonly end: number;
  readonly done: number;
  readonly head: Float32Array;
  readonly words: readonly Word[];
}

export const FRAME_SECONDS = 0.1;
const FRAME_SAMPLES = Math.round(FRAME_SECONDS * CLIP_RATE);

interface ClientLog {
  clip: Clip;
  pcm: Uint8Array;
  sent: number[];
  partials: { at: number; words: Word[] }[];
  finals: { at: number; words: Word[] }[];
  errors: string[];
  closed: boolean;
}

export interface StreamTrialResult {
  readonly streams: number;
  readonly seconds: number;
  readonly partialP50: number;
  readonly partialP95: number;
  readonly finalP50: number;
  readonly finalP95: number;
  /** partial messages per second of speech, mean over streams */
  readonly partialsPerSpeechSecond: number;
  readonly partialSamples: number;
  readonly finalSamples: number;
  readonly errors: readonly string[];
  readonly loopLagP99: number;
}

export async function streamTrial(opts: {
  port: number;
  streams: number;
  seconds: number;
  decodes: DecodeRecord[];
  minPauseSeconds: number;
}): Promise<StreamTrialResult> {
  const logs: ClientLog[] = Array.from({ length: opts.streams }, (_, i) => {
    const clip = speechLikeClip(opts.seconds, 101 + i);
    return { clip, pcm: toPcm16(clip.samples), sent: [], partials: [], finals: [], errors: [], closed: false };
  });
  opts.decodes.length = 0;
  const sockets = await Promise.all(
    logs.map(
      (log) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${opts.port}/v1/ws?sample_rate=16000`);
          ws.binaryType = "arraybuffer";
          const timer = setTimeout(() => reject(new Error("no ready message within 30 s")), 30_000);
          ws.onmessage = (ev) => {
            const at = performance.now();
            const msg = JSON.parse(String(ev.data)) as { type: string; words?: Word[]; message?: string; code?: string };
            if (msg.type === "ready") {
              clearTimeout(timer);
              resolve(ws);
            } else if (msg.type === "partial") log.partials.push({ at, words: msg.words ?? [] });
            else if (msg.type === "final") log.finals.push({ at, words: msg.words ?? [] });
            else if (msg.type === "error") log.errors.push(`${msg.code}: ${msg.message}`);
          };
          ws.onclose = () => {
            log.closed = true;
          };
          ws.onerror = () => log.errors.push("socket error");
        }),
    ),
  );
  const lag = new LoopLag();
  lag.start();
  // one pacing loop for every client: frame i of every stream goes out at t0 + i·100 ms
  const frames = Math.ceil(logs[0]!.clip.samples.length / FRAME_SAMPLES);
  const t0 = performance.now() + 50;
  for (let i = 0; i < frames; i++) {
    const due = t0 + i * FRAME_SECONDS * 1000;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    logs.forEach((log, k) => {
      const from = i * FRAME_SAMPLES * 2;
      sockets[k]!.send(log.pcm.subarray(from, Math.min(log.pcm.length, from + FRAME_SAMPLES * 2)));
      log.sent.push(performance.now());
    });
  }
  for (const ws of sockets) ws.send(JSON.stringify({ type: "stop" }));
  const deadline = performance.now() + 60_000;
  while (logs.some((l) => !l.closed) && performance.now() < deadline) await Bun.sleep(20);
  const lagSamples = lag.stop();
  for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.close();

  // which engine session is which client: the first samples of a decode match the client's audio
  const sessionOf = new Map<string, number>();
  for (const d of opts.decodes) {
    if (sessionOf.has(d.session)) continue;
    const at = Math.round(d.offset * CLIP_RATE);
    const k = logs.findIndex((l) => d.head.every((v, j) => Math.abs(v - pcmAt(l.pcm, at + j)) < 1e-6));
    if (k >= 0) sessionOf.set(d.session, k);
  }
  const sendTime = (log: ClientLog, seconds: number) => log.sent[Math.min(log.sent.length - 1, Math.max(0, Math.ceil(seconds / FRAME_SECONDS - 1e-9) - 1))]!;
  const partialLat: number[] = [];
  const finalLat: number[] = [];
  const rates: number[] = [];
  const errors: string[] = [];
  logs.forEach((log, k) => {
    errors.push(...log.errors.map((e) => `stream ${k}: ${e}`));
    if (!log.closed) errors.push(`stream ${k}: not closed 60 s after stop`);
    const mine = opts.decodes.filter((d) => sessionOf.get(d.session) === k);
    for (const p of log.partials) {
      const last = p.words.at(-1);
      if (!last) continue;
      const d = mine
        .filter((x) => x.done <= p.at + 0.5 && x.words.some((w) => w.word === last.word && Math.abs(w.start - last.start) < 0.011))
        .at(-1);
      if (d) partialLat.push(p.at - sendTime(log, d.end));
    }
    for (const f of log.finals) {
      const last = f.words.at(-1);
      if (!last) continue;
      const u = log.clip.utterances.find((x) => last.start >= x.start - 0.3 && last.start < x.end + opts.minPauseSeconds);
      if (!u) continue;
      const pauseEnd = u.end + opts.minPauseSeconds;
      if (pauseEnd * CLIP_RATE > log.clip.samples.length) continue; // closed by `stop`, not by a pause
      finalLat.push(f.at - sendTime(log, pauseEnd));
    }
    const speech = log.clip.utterances.reduce((a, u) => a + (u.end - u.start), 0);
    rates.push(log.partials.length / speech);
  });
  return {
    streams: opts.streams,
    seconds: opts.seconds,
    partialP50: round(percentile(partialLat, 50), 0),
    partialP95: round(percentile(partialLat, 95), 0),
    finalP50: round(percentile(finalLat, 50), 0),
    finalP95: round(percentile(finalLat, 95), 0),
    partialsPerSpeechSecond: round(rates.reduce((a, b) => a + b, 0) / rates.length, 2),
    partialSamples: partialLat.length,
    finalSamples: finalLat.length,
    errors,
    loopLagP99: round(percentile(lagSamples, 99), 1),
  };
}

function pcmAt(pcm: Uint8Array, i: number): number {
  if (i * 2 + 1 >= pcm.length) return Number.NaN;
  const v = (pcm[i * 2]! | (pcm[i * 2 + 1]! << 8)) << 16 >> 16;
  return v / 32768;
}

export interface RestResult {
  readonly clips: number;
  readonly seconds: number;
  readonly clipsPerSecond: number;
  readonly xRealtime: number;
  readonly concurrency: number;
  readonly latencyP50: number;
  readonly latencyP95: number;
  readonly loopLagP50: number;
  readonly loopLagP99: number;
  readonly loopLagMax: number;
  readonly errors: number;
}

/** C requests in flight for `seconds`; the event-loop lag of this process is sampled meanwhile. */
export async function restThroughput(opts: { port: number; concurrency: number; seconds: number; clipSeconds?: number }): Promise<RestResult> {
  const clipSeconds = opts.clipSeconds ?? 5;
  const wav = toWav(speechLikeClip(clipSeconds, 55).samples);
  const url = `http://127.0.0.1:${opts.port}/v1/transcribe`;
  const lat: number[] = [];
  let errors = 0;
  // warm-up: one request per worker slot
  await Promise.all(Array.from({ length: opts.concurrency }, () => fetch(url, { method: "POST", body: wav }).then((r) => r.arrayBuffer())));
  const lag = new LoopLag();
  lag.start();
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const r = await fetch(url, { method: "POST", body: wav });
        await r.arrayBuffer();
        if (r.ok) {
          done++;
          lat.push(performance.now() - t);
        } else errors++;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const lagSamples = lag.stop();
  return {
    clips: done,
    seconds: round(wall, 1),
    clipsPerSecond: round(done / wall, 2),
    xRealtime: round((done * clipSeconds) / wall, 2),
    concurrency: opts.concurrency,
    latencyP50: round(percentile(lat, 50), 0),
    latencyP95: round(percentile(lat, 95), 0),
    loopLagP50: round(percentile(lagSamples, 50), 1),
    loopLagP99: round(percentile(lagSamples, 99), 1),
    loopLagMax: round(Math.max(...lagSamples), 1),
    errors,
  };
}
