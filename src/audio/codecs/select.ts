/**
 * Which codec decoder a sniffed container gets. `codecFor` (no codec imports, cheap)
 * names it or throws the refusal; `makeDecoder` builds it — in the decode Worker
 * (../worker.ts) for compressed codecs, in-process for WAV.
 */
import { GigasttError } from "../../errors.ts";
import { type Detected, unsupportedContainer } from "../sniff.ts";
import { WavStreamDecoder } from "../wav.ts";

export type CodecKind = "wav" | "mp3" | "flac" | "ogg-flac" | "vorbis" | "opus" | "webm" | "mp4" | "adts";

/** The decoder kind for a detected container, or the error saying why there is none. */
export function codecFor(d: Detected | null, head: Uint8Array): CodecKind {
  if (!d) {
    // the WAV reader's own diagnosis: empty, too short, not RIFF
    const w = new WavStreamDecoder();
    w.push(head);
    w.finish();
    throw new GigasttError("invalid_audio", "not a recognised audio file");
  }
  switch (d.container) {
    case "WAV":
    case "RIFX":
      return "wav";
    case "MP3":
      return "mp3";
    case "FLAC":
      return "flac";
    case "WebM":
      return "webm";
    case "Ogg":
      if (d.codec === "Vorbis") return "vorbis";
      if (d.codec === "Opus") return "opus";
      if (d.codec === "FLAC") return "ogg-flac";
      if (d.codec === "unknown") throw new GigasttError("invalid_audio", "Ogg file whose first stream is not a known codec");
      throw unsupportedContainer("Ogg", `${d.codec} in Ogg`);
    case "MP4":
      return "mp4";
    case "ADTS":
      return "adts";
    default:
      throw unsupportedContainer(d.container);
  }
}
