/**
 * Per-segment checkpoints of a job. The job's audio goes through the same
 * offline pipeline as `/v1/transcribe` (engine/offline.ts), whose cuts are a pure function of the
 * samples; every segment decode is wrapped so that its words are committed to
 * the database (with the progress they bring) as soon as it finishes. After a
 * restart the audio is read again from the start: the segmenter makes the
 * very same cuts, and every segment already committed is answered from the
 * database without inference, so processing resumes at the first unfinished
 * segment and the result equals an uninterrupted run's.
 */
import type { JobOptions } from "../server/deps.ts";
import type { SegmentDecoder } from "../stream/utterances.ts";
import { SAMPLE_RATE, type Word } from "../types.ts";
import type { WorkerShare } from "./share.ts";

/** a segment's identity: its first sample, its length and a hash of its samples */
export function segmentKey(samples: Float32Array, offsetSeconds: number): string {
  const bits = new Uint32Array(samples.buffer, samples.byteOffset, samples.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i]!, 0x01000193) >>> 0;
  return `${Math.round(offsetSeconds * SAMPLE_RATE)}:${samples.length}:${h.toString(16)}`;
}

export interface CheckpointOptions {
  readonly decoder: SegmentDecoder;
  readonly share: WorkerShare;
  /** committed segments: key → words JSON */
  readonly done: ReadonlyMap<string, string>;
  /** a segment was decoded: commit it (synchronously, before its words are used) */
  commit(key: string, words: readonly Word[], endSeconds: number): void;
}

export interface CheckpointDecoder extends SegmentDecoder {
  /** segments answered from the checkpoint so far */
  readonly reused: number;
  readonly decoded: number;
}

export function checkpointDecoder(opts: CheckpointOptions): CheckpointDecoder {
  let reused = 0;
  let decoded = 0;
  return {
    get reused() {
      return reused;
    },
    get decoded() {
      return decoded;
    },
    async decodeSegment(samples: Float32Array, offsetSeconds: number, jobOpts?: JobOptions): Promise<Word[]> {
      const key = segmentKey(samples, offsetSeconds);
      const known = opts.done.get(key);
      if (known !== undefined) {
        reused++;
        return JSON.parse(known) as Word[];
      }
      // before the decode: the offline pipeline gives its samples away (moved to a Worker)
      const endSeconds = offsetSeconds + samples.length / SAMPLE_RATE;
      const words = await opts.share.run(() => opts.decoder.decodeSegment(samples, offsetSeconds, jobOpts), jobOpts?.signal);
      if (!jobOpts?.signal?.aborted) {
        opts.commit(key, words, endSeconds);
        decoded++;
      }
      return words;
    },
  };
}
