/**
 * Error messages that name the user's own input: the audio core only sees
 * bytes, so its conversion hints say `ffmpeg -i in.mp3 … out.wav`; where the
 * caller knows the file (the CLI's path, an upload's filename) it swaps in
 * the real name, shell-quoted, and a matching output name.
 */
import { GigasttError, isGigasttError } from "../errors.ts";

const HINT = /ffmpeg -i in\.[A-Za-z0-9]+ (.*?) out\.wav/;

/** POSIX shell quoting, only when needed */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./+:@%=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `talk.mp3` → `talk.wav`; `talk.wav` (a WAV it cannot read) → `talk.16k.wav` */
function outputName(name: string): string {
  const base = name.replace(/^.*[\\/]/, "");
  const dot = base.lastIndexOf(".");
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const ext = dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
  return `${stem || "audio"}${ext === "wav" ? ".16k" : ""}.wav`;
}

/** `e` with its conversion hint naming `name` (unchanged when there is no hint or no usable name). */
export function withInputName(e: unknown, name: string | null | undefined): unknown {
  if (!isGigasttError(e) || !name || name === "-" || /[\r\n]/.test(name) || name.length > 255) return e;
  if (!HINT.test(e.message)) return e;
  const message = e.message.replace(HINT, (_m, args: string) => `ffmpeg -i ${shellQuote(name)} ${args} ${shellQuote(outputName(name))}`);
  return new GigasttError(e.code, message, { cause: e, details: { ...e.details } });
}

/** The same stream, its errors passed through {@link withInputName}. */
export async function* namingInput<T>(src: AsyncGenerator<T>, name: string | null | undefined | (() => string | null | undefined)): AsyncGenerator<T> {
  try {
    yield* src;
  } catch (e) {
    throw withInputName(e, typeof name === "function" ? name() : name);
  }
}
