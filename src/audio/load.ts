/**
 * Audio loading: bytes (a stream, a buffer, a file or stdin) of any supported
 * container (see decoder.ts) → 16 kHz mono float chunks. Memory stays bounded
 * for streams: bytes are decoded and resampled as they arrive, in slices of the
 * decoder's size (see AudioDecoder.sliceBytes), and the event loop is given a
 * turn whenever decoding has held it for YIELD_MS. Compressed codecs decode in a
 * decode Worker (remote.ts): this thread only resamples.
 *
 * Errors (GigasttError): `invalid_audio` (no recognisable or decodable audio,
 * broken header, empty input unless `emptyCode` says otherwise),
 * `unsupported_format` (a recognised container or codec that is not decoded:
 * the message names it and says how to convert), `audio_too_short` (under
 * 20 ms), `audio_too_long` (over `maxSeconds`, detected as soon as that much
 * audio has arrived). Damage after some audio was decoded is not an error: the
 * valid part is returned and `onWarnings` hears about the rest.
 */
import { open } from "node:fs/promises";
import { GigasttError } from "../errors.ts";
import { SAMPLE_RATE } from "../types.ts";
import { AudioDecoder, type Planar, type StreamInfo } from "./decoder.ts";
import { Resampler } from "./resample.ts";
import { concatSamples } from "./wav.ts";

/** Shortest audio accepted: 20 ms at 16 kHz (one feature frame needs 320 samples). */
export const MIN_SAMPLES = 320;
/** Decoding holds the event loop at most about this long before it yields a turn. */
const YIELD_MS = 8;
/** Source samples resampled at once (about 1 ms of work at 44.1 kHz → 16 kHz). */
const RESAMPLE_PIECE = 8192;
/** A garbage-collection hint (asynchronous) after every this many seconds of decoded audio. */
const GC_EVERY_SECONDS = 60;
/** Read size for files and stdin. */
const READ_BYTES = 256 * 1024;

export interface AudioLoadOptions {
  /** reject audio longer than this (seconds) with `audio_too_long` */
  maxSeconds?: number;
  /** error code for zero bytes of input (default `invalid_audio`; the server uses `empty_body`) */
  emptyCode?: "invalid_audio" | "empty_body";
  /** reject audio with fewer 16 kHz samples than this (default 320 = 20 ms) with `audio_too_short` */
  minSamples?: number;
  /** called once when the stream's format is known */
  onFormat?: (info: StreamInfo) => void;
  /** called once at the end when damage was met (the valid part was decoded) */
  onWarnings?: (warnings: readonly string[]) => void;
  /** decode compressed codecs on this thread instead of the decode Worker (benchmarks) */
  inProcess?: boolean;
}

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ReadableStream<Uint8Array>;

