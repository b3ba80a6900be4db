/**
 * The `info` answer to `describe`: one ASR program (gigastt) with one model
 * (GigaAM v3 e2e RNN-T, Russian), transcript streaming supported.
 */
import pkg from "../../package.json" with { type: "json" };
import { MODEL_ID } from "../stream/language.ts";

export const PROGRAM_NAME = "gigastt";
export const LANGUAGES = Object.freeze(["ru"]);

export function infoData(version: string = pkg.version): Record<string, unknown> {
  return {
    asr: [
      {
        name: PROGRAM_NAME,
        description: "gigastt: local Russian speech-to-text (GigaAM v3)",
        attribution: { name: "gigastt", url: "https://github.com/gigastt/gigastt" },
        installed: true,
        version,
        models: [
          {
            name: MODEL_ID,
            description: "GigaAM v3 e2e RNN-T (Russian, punctuation and casing)",
            attribution: { name: "Salute Developers (GigaAM)", url: "https://github.com/salute-developers/GigaAM" },
            installed: true,
            version: "3",
            languages: [...LANGUAGES],
          },
        ],
        supports_transcript_streaming: true,
        // the client (Home Assistant) detects the end of speech and sends audio-stop
        requires_external_vad: true,
      },
    ],
    tts: [],
    handle: [],
    intent: [],
    wake: [],
    mic: [],
    snd: [],
  };
}
