/**
 * Recognise common non-WAV audio containers by their first bytes, so that a
 * user who sends MP3/OGG/FLAC/M4A/WebM gets "unsupported format, convert to
 * WAV" instead of "invalid audio".
 */
import { GigasttError } from "../errors.ts";

/** Bytes needed to recognise every container below. */
export const SNIFF_BYTES = 12;

function ascii(b: Uint8Array, at: number, s: string): boolean {
  if (b.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** The container name when `head` starts like a known non-WAV audio file, else null. */
export function sniffContainer(head: Uint8Array): string | null {
  if (ascii(head, 0, "ID3")) return "MP3";
  if (ascii(head, 0, "OggS")) return "OGG";
  if (ascii(head, 0, "fLaC")) return "FLAC";
  if (ascii(head, 4, "ftyp")) return "M4A/MP4";
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return "WebM/Matroska";
  if (ascii(head, 0, "FORM") && (ascii(head, 8, "AIFF") || ascii(head, 8, "AIFC"))) return "AIFF";
  if (ascii(head, 0, "caff")) return "CAF";
  if (ascii(head, 0, "#!AMR")) return "AMR";
  if (ascii(head, 0, ".snd")) return "AU";
  const b0 = head[0];
  const b1 = head[1];
  if (b0 === 0xff && b1 !== undefined && (b1 & 0xe0) === 0xe0) {
    const layer = (b1 >> 1) & 3;
    const version = (b1 >> 3) & 3;
    if (layer === 0 && (b1 & 0xf6) === 0xf0) return "AAC (ADTS)";
    if (layer !== 0 && version !== 1) return "MP3";
  }
  return null;
}

const EXTENSIONS: Record<string, string> = {
  MP3: "mp3",
  OGG: "ogg",
  FLAC: "flac",
  "M4A/MP4": "m4a",
  "WebM/Matroska": "webm",
  AIFF: "aiff",
  CAF: "caf",
  AMR: "amr",
  AU: "au",
  "AAC (ADTS)": "aac",
};

/** The error for a known non-WAV container: one line saying how to convert. */
export function unsupportedContainer(name: string): GigasttError {
  const ext = EXTENSIONS[name] ?? "audio";
  return new GigasttError(
    "unsupported_format",
    `${name} audio is not supported: WAV is required; convert it first, e.g. ffmpeg -i in.${ext} -ar 16000 -ac 1 out.wav`,
    { details: { container: name } },
  );
}
