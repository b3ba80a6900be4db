/**
 * The loaded GigaAM v3 e2e_rnnt model (encoder + decoder + joint + vocab), Worker-side.
 *
 * Validates every graph's I/O at load (`model_invalid` naming the file), encodes
 * log-mel features to frame-major [T' × 768], and implements the `RnntStep`
 * seam the greedy decoder drives. `run` blocks the thread: use only in a Worker.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { DecoderState, RnntStep } from "../decode/greedy.ts";
import { Vocab } from "../decode/vocab.ts";
import { GigasttError, isGigasttError } from "../errors.ts";
import { createSession, type Session, tensorF32, tensorI64 } from "../runtime/ort.ts";
import type { ModelFiles } from "./files.ts";
import { DEC_DIM, type DecoderNames, ENC_DIM, N_MELS_IN, validateDecoder, validateEncoder, validateJoint } from "./validate.ts";

export interface RnntLoadOptions {
  /** intra-op threads per session (default 1) */
  readonly intraOpThreads?: number;
  /** see `SessionOptions.allowSpinning` (default true) */
  readonly allowSpinning?: boolean;
  /** see `SessionOptions.prepack` (default false: the weights stay the mapped file's pages) */
  readonly prepack?: boolean;
}

async function open(file: string, opts: RnntLoadOptions): Promise<Session> {
  try {
    return await createSession(file, {
      intraOpThreads: opts.intraOpThreads ?? 1,
      ...(opts.allowSpinning === false ? { allowSpinning: false } : {}),
      ...(opts.prepack ? { prepack: true } : {}),
    });
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new GigasttError("model_invalid", `invalid model file ${basename(file)}: onnxruntime could not load it (${why})`, {
      cause: e,
      details: { file: basename(file) },
    });
  }
}

function readVocab(file: string): Vocab {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new GigasttError("model_missing", `cannot read vocabulary ${basename(file)}`, { cause: e, details: { file: basename(file) } });
  }
  try {
    return Vocab.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new GigasttError("model_invalid", `invalid model file ${basename(file)}: ${why}`, { cause: e, details: { file: basename(file) } });
  }
}

export class RnntModel implements RnntStep {
  readonly blankId: number;
  readonly vocabSize: number;
  readonly encDim = ENC_DIM;
  readonly decDim = DEC_DIM;
  /** scratch for the decoder output tiled across joint batch rows */
  #decTile = new Float32Array(0);
  readonly #zeroState: DecoderState = Object.freeze({ h: new Float32Array(DEC_DIM), c: new Float32Array(DEC_DIM) });

  private constructor(
    readonly files: ModelFiles,
    readonly vocab: Vocab,
    private readonly encoder: Session,
    private readonly decoder: Session,
    private readonly jointSession: Session,
    private readonly names: DecoderNames,
  ) {
    this.blankId = vocab.blankId;
    this.vocabSize = vocab.size;
  }

  /** Loads and validates the four files; throws `model_invalid` / `model_missing` naming the file. */
  static async load(files: ModelFiles, opts: RnntLoadOptions = {}): Promise<RnntModel> {
    const vocab = readVocab(files.vocab);
    const sessions: Session[] = [];
    try {
      const encoder = await open(files.encoder, opts);
      sessions.push(encoder);
      validateEncoder(basename(files.encoder), encoder);
      const decoder = await open(files.decoder, opts);
      sessions.push(decoder);
      const names = validateDecoder(basename(files.decoder), decoder);
      const joint = await open(files.joint, opts);
      sessions.push(joint);
      validateJoint(basename(files.joint), joint, vocab.size);
      return new RnntModel(files, vocab, encoder, decoder, joint, names);
    } catch (e) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw isGigasttError(e) ? e : new GigasttError("model_invalid", undefined, { cause: e });
    }
  }

  /**
   * Runs the encoder on mel-major features [64 × frames]; returns frame-major
   * [T' × 768] (the channels-first output transposed once).
   */
  async encode(features: Float32Array, frames: number): Promise<{ enc: Float32Array; frames: number }> {
    if (frames <= 0) return { enc: new Float32Array(0), frames: 0 };
    if (features.length !== N_MELS_IN * frames) throw new GigasttError("internal", "feature buffer does not match the frame count");
    const out = await this.encoder.run({
      audio_signal: tensorF32(features, [1, N_MELS_IN, frames]),
      length: tensorI64(BigInt64Array.of(BigInt(frames)), [1]),
    });
    const encoded = out.encoded!;
    const lenData = out.encoded_len!.data as Int32Array;
    const dims = encoded.dims;
    const tOut = Number(dims[2]);
    if (dims.length !== 3 || dims[1] !== ENC_DIM) throw new GigasttError("inference_error", `encoder returned shape [${dims.join(",")}]`);
    const valid = Math.min(tOut, lenData[0] ?? tOut);
    const src = encoded.data as Float32Array;
    const enc = new Float32Array(valid * ENC_DIM);
    for (let d = 0; d < ENC_DIM; d++) {
      const row = d * tOut;
      for (let t = 0; t < valid; t++) enc[t * ENC_DIM + d] = src[row + t]!;
    }
    encoded.dispose();
    return { enc, frames: valid };
  }

  initialState(): DecoderState {
    return this.#zeroState;
  }

  async decode(token: number, state: DecoderState): Promise<{ out: Float32Array; state: DecoderState }> {
    const n = this.names;
    const r = await this.decoder.run({
      [n.x]: tensorI64(BigInt64Array.of(BigInt(token)), [1, 1]),
      [n.hIn]: tensorF32(state.h, [1, 1, DEC_DIM]),
      [n.cIn]: tensorF32(state.c, [1, 1, DEC_DIM]),
    });
    return {
      out: r[n.dec]!.data as Float32Array,
      state: { h: r[n.hOut]!.data as Float32Array, c: r[n.cOut]!.data as Float32Array },
    };
  }

  /** enc: `count` frames frame-major [count × 768]; dec: [320]; returns [count × V] log-probs. */
  async joint(enc: Float32Array, count: number, dec: Float32Array): Promise<Float32Array> {
    if (count <= 0) return new Float32Array(0);
    const need = count * DEC_DIM;
    if (this.#decTile.length < need) this.#decTile = new Float32Array(Math.max(need, this.#decTile.length * 2));
    const tile = this.#decTile.subarray(0, need);
    for (let k = 0; k < count; k++) tile.set(dec.subarray(0, DEC_DIM), k * DEC_DIM);
    // ORT reads typed-array views at their offset; the length must be exact
    const encIn = enc.length === count * ENC_DIM ? enc : enc.subarray(0, count * ENC_DIM);
    const r = await this.jointSession.run({
      enc: tensorF32(encIn, [count, ENC_DIM, 1]),
      dec: tensorF32(tile, [count, DEC_DIM, 1]),
    });
    return r.joint!.data as Float32Array;
  }

  async release(): Promise<void> {
    await Promise.allSettled([this.encoder.release(), this.decoder.release(), this.jointSession.release()]);
  }
}
