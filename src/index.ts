/**
 * gigastt as a library: `import { Transcriber, readAudio, logMelSpectrogram } from "gigastt"`.
 *
 * Everything here is the inference core plus the async Transcriber (ONNX runs in
 * Workers, never on the caller's thread). The server and the CLI are not exported.
 */

// Errors: one catalogue of stable codes
export { CATALOGUE, EXIT, type ErrorCode, GigasttError, isGigasttError } from "./errors.ts";

// Shared result shapes
export { FRAME_SECONDS, type Precision, SAMPLE_RATE, type SegmentText, type Token, type TranscriptResult, type Word } from "./types.ts";

// Audio in: streaming WAV reader, PCM16, resampler, loader
export {
  type AudioLoadOptions,
  type ByteSource,
  decodeAudioStream,
  MAX_SAMPLE_RATE,
  MIN_SAMPLE_RATE,
  MIN_SAMPLES,
  openAudioSource,
  Pcm16Decoder,
  readAudio,
  resample,
  Resampler,
  sniffContainer,
  type WavFormat,
  WavStreamDecoder,
} from "./audio/index.ts";

// Front end: log-mel features exactly as GigaAM v3 expects them
export { HOP, LogMelExtractor, logMelSpectrogram, melFrameCount, N_FFT, N_MELS } from "./frontend/index.ts";

// Decoding: greedy RNN-T over the RnntStep seam, vocabulary, detokenizer
export { type DecoderState, greedyDecode, type RnntStep } from "./decode/greedy.ts";
export { Vocab } from "./decode/vocab.ts";
export { tokensToWords, wordsToText } from "./decode/detok.ts";

// Long audio: pause-based segmenting and overlap stitching
export { type Segment, Segmenter, type SegmenterOptions } from "./segment/segmenter.ts";
export { stitchWords } from "./segment/stitch.ts";

// Model files and the Transcriber
export { type ModelFiles, resolveModelDir, selectModelFiles } from "./model/files.ts";
export { type JobOptions, type StreamOptions, Transcriber, type TranscriberInfo, type TranscriberOptions } from "./engine/transcriber.ts";

// Output formats
export { buildSegments, formatResult, type OutputFormat, toSrt, toVtt } from "./format/index.ts";
