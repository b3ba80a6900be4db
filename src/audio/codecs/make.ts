/** Builds the codec decoder for a compressed kind (see select.ts); imports every codec. */
import { AdtsDecoder } from "./aac.ts";
import { Mp4Decoder } from "./mp4.ts";
import { OggOpusDecoder } from "./ogg-opus.ts";
import type { CodecKind } from "./select.ts";
import type { PcmDecoder } from "./types.ts";
import { flacDecoder, Mp3Decoder, vorbisDecoder } from "./wasm.ts";
import { WebmDecoder } from "./webm.ts";

/** `tmpDir`: where an MP4 with its index at the end spills its media */
export function makeDecoder(kind: Exclude<CodecKind, "wav">, tmpDir?: string): PcmDecoder {
  switch (kind) {
    case "mp3":
      return new Mp3Decoder();
    case "flac":
      return flacDecoder("FLAC");
    case "ogg-flac":
      return flacDecoder("Ogg");
    case "vorbis":
      return vorbisDecoder();
    case "opus":
      return new OggOpusDecoder();
    case "webm":
      return new WebmDecoder();
    case "mp4":
      return new Mp4Decoder(tmpDir);
    case "adts":
      return new AdtsDecoder();
  }
}
