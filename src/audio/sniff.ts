/**
 * What a byte stream is, from its first bytes (never from a file name or a
 * Content-Type): the container, and for Ogg the codec of its first stream.
 */
import { GigasttError } from "../errors.ts";

/** Bytes needed to recognise every container below (Ogg's codec sits after the first page header). */
export const SNIFF_BYTES = 64;

export type Container = "WAV" | "MP3" | "Ogg" | "FLAC" | "MP4" | "WebM" | "ADTS" | "AIFF" | "CAF" | "AMR" | "AU" | "RIFX";

export interface Detected {
  readonly container: Container;
  /** Ogg only: "Vorbis" | "Opus" | "FLAC" | "Speex" | "Theora" | "unknown" */
  readonly codec?: string;
}

function ascii(b: Uint8Array, at: number, s: string): boolean {
  if (b.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** An MPEG audio frame header (layer I–III) at `at`. */
export function isMpegFrame(b: Uint8Array, at: number): boolean {
  const b1 = b[at + 1];
  const b2 = b[at + 2];
  if (b[at] !== 0xff || b1 === undefined || b2 === undefined || (b1 & 0xe0) !== 0xe0) return false;
  const version = (b1 >> 3) & 3;
  const layer = (b1 >> 1) & 3;
  const bitrate = b2 >> 4;
  const rate = (b2 >> 2) & 3;
  return version !== 1 && layer !== 0 && bitrate !== 15 && rate !== 3;
}

/** An ADTS (AAC) frame header at `at`. */
export function isAdtsFrame(b: Uint8Array, at: number): boolean {
  const b1 = b[at + 1];
  const b2 = b[at + 2];
  if (b[at] !== 0xff || b1 === undefined || b2 === undefined) return false;
  return (b1 & 0xf6) === 0xf0 && ((b2 >> 2) & 0x0f) < 13;
}

function oggCodec(b: Uint8Array): string {
  const nseg = b[26];
  if (nseg === undefined) return "unknown";
  const at = 27 + nseg;
  if (ascii(b, at, "OpusHead")) return "Opus";
  if (b[at] === 1 && ascii(b, at + 1, "vorbis")) return "Vorbis";
  if (b[at] === 0x7f && ascii(b, at + 1, "FLAC")) return "FLAC";
  if (ascii(b, at, "Speex   ")) return "Speex";
  if (b[at] === 0x80 && ascii(b, at + 1, "theora")) return "Theora";
  return "unknown";
}

/** The container of `head` (its first SNIFF_BYTES bytes, or all of a shorter input), or null. */
export function detect(head: Uint8Array): Detected | null {
  if ((ascii(head, 0, "RIFF") || ascii(head, 0, "RF64")) && ascii(head, 8, "WAVE")) return { container: "WAV" };
  if (ascii(head, 0, "RIFX")) return { container: "RIFX" };
  if (ascii(head, 0, "ID3")) return { container: "MP3" };
  if (ascii(head, 0, "OggS")) return { container: "Ogg", codec: oggCodec(head) };
  if (ascii(head, 0, "fLaC")) return { container: "FLAC" };
  if (ascii(head, 4, "ftyp") || ascii(head, 4, "moov") || ascii(head, 4, "mdat") || ascii(head, 4, "free") || ascii(head, 4, "wide")) return { container: "MP4" };
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return { container: "WebM" };
  if (ascii(head, 0, "FORM") && (ascii(head, 8, "AIFF") || ascii(head, 8, "AIFC"))) return { container: "AIFF" };
  if (ascii(head, 0, "caff")) return { container: "CAF" };
  if (ascii(head, 0, "#!AMR")) return { container: "AMR" };
  if (ascii(head, 0, ".snd")) return { container: "AU" };
  if (isAdtsFrame(head, 0)) return { container: "ADTS" };
  if (isMpegFrame(head, 0)) return { container: "MP3" };
  return null;
}

const LEGACY_NAMES: Partial<Record<Container, string>> = { Ogg: "OGG", MP4: "M4A/MP4", WebM: "WebM/Matroska", ADTS: "AAC (ADTS)" };

/** The container name when `head` starts like a known non-WAV audio file, else null. */
export function sniffContainer(head: Uint8Array): string | null {
  const d = detect(head);
  if (!d || d.container === "WAV" || d.container === "RIFX") return null;
  return LEGACY_NAMES[d.container] ?? d.container;
}

const EXTENSIONS: Record<string, string> = {
  MP3: "mp3",
  OGG: "ogg",
  Ogg: "ogg",
  FLAC: "flac",
  "M4A/MP4": "m4a",
  MP4: "m4a",
  "WebM/Matroska": "webm",
  WebM: "webm",
  AIFF: "aiff",
  CAF: "caf",
  AMR: "amr",
  AU: "au",
  "AAC (ADTS)": "aac",
  ADTS: "aac",
};

/** The command line that converts a file of this container to what gigastt reads best. */
export function ffmpegHint(container: string, file?: string): string {
  const input = file && file !== "-" ? shellQuote(file) : `in.${EXTENSIONS[container] ?? "audio"}`;
  return `ffmpeg -i ${input} -ar 16000 -ac 1 out.wav`;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The error for a container that is recognised but not decoded: one line saying how to convert. */
export function unsupportedContainer(name: string, what?: string): GigasttError {
  return new GigasttError("unsupported_format", `${what ?? `${name} audio`} is not supported; convert it first, e.g. ${ffmpegHint(name)}`, {
    details: { container: name },
  });
}
