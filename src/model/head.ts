/**
 * The recognition head a model folder holds, named as the Rust gigastt names
 * it (`variant`, the `/health` and `/v1/models` id, the display name).
 * This server runs one head: GigaAM v3 e2e_rnnt (punctuation, casing and
 * number normalisation are part of its output, so no extra pass runs).
 */
import { MODEL_ID } from "../stream/language.ts";

export interface ModelHead {
  /** `--model-variant` token: "e2e_rnnt" */
  readonly variant: string;
  /** stable model id of `/health`, `/v1/models`, WS `ready` */
  readonly id: string;
  /** human-readable name of `/v1/models` */
  readonly name: string;
}

export const E2E_RNNT_HEAD: ModelHead = Object.freeze({ variant: "e2e_rnnt", id: MODEL_ID, name: "GigaAM v3 E2E RNN-T" });

/**
 * The recognition heads the Rust gigastt (2.15) downloads into the same
 * folder, by their file names (its `ModelVariant`), in its detection order
 * (`rnnt` first). Only `e2e_rnnt` runs here; the others are recognised so a
 * folder holding them gets one clear message instead of a silent download.
 */
export interface RustHeadFiles {
  readonly variant: "rnnt" | "e2e_rnnt" | "ml_ctc" | "ml_ctc_large";
  readonly what: string;
  readonly encoder: string;
  /** the INT8 encoder: Rust's quantizer output, also its default "lean" download */
  readonly encoderInt8: string;
  /** absent for the encoder-only CTC heads */
  readonly decoder?: string;
  readonly joint?: string;
  readonly vocab: string;
}

export const RUST_HEADS: readonly RustHeadFiles[] = Object.freeze([
  { variant: "rnnt", what: "GigaAM v3 RNN-T, Rust's default head, lowercase text without punctuation", encoder: "v3_rnnt_encoder.onnx", encoderInt8: "v3_rnnt_encoder_int8.onnx", decoder: "v3_rnnt_decoder.onnx", joint: "v3_rnnt_joint.onnx", vocab: "v3_vocab.txt" },
  { variant: "e2e_rnnt", what: "GigaAM v3 E2E RNN-T", encoder: "v3_e2e_rnnt_encoder.onnx", encoderInt8: "v3_e2e_rnnt_encoder_int8.onnx", decoder: "v3_e2e_rnnt_decoder.onnx", joint: "v3_e2e_rnnt_joint.onnx", vocab: "v3_e2e_rnnt_vocab.txt" },
  { variant: "ml_ctc", what: "GigaAM Multilingual CTC 220M, ru/en/kk/ky/uz", encoder: "multilingual_ctc.onnx", encoderInt8: "multilingual_ctc.int8.onnx", vocab: "multilingual_vocab.txt" },
  { variant: "ml_ctc_large", what: "GigaAM Multilingual CTC large 600M", encoder: "multilingual_large_ctc.onnx", encoderInt8: "multilingual_large_ctc.int8.onnx", vocab: "multilingual_vocab.txt" },
] as const satisfies readonly RustHeadFiles[]);
