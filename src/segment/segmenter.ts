/**
 * Long-audio segmenting: a stream of samples becomes a stream of segments of at most
 * `maxSeconds` (the encoder never sees more), cut inside pauses.
 *
 * - Analysis runs on a fixed 10 ms grid from the start of the stream (`QuietDetector`), with
 *   all state carried across pushes, and every decision is taken at a fixed sample position;
 *   so cut positions are a pure function of the samples, whatever chunk sizes are pushed.
 * - A pause is a run of ≥ `minPauseMs` quiet frames. When the open segment reaches
 *   `maxSeconds`, it is cut at the centre of the latest pause inside it (the part of a pause that
 *   is still running at the limit counts); a pause that opens the segment is cut near its end
 *   instead (half a minimal pause before the sound), so it is not split again and again. With `endpoint: true` it is also cut as soon as a
 *   pause of `minPauseMs` follows non-quiet audio (streaming endpointing), at the centre of
 *   those `minPauseMs`.
 * - No pause at all: hard cut at the limit; the next segment starts `overlapSeconds` earlier
 *   (`Segment.overlap`) and `stitchWords` removes the duplicated words.
 * - Memory is bounded: the open segment (≤ maxSeconds + 20 ms) is all that is kept.
 * - `provisionalCut()` / `provisional()` announce an endpoint cut half a pause early (its samples
 *   are all known by then), so a caller can start decoding it before `push` confirms it.
 */
import { GigasttError } from "../errors.ts";
import { SAMPLE_RATE } from "../types.ts";
import { QuietDetector, SILENCE_DB, frameEnergyDb } from "./energy.ts";

export interface Segment {
  /** first sample index in the stream (absolute) */
  readonly start: number;
  readonly samples: Float32Array;
  /** leading samples shared with the previous segment (hard cut only) */
  readonly overlap: number;
  /** false when every analysed frame of the segment was below absolute silence (nothing to transcribe) */
  readonly voiced: boolean;
  /**
   * why it ended: `pause` — the endpoint (a pause of `minPauseMs` after sound); `limit` — the
   * segment reached `maxSeconds` (cut at its latest pause, or hard); `end` — `flush()`
   */
  readonly cut: SegmentCut;
}

export type SegmentCut = "pause" | "limit" | "end";

export interface SegmenterOptions {
  sampleRate?: number;
  /** longest segment in seconds (default 20) */
  maxSeconds?: number;
  /** shortest pause in ms (default 300; the server's endpointing uses 500) */
  minPauseMs?: number;
  /** audio repeated at a hard cut, in seconds (default 1) */
  overlapSeconds?: number;
  /** cut at the first pause after non-quiet audio instead of waiting for maxSeconds */
  endpoint?: boolean;
  /**
   * an outside classifier of each 10 ms frame [start, end) (absolute samples), e.g. a VAD: 0
   * speech, 2 non-speech (nothing to transcribe); null lets the energy rule decide that frame
   */
  labels?: FrameLabels;
}

export type FrameLabels = (start: number, end: number) => 0 | 2 | null;

export const DEFAULT_MAX_SECONDS = 20;
export const DEFAULT_MIN_PAUSE_MS = 300;
export const DEFAULT_OVERLAP_SECONDS = 1;

export class Segmenter {
  readonly sampleRate: number;
  /** samples per 10 ms analysis frame */
  readonly hop: number;
  readonly maxSamples: number;
  readonly overlapSamples: number;
  readonly minPauseFrames: number;
  readonly endpoint: boolean;
  readonly #labels: FrameLabels | null;

  /** absolute sample index of the analysis grid's origin (stream start, or the last flush) */
  #origin = 0;
  /** open audio: buf[0..len) holds samples [segStart, segStart + len) */
  #buf: Float32Array;
  #len = 0;
  #segStart = 0;
  #segOverlap = 0;
  /** frames analysed since #origin */
  #frames = 0;
  #detector = new QuietDetector();
  /** quiet flag per analysed frame, ring indexed by frame % size */
  #quiet: Uint8Array;
  /** consecutive quiet frames ending at the last analysed frame */
  #quietRun = 0;
  /** last non-quiet frame index, −1 if none */
  #lastLoud = -1;

