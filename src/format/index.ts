/** Output formats: cues, SRT, WebVTT, Markdown, JSON and text. */
export { transcriptConfidence } from "./confidence.ts";
export { CONTENT_TYPES, contentDisposition, defaultFilename, outputFormatOf, parseOutputFormat } from "./export.ts";
export { sectionTime, toMarkdown } from "./markdown.ts";
export { formatResult, isOutputFormat, type JsonTranscript, OUTPUT_FORMATS, type OutputFormat, type RenderOptions, toJsonTranscript } from "./result.ts";
export { buildCues, buildSegments, type Cue, CUE_MAX_CHARS, CUE_MAX_SECONDS, CUE_MAX_WORDS, CUE_PAUSE_SECONDS, type CueLimits } from "./segments.ts";
export { cueList, cuesOf, formatTimestamp, toSrt, toVtt } from "./subtitles.ts";
