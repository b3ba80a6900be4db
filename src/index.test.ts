import { expect, test } from "bun:test";
import * as api from "./index.ts";

test("public API: the exported names are the documented ones", () => {
  expect(Object.keys(api).sort()).toEqual(
    [
      "CATALOGUE", "EXIT", "FRAME_SECONDS", "GigasttError", "HOP", "LogMelExtractor", "MAX_SAMPLE_RATE", "MIN_SAMPLES",
      "MIN_SAMPLE_RATE", "N_FFT", "N_MELS", "Pcm16Decoder", "Resampler", "SAMPLE_RATE", "Segmenter", "Transcriber", "Vocab",
      "WavStreamDecoder", "buildSegments", "decodeAudioStream", "formatResult", "greedyDecode", "isGigasttError",
      "logMelSpectrogram", "melFrameCount", "openAudioSource", "readAudio", "resample", "resolveModelDir",
      "selectModelFiles", "sniffContainer", "stitchWords", "toSrt", "toVtt", "tokensToWords", "wordsToText",
    ].sort(),
  );
});

test("public API: logMelSpectrogram is mel-major [64 × frames] with the ln(1e-9) floor on silence", () => {
  const { features, frames } = api.logMelSpectrogram(new Float32Array(16000));
  expect(frames).toBe(99);
  expect(features.length).toBe(64 * 99);
  expect(features[0]).toBeCloseTo(Math.log(1e-9), 4);
});
