/**
 * One job's run: its stored audio through the same file pipeline as
 * `POST /v1/transcribe` (decodeAudioStream → runFile), with every segment
 * checkpointed (resume.ts) and the transcript written atomically before the
 * job is marked done.
 */
import { decodeAudioStream } from "../audio/load.ts";
import { namingInput } from "../audio/input-name.ts";
import { wordsToText } from "../decode/detok.ts";
import { buildSegments } from "../format/index.ts";
import type { SegmentDecoder } from "../server/streaming/utterances.ts";
import { runFile } from "../server/streaming/file.ts";
import type { TranscriptResult, Word } from "../types.ts";
import type { JobsDb } from "./db.ts";
import { type JobsFs, type JobsLayout, writeAtomic } from "./files.ts";
import { checkpointDecoder } from "./resume.ts";
import type { WorkerShare } from "./share.ts";
import type { JobRow } from "./types.ts";

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
  /** a final (in stream order): the words transcribed so far grow by these */
  onFinal?(words: readonly Word[]): void;
  onInference?(seconds: number, audioSeconds: number): void;
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
  const counter = { read: 0 };
  const total = Math.max(1, row.bytes);
  const done = db.segments(row.id);
  const decoder = checkpointDecoder({
    decoder: ctx.decoder,
    share: ctx.share,
    done,
    commit(key, words, endSeconds) {
      // bytes read run a little ahead of the decodes; 100 only once the result is stored
      const percent = Math.min(99, (counter.read / total) * 100);
      db.commitSegment(row.id, key, JSON.stringify(words), { processed_seconds: endSeconds, percent }, ctx.now());
      const now = db.get(row.id);
      if (now) ctx.onProgress(now.processed_seconds, now.percent);
    },
  });
  const audio = namingInput(decodeAudioStream(readCounted(ctx.layout.audio(row.id), counter), { maxSeconds: ctx.maxAudioSecs, emptyCode: "empty_body" }), () => row.filename);
  const run = await runFile(audio, {
    decoder,
    session: `job:${row.id}`,
    signal: ctx.signal,
    partials: false,
    onDecodeError: () => false,
    onEvent: (e) => {
      if (e.type === "final" && e.words.length > 0) ctx.onFinal?.(e.words);
    },
    ...(ctx.onInference ? { onInference: ctx.onInference } : {}),
  });
  const result: TranscriptResult = { text: wordsToText(run.words), duration: run.duration, words: run.words, segments: buildSegments(run.words) };
  await writeAtomic(ctx.layout.result(row.id), ctx.layout.resultsDir, ctx.layout.tmp(`${row.id}.result`), JSON.stringify(result), ctx.fs);
  return { result, reused: decoder.reused, decoded: decoder.decoded };
}
