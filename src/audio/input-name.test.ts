import { expect, test } from "bun:test";
import { GigasttError } from "../errors.ts";
import { decodeAudioStream } from "./load.ts";
import { namingInput, shellQuote, withInputName } from "./input-name.ts";

import { wavBytes } from "../../test/helpers/tone.ts";

// a WAV at 4 kHz: below what any decoder here will take (a rate hint: `ffmpeg -i in.wav -ar 16000 …`)
const wav4k = () => wavBytes(new Float32Array(4000), 4000);

test("the unsupported-format hint names the user's own file and a matching output", async () => {
  let err: unknown;
  try {
    for await (const _ of namingInput(decodeAudioStream(wav4k()), "talk.wav"));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GigasttError);
  expect((err as GigasttError).code).toBe("unsupported_format");
  expect((err as GigasttError).message).toContain("ffmpeg -i talk.wav -ar 16000 -ac 1 talk.16k.wav");
  expect((err as GigasttError).message).not.toContain("in.wav");
});

test("names are shell-quoted; a WAV gets a different output name; paths keep their folder for input only", () => {
  const e = new GigasttError("unsupported_format", "x; convert it first, e.g. ffmpeg -i in.wav -ar 16000 -ac 1 out.wav");
  expect((withInputName(e, "my talk.wav") as Error).message).toContain("ffmpeg -i 'my talk.wav' -ar 16000 -ac 1 'my talk.16k.wav'");
  expect((withInputName(e, "/tmp/a/it's.ogg") as Error).message).toContain(`ffmpeg -i '/tmp/a/it'\\''s.ogg' -ar 16000 -ac 1 'it'\\''s.wav'`);
  expect(shellQuote("plain-name_1.mp3")).toBe("plain-name_1.mp3");
  // no name (stdin, raw uploads) or no hint: unchanged
  expect(withInputName(e, "-")).toBe(e);
  expect(withInputName(e, null)).toBe(e);
  const other = new GigasttError("invalid_audio", "broken");
  expect(withInputName(other, "a.wav")).toBe(other);
});