async function* iterate(src: ByteSource | Uint8Array): AsyncGenerator<Uint8Array> {
  if (src instanceof Uint8Array) {
    yield src;
    return;
  }
  if (Symbol.asyncIterator in src || Symbol.iterator in src) {
    for await (const chunk of src as AsyncIterable<Uint8Array>) yield chunk;
    return;
  }
  const reader = (src as ReadableStream<Uint8Array>).getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function tooLong(maxSeconds: number): GigasttError {
  return new GigasttError("audio_too_long", `the audio is longer than the allowed ${maxSeconds} s`, { details: { max_seconds: maxSeconds } });
}

/**
 * Decode a WAV byte stream into 16 kHz mono chunks. Nothing is yielded until
 * at least `minSamples` samples exist, so too-short audio fails before any
 * output; `audio_too_long` is thrown as soon as the limit is passed.
 */
export async function* decodeAudioStream(src: ByteSource | Uint8Array, opts: AudioLoadOptions = {}): AsyncGenerator<Float32Array> {
  for await (const p of decodeCore(src, opts, false)) yield p[0]!;
}

/** one 16 kHz stream per source channel; `close()` stops the decode (and reading the input) for all of them */
export type ChannelStreams = AsyncGenerator<Float32Array>[] & { close(): void };

/**
 * Decode into one 16 kHz stream per source channel (`channels=split`): resolves once the
 * first audio is decoded (the header errors of decodeAudioStream reject it); each stream must be
 * consumed, concurrently, or all dropped with `close()`. The decoder runs ahead of the slowest
 * stream by at most SPLIT_AHEAD chunks, so memory stays bounded.
 */
export async function decodeChannels(src: ByteSource | Uint8Array, opts: AudioLoadOptions = {}): Promise<ChannelStreams> {
  const core = decodeCore(src, opts, true);
  const first = await core.next();
  const n = first.done ? 1 : first.value.length;
  const queues: Float32Array[][] = Array.from({ length: n }, () => []);
  if (!first.done) first.value.forEach((c, i) => queues[i]!.push(c));
  let done = first.done === true;
  let failure: unknown = null;
  let pulling: Promise<void> | null = null;
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const pull = (): Promise<void> => {
    pulling ??= (async () => {
      // the slowest stream is far behind: wait for it before decoding more
      while (!done && queues.some((q) => q.length >= SPLIT_AHEAD)) await new Promise<void>((r) => waiters.push(r));
      try {
        const r = await core.next();
        if (r.done) done = true;
        else r.value.forEach((c, i) => queues[i]!.push(c));
      } catch (e) {
        failure = e;
        done = true;
      }
    })().finally(() => {
      pulling = null;
    });
    return pulling;
  };
  async function* channel(i: number): AsyncGenerator<Float32Array> {
    try {
      for (;;) {
        const q = queues[i]!;
        if (q.length > 0) {
          const y = q.shift()!;
          wake();
          yield y;
          continue;
        }
        if (failure) throw failure;
        if (done) return;
        await pull();
      }
    } finally {
      queues[i] = [];
      wake();
    }
  }
  const close = () => {
    if (done) return;
    done = true;
    queues.forEach((_, i) => (queues[i] = []));
    wake();
    // after a pull in flight, if any: a running generator's return() waits its turn
    void core.return(undefined).catch(() => {});
  };
  return Object.assign(
    queues.map((_, i) => channel(i)),
    { close },
  );
}

/** the decoder runs at most this many chunks ahead of the slowest channel stream */
const SPLIT_AHEAD = 16;

/** bytes → 16 kHz planar chunks: one channel (the mean) or, with `split`, every channel */
async function* decodeCore(src: ByteSource | Uint8Array, opts: AudioLoadOptions, split: boolean): AsyncGenerator<Float32Array[]> {
  const minSamples = opts.minSamples ?? MIN_SAMPLES;
  const maxSeconds = opts.maxSeconds;
  const dec = new AudioDecoder(split, opts.inProcess === true);
  let resamplers: Resampler[] | null = null;
  let bytesIn = 0;
  let samplesIn = 0;
  let lastGc = 0;
  let total = 0;
  let held: Float32Array[][] | null = [];

  // hold output back until there is enough of it; then pass chunks straight through
  function* gate(y: Float32Array[]): Generator<Float32Array[]> {
    if (y.length === 0 || y[0]!.length === 0) return;
    total += y[0]!.length;
    if (held === null) {
      yield y;
      return;
    }
    held.push(y);
    if (total < minSamples) return;
    const h = held;
    const out = y.map((_, c) => concatSamples(h.map((p) => p[c]!)));
    held = null;
    yield out;
  }

  async function* feed(p: Planar): AsyncGenerator<Float32Array[]> {
    if (p.length === 0 || p[0]!.length === 0) return;
    const info = dec.info!;
    const planes = split ? p : [downmix(p)];
    if (!resamplers) {
      resamplers = planes.map(() => new Resampler(info.sampleRate, SAMPLE_RATE));
      opts.onFormat?.(info);
    }
    samplesIn += planes[0]!.length;
    if (samplesIn - lastGc > GC_EVERY_SECONDS * info.sampleRate) {
      // decoding churns through short-lived sample arrays whose memory sits outside the JS
      // heap's accounting: without a hint the collector lets RSS climb by tens of MB/hour
      lastGc = samplesIn;
      Bun.gc(false);
    }
    if (maxSeconds !== undefined && samplesIn > maxSeconds * info.sampleRate) throw tooLong(maxSeconds);
    const rs = resamplers;
    // a big decoded chunk (seconds of audio from the decode Worker) is resampled in pieces,
    // with a turn of the event loop whenever this thread has been busy for YIELD_MS
    const n = planes[0]!.length;
    for (let at = 0; at < n; at += RESAMPLE_PIECE) {
      const end = Math.min(n, at + RESAMPLE_PIECE);
      yield* gate(planes.map((x, c) => rs[c]!.process(at === 0 && end === n ? x : x.subarray(at, end))));
      if (performance.now() - held0 > YIELD_MS) {
        await turn();
        held0 = performance.now();
      }
    }
  }

  let held0 = performance.now();
  async function* drain(): AsyncGenerator<Float32Array[]> {
    for (let more = await dec.drain(); more; more = await dec.drain()) {
      yield* feed(more);
      if (performance.now() - held0 > YIELD_MS) {
        await turn();
        held0 = performance.now();
      }
    }
  }
  try {
    for await (const chunk of iterate(src)) {
      held0 = performance.now();
      for (let i = 0; i < chunk.length; ) {
        // small slices until the container is known (a compressed first chunk is not decoded in one go
        // on this thread), then the decoder's own size: large for WAV and for the decode Worker
        const size = dec.sliceBytes;
        const slice = chunk.subarray(i, Math.min(chunk.length, i + size));
        i += slice.length;
        bytesIn += slice.length;
        yield* feed(await dec.push(slice));
        yield* drain();
        if (performance.now() - held0 > YIELD_MS) {
          await turn();
          held0 = performance.now();
        }
      }
    }
    if (bytesIn === 0) throw new GigasttError(opts.emptyCode ?? "invalid_audio", opts.emptyCode === "empty_body" ? undefined : "empty input");
    yield* feed(await dec.finish());
    yield* drain();
    dec.end();
  } finally {
    await dec.close();
  }
  if (!resamplers && dec.info) opts.onFormat?.(dec.info);
  if (dec.warnings.length) opts.onWarnings?.(dec.warnings);
  if (resamplers) yield* gate((resamplers as Resampler[]).map((r) => r.flush()));
  if (total < minSamples) {
    const ms = Math.round((total / SAMPLE_RATE) * 1000);
    throw new GigasttError("audio_too_short", `the audio is too short to transcribe (${ms} ms; at least ${Math.round((minSamples / SAMPLE_RATE) * 1000)} ms needed)`);
  }
  if (held !== null) {
    const h = held as Float32Array[][];
    if (h.length) yield h[0]!.map((_, c) => concatSamples(h.map((p) => p[c]!)));
  }
}

/** Channel mean of planar PCM (the only channel itself when mono). */
export function downmix(p: Planar): Float32Array {
  if (p.length === 1) return p[0]!;
  const n = p[0]!.length;
  const out = new Float32Array(n);
  for (const c of p) for (let i = 0; i < n; i++) out[i] = out[i]! + c[i]!;
  const inv = 1 / p.length;
  for (let i = 0; i < n; i++) out[i] = out[i]! * inv;
  return out;
}

/** One event-loop turn (timers and I/O run), so a long decode never starves the server. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Decode a whole audio file (bytes, a path, or "-" for stdin) into 16 kHz mono samples. */
export async function readAudio(src: Uint8Array | string, opts: AudioLoadOptions = {}): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const y of decodeAudioStream(typeof src === "string" ? openAudioSource(src) : src, opts)) parts.push(y);
  return concatSamples(parts);
}

