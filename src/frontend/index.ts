/** GigaAM v3 log-mel front end: the surface other modules use (docs/CONTRACTS.md "frontend"). */
export {
  HOP,
  LOG_CEIL,
  LOG_FLOOR,
  LogMelExtractor,
  logMelSpectrogram,
  melFrameCount,
  N_FFT,
  N_MELS,
  type LogMelFeatures,
} from "./logmel.ts";
