#!/usr/bin/env bun
/**
 * Streams: what each idea of issue 14 buys, side by side in one process (no WebSocket: the
 * UtteranceStream of every live route, driven at real-time pace against a Transcriber).
 *
 *   bun scripts/bench/stream-ideas.ts [--model-dir DIR] [--streams 4,6] [--seconds 20] [--rounds 2]
 *
 * Variants, interleaved round by round (same load, same window):
 * - `window8`: int8 partial Worker, every partial re-decodes up to 8 s (before issue 14);
 * - `shrink4`: the same, but a partial that waited ≥ 50 ms for its Worker re-decodes at most 4 s (the default now);
 * - `shrink2`: the same with 2 s;
 * - `fp32`: no partial encoder (partials on the main Workers ahead of finals), 4 s under load.
 * Per trial: partial and final latency (as `server-load.ts` defines them), partials per second of
 * speech, seconds of audio encoded per second of stream (partials, finals), and CPU seconds of this
 * process per second of stream — the figure that survives a machine shared with other work best:
 * an idle machine with C cores sustains at most C ÷ that many streams.
 */
import { parseArgs } from "node:util";
import { Transcriber } from "../../src/engine/transcriber.ts";
import type { ModelFiles } from "../../src/model/files.ts";
import { STREAM_SEGMENTER, type UtteranceEvent, UtteranceStream, type UtteranceStreamOptions } from "../../src/stream/utterances.ts";
import type { Word } from "../../src/types.ts";
import { CLIP_RATE, speechLikeClip } from "./clip.ts";
import { percentile, round } from "./stats.ts";

export interface IdeaTrial {
  readonly variant: string;
  readonly streams: number;
  readonly partialP50: number;
  readonly partialP95: number;
  readonly finalP50: number;
  readonly finalP95: number;
  readonly partialsPerSpeechSecond: number;
  /** partial decodes started, and the mean audio each re-decoded (s) */
  readonly partialDecodes: number;
  readonly partialWindowMean: number;
  /** seconds of audio the encoder saw per second of stream */
  readonly partialEncodedPerSecond: number;
  readonly finalEncodedPerSecond: number;
  /** CPU seconds of the process (all Workers) per second of stream */
  readonly cpuPerStreamSecond: number;
  readonly errors: number;
}

interface Variant {
  readonly name: string;
  readonly t: Transcriber;
  readonly opts: Partial<UtteranceStreamOptions>;
}

const FRAME = 0.1;

/** N streams of `seconds` each on `v`, at real-time pace. */
export async function ideaTrial(v: Variant, streams: number, seconds: number): Promise<IdeaTrial> {
  const minPause = STREAM_SEGMENTER.minPauseMs / 1000;
  const encoded = { partial: 0, final: 0, partials: 0 };
  let errors = 0;
  const clients = Array.from({ length: streams }, (_, i) => {
    const clip = speechLikeClip(seconds, 101 + i);
    const sent: number[] = [];
    const partials: { at: number; end: number }[] = [];
    const finals: { at: number; words: readonly Word[] }[] = [];
    // the window end of each partial decode, in order: a partial event is the newest decode's
    const partialEnds: number[] = [];
    const decoder = {
      decodeSegment: (samples: Float32Array, offset: number, o?: Parameters<Transcriber["decodeSegment"]>[2]) => {
        const len = samples.length / CLIP_RATE;
        if (o?.purpose === "partial") partialEnds.push(offset + len);
        return v.t.decodeSegment(samples, offset, o).then((w) => {
          encoded[o?.purpose === "partial" ? "partial" : "final"] += len;
          if (o?.purpose === "partial") encoded.partials++;
          return w;
        });
      },
      partialSlot: (signal?: AbortSignal) => v.t.partialSlot(signal),
    };
    const stream = new UtteranceStream({
      decoder,
      session: `idea-${i}`,
      ...v.opts,
      onEvent: (e: UtteranceEvent) => {
        const at = performance.now();
        if (e.type === "partial") partials.push({ at, end: partialEnds.at(-1) ?? 0 });
        else finals.push({ at, words: e.words });
      },
      onError: () => void errors++,
    });
    return { clip, sent, partials, finals, stream };
  });
  const frames = Math.ceil(seconds / FRAME);
  const step = Math.round(FRAME * CLIP_RATE);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now() + 20;
  for (let i = 0; i < frames; i++) {
    const wait = t0 + i * FRAME * 1000 - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    for (const c of clients) {
      c.stream.push(c.clip.samples.subarray(i * step, Math.min(c.clip.samples.length, (i + 1) * step)));
      c.sent.push(performance.now());
    }
  }
  await Promise.all(clients.map((c) => c.stream.finish()));
  const cpu = process.cpuUsage(cpu0);
  const sendTime = (sent: number[], s: number) => sent[Math.min(sent.length - 1, Math.max(0, Math.ceil(s / FRAME - 1e-9) - 1))]!;
  const pLat: number[] = [];
  const fLat: number[] = [];
  let rate = 0;
  for (const c of clients) {
    for (const p of c.partials) pLat.push(p.at - sendTime(c.sent, p.end));
    for (const f of c.finals) {
      const last = f.words.at(-1);
      const u = last && c.clip.utterances.find((x) => last.start >= x.start - 0.3 && last.start < x.end + minPause);
      if (!u || (u.end + minPause) * CLIP_RATE > c.clip.samples.length) continue;
      fLat.push(f.at - sendTime(c.sent, u.end + minPause));
    }
    rate += c.partials.length / c.clip.utterances.reduce((a, u) => a + (u.end - u.start), 0);
  }
  const streamSeconds = streams * seconds;
  return {
    variant: v.name,
    streams,
    partialP50: round(percentile(pLat, 50), 0),
    partialP95: round(percentile(pLat, 95), 0),
    finalP50: round(percentile(fLat, 50), 0),
    finalP95: round(percentile(fLat, 95), 0),
    partialsPerSpeechSecond: round(rate / streams, 2),
    partialDecodes: encoded.partials,
    partialWindowMean: round(encoded.partials ? encoded.partial / encoded.partials : 0, 2),
    partialEncodedPerSecond: round(encoded.partial / streamSeconds, 3),
    finalEncodedPerSecond: round(encoded.final / streamSeconds, 3),
    cpuPerStreamSecond: round((cpu.user + cpu.system) / 1e6 / streamSeconds, 3),
    errors,
  };
}