  constructor(opts: SegmenterOptions = {}) {
    const sr = opts.sampleRate ?? SAMPLE_RATE;
    const maxSeconds = opts.maxSeconds ?? DEFAULT_MAX_SECONDS;
    const minPauseMs = opts.minPauseMs ?? DEFAULT_MIN_PAUSE_MS;
    const overlapSeconds = opts.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
    if (!Number.isInteger(sr) || sr < 100) throw bad(`sampleRate must be an integer ≥ 100, got ${sr}`);
    this.sampleRate = sr;
    this.hop = Math.round(sr / 100);
    if (!(Number.isFinite(minPauseMs) && minPauseMs >= 10)) throw bad(`minPauseMs must be ≥ 10, got ${minPauseMs}`);
    this.minPauseFrames = Math.round(minPauseMs / 10);
    if (!(Number.isFinite(maxSeconds) && maxSeconds * 1000 >= 4 * minPauseMs && maxSeconds >= 0.1)) {
      throw bad(`maxSeconds must be finite and at least 4 × minPauseMs, got ${maxSeconds}`);
    }
    this.maxSamples = Math.round(maxSeconds * sr);
    if (!(Number.isFinite(overlapSeconds) && overlapSeconds >= 0 && overlapSeconds * 2 <= maxSeconds)) {
      throw bad(`overlapSeconds must be between 0 and maxSeconds / 2, got ${overlapSeconds}`);
    }
    this.overlapSamples = Math.round(overlapSeconds * sr);
    this.endpoint = opts.endpoint ?? false;
    this.#labels = opts.labels ?? null;
    this.#buf = new Float32Array(this.maxSamples + 2 * this.hop);
    this.#quiet = new Uint8Array(Math.ceil(this.#buf.length / this.hop) + 4);
  }

  /** Total samples received so far (absolute). */
  get position(): number {
    return this.#segStart + this.#len;
  }

