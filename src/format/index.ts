/** Output formats: cues, SRT, WebVTT, JSON and text. */
export { formatResult, isOutputFormat, type JsonTranscript, OUTPUT_FORMATS, type OutputFormat, toJsonTranscript } from "./result.ts";
export { buildSegments, CUE_MAX_CHARS, CUE_MAX_SECONDS, CUE_PAUSE_SECONDS, type CueLimits } from "./segments.ts";
export { cuesOf, formatTimestamp, toSrt, toVtt } from "./subtitles.ts";