/** Every variant at every stream count, `rounds` times, interleaved. */
export async function streamIdeas(opts: { files: ModelFiles; partialEncoder: string; workers: number; streams: readonly number[]; seconds: number; rounds: number; log: (s: string) => void }): Promise<IdeaTrial[]> {
  const withInt8 = await Transcriber.fromFiles(opts.files, { workers: opts.workers, partialEncoder: opts.partialEncoder });
  const fp32 = await Transcriber.fromFiles(opts.files, { workers: opts.workers });
  const variants: Variant[] = [
    { name: "window8", t: withInt8, opts: { partialWindowUnderLoadSeconds: 8 } },
    { name: "shrink4", t: withInt8, opts: {} },
    { name: "shrink2", t: withInt8, opts: { partialWindowUnderLoadSeconds: 2 } },
    { name: "fp32", t: fp32, opts: {} },
  ];
  const out: IdeaTrial[] = [];
  try {
    // warm-up: one short trial on each Transcriber
    await ideaTrial(variants[0]!, 1, 4);
    await ideaTrial(variants[3]!, 1, 4);
    for (let r = 0; r < opts.rounds; r++) {
      for (const n of opts.streams) {
        for (const v of variants) {
          const x = await ideaTrial(v, n, opts.seconds);
          out.push(x);
          opts.log(`stream ideas round ${r + 1}, ${v.name} × ${n}: partial p50/p95 ${x.partialP50}/${x.partialP95} ms, final p50/p95 ${x.finalP50}/${x.finalP95} ms, ${x.partialsPerSpeechSecond} partials/s of speech, ${x.partialDecodes} partial decodes of ${x.partialWindowMean} s, encoded/s partial ${x.partialEncodedPerSecond} final ${x.finalEncodedPerSecond}, CPU s per stream-second ${x.cpuPerStreamSecond}`);
        }
      }
    }
  } finally {
    await withInt8.close();
    await fp32.close();
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { "model-dir": { type: "string" }, streams: { type: "string" }, seconds: { type: "string" }, rounds: { type: "string" }, workers: { type: "string" }, json: { type: "string" } },
    strict: true,
  });
  const { resolve, join } = await import("node:path");
  const { selectModelFiles } = await import("../../src/model/files.ts");
  const { useMappedLayout } = await import("../../src/store/mapped-model.ts");
  const { writeMappedLayout } = await import("../../src/store/mapped.ts");
  const { quantizeInWorker } = await import("../../src/quantize/in-worker.ts");
  const { existsSync } = await import("node:fs");
  const { availableParallelism } = await import("node:os");
  const dir = resolve(values["model-dir"] ?? join(import.meta.dir, "../../.bench/model"));
  const log = (s: string) => console.error(`[stream-ideas ${new Date().toISOString().slice(11, 19)}] ${s}`);
  const int8 = join(dir, "v3_e2e_rnnt_encoder.int8.onnx");
  if (!existsSync(int8)) await quantizeInWorker({ modelDir: dir, mode: "dynamic" });
  const m = await useMappedLayout({ files: selectModelFiles(dir, "fp32"), partialEncoder: int8, log: { info: log, warn: log }, derive: async (s) => writeMappedLayout(s) });
  const trials = await streamIdeas({
    files: m.files,
    partialEncoder: m.partialEncoder ?? int8,
    workers: Number(values.workers ?? availableParallelism()),
    streams: (values.streams ?? "4,6").split(",").map(Number),
    seconds: Number(values.seconds ?? 20),
    rounds: Number(values.rounds ?? 2),
    log,
  });
  const text = `${JSON.stringify(trials, null, 1)}\n`;
  if (values.json) await Bun.write(values.json, text);
  else process.stdout.write(text);
  process.exit(0);
}