export interface SourceDeps {
  /** stdin stream used for "-" (default process.stdin) */
  stdin?: AsyncIterable<Uint8Array>;
}

/**
 * Bytes of a file, or of stdin for "-", read lazily in 256 KiB chunks. A file
 * that cannot be opened fails on the first iteration with a `usage` error
 * (a bad path argument) naming the path.
 */
export async function* openAudioSource(path: string, deps: SourceDeps = {}): AsyncGenerator<Uint8Array> {
  if (path === "-") {
    for await (const chunk of deps.stdin ?? (process.stdin as AsyncIterable<Uint8Array>)) {
      yield chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBufferLike);
    }
    return;
  }
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    for (;;) {
      const buf = new Uint8Array(READ_BYTES);
      let r: { bytesRead: number };
      try {
        r = await fh.read(buf, 0, READ_BYTES, null);
      } catch (e) {
        throw fileError(path, e);
      }
      if (r.bytesRead === 0) return;
      yield buf.subarray(0, r.bytesRead);
    }
  } finally {
    await fh.close().catch(() => {});
  }
}

function fileError(path: string, e: unknown): GigasttError {
  const code = (e as { code?: string }).code;
  const why =
    code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" || code === "EPERM" ? "permission denied" : (code ?? "read error");
  return new GigasttError("usage", `cannot read audio file ${path}: ${why}`, { cause: e });
}

