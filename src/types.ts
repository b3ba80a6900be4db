/** Shared result shapes (the CLI's `json` format and the REST JSON body). Pure types. */

export interface Word {
  readonly word: string;
  /** seconds from the start of the audio/stream: first token frame × 0.04 */
  readonly start: number;
  /** seconds: (last token frame + 1) × 0.04 */
  readonly end: number;
  /** mean probability of the word's tokens (each `Token.prob`, the decoder's softmax score), 0..1 */
  readonly confidence: number;
  /** source channel (0, 1, …) when channels were transcribed apart (`channels=split`) */
  readonly channel?: number;
}

export interface SegmentText {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** source channel when channels were transcribed apart (`channels=split`) */
  readonly channel?: number;
}

export interface TranscriptResult {
  readonly text: string;
  /** seconds of audio (16 kHz samples / 16000) */
  readonly duration: number;
  readonly words: readonly Word[];
  readonly segments: readonly SegmentText[];
  /**
   * the words' confidences averaged weighted by their durations (`wordsConfidence` in
   * decode/confidence.ts: Rust's top-level `confidence`); absent when there are no words or
   * the producer does not set it
   */
  readonly confidence?: number;
  /** damage met while decoding the audio (the valid part was transcribed); absent when none */
  readonly warnings?: readonly string[];
}

/** One emitted RNN-T token. */
export interface Token {
  readonly id: number;
  /** encoder frame index (absolute within the decoded segment) */
  readonly frame: number;
  /** probability of the chosen class, exp(logp) */
  readonly prob: number;
}

export type Precision = "fp32" | "int8";

export const SAMPLE_RATE = 16000;
/** seconds per encoder frame (10 ms hop × subsampling 4) */
export const FRAME_SECONDS = 0.04;
