/** Audio input: WAV bytes → 16 kHz mono float samples. */
export { type AudioLoadOptions, type ByteSource, decodeAudioStream, MIN_SAMPLES, openAudioSource, readAudio, type SourceDeps } from "./load.ts";
export { Pcm16Decoder } from "./pcm16.ts";
export { designFor, resample, Resampler, type ResamplerDesign } from "./resample.ts";
export { sniffContainer } from "./sniff.ts";
export { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, type WavFormat, WavStreamDecoder } from "./wav.ts";
