/**
 * One job's run: its stored audio through the same file pipeline as
 * `POST /v1/transcribe` and `gigastt transcribe` (decodeAudioStream → runFile → engine/offline.ts, or decodeChannels → one
 * runFile per channel → mergeChannels for `channels=split`), with every
 * segment checkpointed (resume.ts) and the transcript written atomically
 * before the job is marked done.
 */
import { decodeAudioStream, decodeChannels } from "../audio/load.ts";
import { namingInput, withInputName } from "../audio/input-name.ts";
import { wordsToText } from "../decode/detok.ts";
import { mergeChannels } from "../format/channels.ts";
import { buildSegments } from "../format/index.ts";
import { rawAsWav } from "../audio/raw.ts";
import type { SegmentDecoder } from "../stream/utterances.ts";
import { type FileRunOptions, runFile } from "../server/streaming/file.ts";
import type { TranscriptResult, Word } from "../types.ts";
import type { JobsDb } from "./db.ts";
import { type JobsFs, type JobsLayout, writeAtomic } from "./files.ts";
import { checkpointDecoder } from "./resume.ts";
import type { WorkerShare } from "./share.ts";
import type { JobParams, JobRow } from "./types.ts";

export interface RunContext {
  readonly row: JobRow;
  readonly db: JobsDb;
  readonly layout: JobsLayout;
  readonly fs: JobsFs;
  readonly decoder: SegmentDecoder;
  readonly share: WorkerShare;
  /** cancel or drain: stop at once (committed segments stay) */
  readonly signal: AbortSignal;
  readonly maxAudioSecs: number;
  /** unix seconds */
  now(): number;
  /** a segment was committed */
  onProgress(processedSeconds: number, percent: number): void;
  /** a final (in stream order; one channel's of a split job): the words transcribed so far grow by these */
  onFinal?(words: readonly Word[]): void;
  onInference?(seconds: number, audioSeconds: number): void;
  /** the audio was damaged: its valid part is transcribed (the result carries `warnings`) */
  onWarnings?(warnings: readonly string[]): void;
}

export interface RunOutcome {
  readonly result: TranscriptResult;
  /** segments answered from the checkpoint (a resumed run) */
  readonly reused: number;
  readonly decoded: number;
}

/** bytes of a file, counted as they are read */
async function* readCounted(path: string, counter: { read: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of Bun.file(path).stream()) {
    counter.read += chunk.length;
    yield chunk;
  }
}

/** Runs the job to its result file; throws the audio's or the engine's error, or the abort. */
export async function runJob(ctx: RunContext): Promise<RunOutcome> {
  const { row, db } = ctx;
  const params = JSON.parse(row.params) as JobParams;
  const counter = { read: 0 };
  const total = Math.max(1, row.bytes);
  const hotwords = params.hotwords;
  const inner: SegmentDecoder =
    hotwords === undefined ? ctx.decoder : { decodeSegment: (samples, offset, jobOpts) => ctx.decoder.decodeSegment(samples, offset, { ...jobOpts, hotwords }) };
  const decoder = checkpointDecoder({
    decoder: inner,
    share: ctx.share,
    done: db.segments(row.id),
    commit(key, words, endSeconds) {
      // bytes read run a little ahead of the decodes; 100 only once the result is stored
      const percent = Math.min(99, (counter.read / total) * 100);
      db.commitSegment(row.id, key, JSON.stringify(words), { processed_seconds: endSeconds, percent }, ctx.now());
      const now = db.get(row.id);
      if (now) ctx.onProgress(now.processed_seconds, now.percent);
    },
  });
  let warnings: readonly string[] = [];
  const audioOpts = {
    maxSeconds: ctx.maxAudioSecs,
    emptyCode: "empty_body" as const,
    onWarnings: (w: readonly string[]) => {
      warnings = w;
      ctx.onWarnings?.(w);
    },
  };
  const stored = readCounted(ctx.layout.audio(row.id), counter);
  const bytes = params.codec ? rawAsWav(stored, { codec: params.codec, sampleRate: params.sample_rate ?? 8000 }) : stored;
  const split = params.channels === "split";
  const fileOpts = (session: string): FileRunOptions => ({
    decoder,
    session,
    signal: ctx.signal,
    onDecodeError: () => false,
    onSegment: (words) => {
      // a split job's channels interleave: no running text for it
      if (!split && words.length > 0) ctx.onFinal?.(words);
    },
    ...(ctx.onInference ? { onInference: ctx.onInference } : {}),
  });
  let result: TranscriptResult;
  if (split) {
    const streams = await decodeChannels(bytes, audioOpts).catch((e: unknown) => {
      throw withInputName(e, row.filename);
    });
    const runs = await Promise.all(streams.map((s, i) => runFile(s, fileOpts(`job:${row.id}:${i}`))));
    result = mergeChannels(runs);
  } else {
    const run = await runFile(namingInput(decodeAudioStream(bytes, audioOpts), () => row.filename), fileOpts(`job:${row.id}`));
    result = { text: wordsToText(run.words), duration: run.duration, words: run.words, segments: buildSegments(run.words) };
  }
  if (warnings.length) result = { ...result, warnings };
  await writeAtomic(ctx.layout.result(row.id), ctx.layout.resultsDir, ctx.layout.tmp(`${row.id}.result`), JSON.stringify(result), ctx.fs);
  return { result, reused: decoder.reused, decoded: decoder.decoded };
}