  /** Feeds samples; returns the segments completed by them (each owns its samples). */
  push(x: Float32Array): Segment[] {
    const out: Segment[] = [];
    let i = 0;
    while (i < x.length) {
      const n = Math.min(x.length - i, this.#buf.length - this.#len);
      this.#buf.set(x.subarray(i, i + n), this.#len);
      this.#len += n;
      i += n;
      this.#analyse(out);
    }
    return out;
  }

  /** End of stream: returns the rest, then starts a fresh stream at the same absolute position. */
  flush(): Segment[] {
    const out: Segment[] = [];
    const end = this.position;
    if (this.#len > this.#segOverlap) out.push(this.#emit(end, this.#voiced(this.#segStart, end), "end"));
    this.#origin = end;
    this.#segStart = end;
    this.#segOverlap = 0;
    this.#len = 0;
    this.#frames = 0;
    this.#detector = new QuietDetector();
    this.#quietRun = 0;
    this.#lastLoud = -1;
    return out;
  }

  /**
   * Where the endpoint will cut if the quiet run now in progress lasts until `minPauseFrames`:
   * the absolute sample `push` would then cut at (the centre of those frames), so the segment
   * `[pending().start, cut)` can be decoded before the cut is confirmed.
   *
   * Non-null only with `endpoint: true`, while a quiet run that follows non-quiet audio of the
   * open segment is in progress, once every frame up to the cut is analysed (the run is at least
   * half a minimal pause long), and when the `maxSeconds` limit would not cut the segment first.
   * If the run then reaches `minPauseFrames`, the segment `push` returns equals
   * {@link provisional}; if it breaks earlier, no segment ends there.
   */
  provisionalCut(): number | null {
    if (!this.endpoint || this.#quietRun === 0 || this.#quietRun >= this.minPauseFrames) return null;
    // the run started right after #lastLoud (see #analyse); #maybeCut's condition for that run
    if (this.#lastLoud < 0 || this.#frameStart(this.#lastLoud + 1) <= this.#segStart) return null;
    const runStart = this.#frames - this.#quietRun;
    const fire = runStart + this.minPauseFrames - 1; // the frame whose analysis will cut
    // the limit check of an earlier frame would cut first (#maybeCut: frameStart(f + 1) ≥ limit)
    if (this.#frameStart(fire) >= this.#segStart + this.maxSamples) return null;
    const cut = this.#centre(runStart, fire + 1);
    // every frame overlapping the segment analysed: samples and `voiced` are final
    if (this.#frames < Math.ceil((cut - this.#origin) / this.hop)) return null;
    return cut;
  }

  /**
   * The segment the endpoint will emit at {@link provisionalCut} (samples copied), identical
   * (start, samples, overlap, voiced) to the one `push` returns if the pause lasts; null when
   * there is no provisional cut.
   */
  provisional(): Segment | null {
    const cut = this.provisionalCut();
    return cut === null ? null : this.#emit(cut, this.#voiced(this.#segStart, cut), "pause");
  }

  /** The open (not yet cut) audio, copied: what a partial transcript would decode. */
  pending(): { start: number; samples: Float32Array } {
    return { start: this.#segStart, samples: this.#buf.slice(0, this.#len) };
  }

  // ---- internal ------------------------------------------------------------

  /** Analyses every complete frame in the buffer, cutting where due. */
  #analyse(out: Segment[]): void {
    const hop = this.hop;
    for (;;) {
      const fStart = this.#origin + this.#frames * hop; // absolute
      if (fStart + hop > this.position) return;
      const off = fStart - this.#segStart;
      const energy = frameEnergyDb(this.#buf, off, off + hop);
      const byEnergy = this.#detector.next(energy);
      const label = this.#labels ? this.#labels(fStart, fStart + hop) : null;
      const quiet = label === null ? byEnergy : label !== 0;
      const f = this.#frames++;
      // 0 loud, 1 quiet (a pause), 2 quiet and below SILENCE_DB or outside speech (nothing to transcribe)
      this.#quiet[f % this.#quiet.length] = quiet ? (label === 2 || energy < SILENCE_DB ? 2 : 1) : 0;
      if (quiet) this.#quietRun++;
      else {
        this.#quietRun = 0;
        this.#lastLoud = f;
      }
      this.#maybeCut(out, f);
    }
  }

  #frameStart(f: number): number {
    return this.#origin + f * this.hop;
  }

  /** first frame whose start is inside the open segment */
  #firstFrameOfSegment(): number {
    return Math.ceil((this.#segStart - this.#origin) / this.hop);
  }

  #maybeCut(out: Segment[], f: number): void {
    const first = this.#firstFrameOfSegment();
    if (this.endpoint && this.#quietRun >= this.minPauseFrames) {
      const runStart = Math.max(first, f + 1 - this.#quietRun);
      // a pause of exactly minPauseFrames inside the segment, after non-quiet audio in it
      if (f + 1 - runStart === this.minPauseFrames && this.#lastLoud >= 0 && this.#frameStart(this.#lastLoud + 1) > this.#segStart) {
        this.#cutAt(out, this.#centre(runStart, f + 1), 0, "pause");
        return;
      }
    }
    const limit = this.#segStart + this.maxSamples;
    if (this.#frameStart(f + 1) < limit) return;
    // the segment is full: latest pause among frames that end by the limit
    const lastFrame = Math.floor((limit - this.#origin) / this.hop); // exclusive
    const pause = this.#latestPause(first, lastFrame);
    if (!pause) this.#cutAt(out, limit, this.overlapSamples, "limit");
    else if (pause[0] > first) this.#cutAt(out, this.#centre(pause[0], pause[1]), 0, "limit");
    // a pause that opens the segment (the rest of the previous cut's pause, or leading silence):
    // cut near its end, keeping half a minimal pause, so the next segment does not start with it again
    else this.#cutAt(out, this.#frameStart(pause[1] - Math.floor(this.minPauseFrames / 2)), 0, "limit");
  }

  /** [a, b) of the latest run of ≥ minPauseFrames quiet frames within [from, to), or null */
  #latestPause(from: number, to: number): [number, number] | null {
    const ring = this.#quiet;
    let end = to;
    for (let j = to - 1; j >= from - 1; j--) {
      const quiet = j >= from && ring[j % ring.length] !== 0;
      if (quiet) continue;
      if (end - (j + 1) >= this.minPauseFrames) return [j + 1, end];
      end = j;
    }
    return null;
  }

  #centre(a: number, b: number): number {
    return this.#origin + Math.round(((a + b) * this.hop) / 2);
  }

  /** Emits [segStart, cut) and opens the next segment at cut − overlap. */
  #cutAt(out: Segment[], cut: number, overlap: number, why: SegmentCut): void {
    out.push(this.#emit(cut, this.#voiced(this.#segStart, cut), why));
    const next = cut - overlap;
    const drop = next - this.#segStart;
    this.#buf.copyWithin(0, drop, this.#len);
    this.#len -= drop;
    this.#segStart = next;
    this.#segOverlap = overlap;
  }

  #emit(end: number, voiced: boolean, cut: SegmentCut): Segment {
    return { start: this.#segStart, samples: this.#buf.slice(0, end - this.#segStart), overlap: this.#segOverlap, voiced, cut };
  }

  /**
   * whether an analysed frame above absolute silence (SILENCE_DB) overlaps [from, to):
   * quiet-but-audible audio (soft speech under a noisy floor) is still decoded, never dropped
   */
  #voiced(from: number, to: number): boolean {
    const ring = this.#quiet;
    const a = Math.max(0, Math.floor((from - this.#origin) / this.hop));
    const b = Math.min(this.#frames, Math.ceil((to - this.#origin) / this.hop));
    for (let j = a; j < b; j++) if (ring[j % ring.length] !== 2) return true;
    return false;
  }
}

function bad(message: string): GigasttError {
  return new GigasttError("invalid_config", message);
}
