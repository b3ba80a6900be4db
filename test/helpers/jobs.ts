/** Helpers for the jobs suites: long multi-utterance tone audio and a decoder that takes its time. */
import type { TranscriberLike } from "../../src/server/deps.ts";
import { phraseToAudio, wavBytes } from "./tone.ts";

const PHRASES = ["привет мир", "как дела", "это тест", "один два три", "да нет хорошо", "голос город"];

/** `n` short phrases, each followed by 0.8 s of silence (so each is its own segment), as WAV bytes */
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

/** `t` whose segment decodes each wait `ms` first (abortable), counting the decodes that ran */
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
        const timer = setTimeout(resolve, ms);
        opts?.signal?.addEventListener("abort", () => (clearTimeout(timer), reject(opts.signal!.reason)), { once: true });
      });
      calls++;
      return t.decodeSegment(samples, offset, opts);
    },
  };
}
