/**
 * The contract every codec decoder meets: push bytes of the container in chunks of
 * any size, get planar float PCM at the source rate (one array per channel, or one
 * already-mixed array when the decoder mixes itself), then `finish()` at the end of
 * the input. Damage inside the stream is reported in `warnings` and decoding goes
 * on; input with no decodable audio at all ends in `invalid_audio`.
 */
export interface StreamInfo {
  /** container as detected from the bytes: "WAV", "MP3", "Ogg", "FLAC", "WebM", "MP4", "ADTS" */
  readonly container: string;
  /** codec inside it: "PCM", "µ-law", "A-law", "IMA ADPCM", "MP3", "Vorbis", "Opus", "FLAC", "AAC" */
  readonly codec: string;
  readonly sampleRate: number;
  /** channels in the source */
  readonly channels: number;
}

export type Planar = Float32Array[];

export interface PcmDecoder {
  /** known once the stream's header has been read */
  readonly info: StreamInfo | null;
  /** feed container bytes; returns what is now decoded (maybe no samples) */
  push(bytes: Uint8Array): Promise<Planar>;
  /** end of input: the rest of the samples */
  finish(): Promise<Planar>;
  /**
   * More output without more input (an MP4 whose index came last reads its spilled
   * media back in steps): called after push()/finish() until it returns null.
   */
  drain?(): Promise<Planar | null>;
  /** damage met so far (each a short line; at most MAX_WARNINGS kept) */
  readonly warnings: readonly string[];
  /** release WASM memory (idempotent) */
  free(): void;
}

/** Keep at most this many distinct warnings; one more says how many were dropped. */
export const MAX_WARNINGS = 8;

/** Collects warnings, bounded, counting repeats instead of listing them. */
export class Warnings {
  readonly list: string[] = [];
  private dropped = 0;
  add(line: string): void {
    if (this.list.includes(line)) return;
    if (this.list.length < MAX_WARNINGS) this.list.push(line);
    else this.dropped++;
    if (this.dropped > 0) this.list[MAX_WARNINGS] = `and ${this.dropped} more`;
  }
}

export const EMPTY: Planar = [];

/** samples per channel in a planar chunk */
export function frames(p: Planar): number {
  return p.length === 0 ? 0 : p[0]!.length;
}
