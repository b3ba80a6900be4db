/**
 * Wyoming audio formats: the `rate`/`width`/`channels` fields validated. The samples themselves
 * go through the live transports' one PCM input (stream/pcm-input.ts).
 */
import { GigasttError } from "../errors.ts";

export interface AudioFormat {
  readonly rate: number;
  /** bytes per sample */
  readonly width: number;
  readonly channels: number;
}

export const MIN_RATE = 8000;
export const MAX_RATE = 192_000;
export const MAX_CHANNELS = 16;

/**
 * The format fields of `audio-start` / `audio-chunk` data, validated:
 * `invalid_sample_rate` for a rate outside 8–192 kHz, `unsupported_format`
 * for a width other than 2 bytes or a bad channel count, `bad_message` for
 * missing or non-integer fields.
 */
export function parseAudioFormat(data: Readonly<Record<string, unknown>>): AudioFormat {
  const { rate, width, channels } = data;
  for (const [name, v] of [
    ["rate", rate],
    ["width", width],
    ["channels", channels],
  ] as const) {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new GigasttError("bad_message", `Audio '${name}' must be an integer`);
  }
  const f = { rate: rate as number, width: width as number, channels: channels as number };
  if (f.rate < MIN_RATE || f.rate > MAX_RATE) {
    throw new GigasttError("invalid_sample_rate", `Unsupported sample rate ${f.rate}: expected ${MIN_RATE}..${MAX_RATE} Hz`);
  }
  if (f.width !== 2) throw new GigasttError("unsupported_format", `Unsupported sample width ${f.width}: only 16-bit PCM (width 2) is accepted`);
  if (f.channels < 1 || f.channels > MAX_CHANNELS) {
    throw new GigasttError("unsupported_format", `Unsupported channel count ${f.channels}: expected 1..${MAX_CHANNELS}`);
  }
  return f;
}

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.rate === b.rate && a.width === b.width && a.channels === b.channels;
}
