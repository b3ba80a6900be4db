/** Helpers for the jobs suites: long multi-utterance tone audio and a decoder that takes its time. */
import type { TranscriberLike } from "../../src/server/deps.ts";
import { phraseToAudio, wavBytes } from "./tone.ts";

const PHRASES = ["привет мир", "как дела", "это тест", "один два три", "да нет хорошо", "голос город"];

/**
 * `n` short phrases, each followed by 0.8 s of silence, as WAV bytes (the live endpointing cuts
 * each phrase on its own; a file is cut only near 20 s, so several phrases share a segment)
 */
export function longToneWav(n: number): Uint8Array {
  const parts = Array.from({ length: n }, (_, i) => phraseToAudio(PHRASES[i % PHRASES.length]!, { tailSec: 0.8 }).samples);
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return wavBytes(all, 16000);
}

/** seconds of audio one phrase of {@link longToneWav} takes, about */
const PHRASE_SECONDS = 2.5;

/**
 * `t` whose segment decodes each wait `ms` per phrase of audio in the segment first (abortable),
 * counting the decodes that ran: a job takes about `ms` per phrase, whatever the segmenting.
 */
export function slowTranscriber(t: TranscriberLike, ms: number): TranscriberLike & { readonly calls: number } {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    info: t.info,
    transcribeStream: (chunks, opts) => t.transcribeStream(chunks, opts),
    async decodeSegment(samples, offset, opts) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms * Math.max(1, Math.round(samples.length / 16000 / PHRASE_SECONDS)));
        opts?.signal?.addEventListener("abort", () => (clearTimeout(timer), reject(opts.signal!.reason)), { once: true });
      });
      calls++;
      return t.decodeSegment(samples, offset, opts);
    },
  };
}
