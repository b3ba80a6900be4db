/**
 * Headerless telephony audio (`?codec=` on REST, `--codec` on the CLI, as in the Rust
 * gigastt): raw G.711 µ-law (pcmu, alias ulaw), A-law (pcma, alias alaw) or G.722 bytes, as
 * RTP dumps and Asterisk Monitor captures store them. The bytes are turned into a WAV
 * stream as they arrive (G.711: a header in front, the WAV decoder's own tables do the rest;
 * G.722: decoded to 16 kHz PCM16), so every path of the one decoder — limits, resampling,
 * `channels=split`, bounded memory — works unchanged.
 */
import { GigasttError } from "../errors.ts";
import { G722Decoder } from "./g722.ts";
import type { ByteSource } from "./load.ts";

export const RAW_CODECS = ["pcmu", "pcma", "g722"] as const;
export type RawCodec = (typeof RAW_CODECS)[number];

/** G.722 bytes decoded at once (0.5 s of audio, about 3 ms of work) */
const G722_PIECE = 4096;

const NAMES: Readonly<Record<string, RawCodec>> = { pcmu: "pcmu", ulaw: "pcmu", pcma: "pcma", alaw: "pcma", g722: "g722" };

/** a raw stream's codec and the rate its bytes were sampled at */
export interface RawAudio {
  readonly codec: RawCodec;
  readonly sampleRate: number;
}

/** `codec` (any case) → its codec, or 400 `unsupported_codec` */
export function parseRawCodec(name: string, where = "codec"): RawCodec {
  const c = NAMES[name.trim().toLowerCase()];
  if (c && Object.hasOwn(NAMES, name.trim().toLowerCase())) return c;
  throw new GigasttError("unsupported_codec", `Unsupported codec ${JSON.stringify(name.slice(0, 20))} for '${where}'. Supported: pcmu (ulaw), pcma (alaw), g722`);
}

/**
 * The codec and its declared rate, checked: required with a codec (400 `invalid_sample_rate`);
 * G.711 8000–48000 Hz; G.722 decodes to 16 kHz and takes 8000 (the SDP clock-rate convention) or 16000.
 */
export function rawAudioOf(codec: string, sampleRate: string | undefined, where: { codec: string; rate: string }): RawAudio {
  const c = parseRawCodec(codec, where.codec);
  if (sampleRate === undefined || sampleRate.trim() === "") throw new GigasttError("invalid_sample_rate", `${where.rate} is required when ${where.codec} is set`);
  const rate = /^\d{1,6}$/.test(sampleRate.trim()) ? Number(sampleRate.trim()) : Number.NaN;
  if (c === "g722" && rate !== 8000 && rate !== 16000)
    throw new GigasttError("invalid_sample_rate", `g722 decodes to 16 kHz natively; ${where.rate} must be 8000 (SDP convention) or 16000, got ${sampleRate.slice(0, 20)}`);
  if (c !== "g722" && !(rate >= 8000 && rate <= 48000)) throw new GigasttError("invalid_sample_rate", `${where.rate} must be within 8000..48000 Hz for raw G.711, got ${sampleRate.slice(0, 20)}`);
  return { codec: c, sampleRate: c === "g722" ? 16000 : rate };
}

/** A streaming WAV header (data size 0xFFFFFFFF: to the end) for mono audio. */
export function wavHeader(formatTag: number, bits: number, sampleRate: number): Uint8Array {
  const b = new Uint8Array(44);
  const v = new DataView(b.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => (b[at + i] = c.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, 0xffffffff, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, formatTag, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, (sampleRate * bits) / 8, true);
  v.setUint16(32, bits / 8, true);
  v.setUint16(34, bits, true);
  ascii(36, "data");
  v.setUint32(40, 0xffffffff, true);
  return b;
}

async function* bytesOf(src: ByteSource | Uint8Array): AsyncGenerator<Uint8Array> {
  if (src instanceof Uint8Array) {
    yield src;
    return;
  }
  if (Symbol.asyncIterator in src || Symbol.iterator in src) {
    yield* src as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (src as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * The raw bytes of `src` as a WAV byte stream (nothing for an empty input, so the decoder
 * reports it as empty). Stopping the returned stream stops reading `src`.
 */
export async function* rawAsWav(src: ByteSource | Uint8Array, raw: RawAudio): AsyncGenerator<Uint8Array> {
  const g722 = raw.codec === "g722" ? new G722Decoder() : null;
  let started = false;
  for await (const chunk of bytesOf(src)) {
    if (chunk.length === 0) continue;
    if (!started) {
      started = true;
      yield g722 ? wavHeader(1, 16, 16000) : wavHeader(raw.codec === "pcma" ? 6 : 7, 8, raw.sampleRate);
    }
    if (!g722) {
      yield chunk;
      continue;
    }
    // in pieces of a few milliseconds of work, so the reader can give the event loop a turn between them
    for (let at = 0; at < chunk.length; at += G722_PIECE) {
      const pcm = g722.decode(chunk.subarray(at, at + G722_PIECE));
      yield new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    }
  }
}
