import { describe, expect, test } from "bun:test";
import { isGigasttError } from "../errors.ts";
import { resolveTranscribeOutput, type RustTranscribeArgs, UNAVAILABLE_FLAGS } from "./transcribe-options.ts";

function refusal(a: RustTranscribeArgs, env: Record<string, string> = {}): { code: string; message: string } {
  try {
    resolveTranscribeOutput(a, env);
  } catch (e) {
    if (isGigasttError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error(`accepted: ${JSON.stringify(a)} ${JSON.stringify(env)}`);
}

describe("transcribe: Rust 2.15 output flags", () => {
  test("defaults: txt on stdout, mix, no codec, Rust's line limits left to the formatter", () => {
    expect(resolveTranscribeOutput({}, {})).toEqual({ format: "txt", render: {}, output: null, channels: "mix", raw: null, warnings: [] });
  });

  test("-f takes every name and alias in any case; GIGASTT_FORMAT when the flag is absent; bad → invalid_format", () => {
    for (const [f, want] of [["text", "txt"], ["TXT", "txt"], ["json", "json"], ["markdown", "md"], ["Md", "md"], ["srt", "srt"], ["VTT", "vtt"]] as const)
      expect(resolveTranscribeOutput({ format: f }, {}).format).toBe(want);
    expect(resolveTranscribeOutput({}, { GIGASTT_FORMAT: "srt" }).format).toBe("srt");
    expect(resolveTranscribeOutput({ format: "json" }, { GIGASTT_FORMAT: "srt" }).format).toBe("json");
    expect(refusal({ format: "docx" })).toMatchObject({ code: "invalid_format" });
    expect(refusal({}, { GIGASTT_FORMAT: "pdf" }).message).toContain("GIGASTT_FORMAT");
  });

  test("-o / GIGASTT_OUTPUT, line limits, word timestamps (flags and env)", () => {
    const o = resolveTranscribeOutput({ output: "t.srt", maxCharsPerLine: "40", maxWordsPerLine: "0", wordTimestamps: true }, {});
    expect(o).toMatchObject({ output: "t.srt", render: { maxChars: 40, maxWords: 0, wordTimestamps: true } });
    const e = resolveTranscribeOutput({}, { GIGASTT_OUTPUT: "x.md", GIGASTT_MAX_CHARS_PER_LINE: "10", GIGASTT_MAX_WORDS_PER_LINE: "3", GIGASTT_WORD_TIMESTAMPS: "true" });
    expect(e).toMatchObject({ output: "x.md", render: { maxChars: 10, maxWords: 3, wordTimestamps: true } });
    expect(resolveTranscribeOutput({ output: "-" }, {}).output).toBeNull();
    expect(refusal({ maxCharsPerLine: "-1" })).toMatchObject({ code: "usage" });
    expect(refusal({}, { GIGASTT_MAX_WORDS_PER_LINE: "many" }).message).toContain("GIGASTT_MAX_WORDS_PER_LINE");
  });

  test("--stereo-speakers / GIGASTT_STEREO_SPEAKERS is --channels split; with --channels mix it is a contradiction", () => {
    expect(resolveTranscribeOutput({ stereoSpeakers: true }, {}).channels).toBe("split");
    expect(resolveTranscribeOutput({}, { GIGASTT_STEREO_SPEAKERS: "1" }).channels).toBe("split");
    expect(resolveTranscribeOutput({ channels: "split" }, {}).channels).toBe("split");
    expect(refusal({ stereoSpeakers: true, channels: "mix" }).message).toContain("disagree");
  });

  test("--codec + --sample-rate (and GIGASTT_CODEC / GIGASTT_SAMPLE_RATE); the rate alone, a bad codec or rate refused", () => {
    expect(resolveTranscribeOutput({ codec: "ulaw", sampleRate: "8000" }, {}).raw).toEqual({ codec: "pcmu", sampleRate: 8000 });
    expect(resolveTranscribeOutput({}, { GIGASTT_CODEC: "g722", GIGASTT_SAMPLE_RATE: "8000" }).raw).toEqual({ codec: "g722", sampleRate: 16000 });
    expect(refusal({ codec: "pcma" })).toMatchObject({ code: "invalid_sample_rate" });
    expect(refusal({ codec: "pcma" }).message).toContain("--sample-rate");
    expect(refusal({ codec: "gsm", sampleRate: "8000" })).toMatchObject({ code: "unsupported_codec" });
    expect(refusal({ sampleRate: "8000" }).message).toContain("--codec");
  });

  test("--model-variant e2e_rnnt, --punctuation auto|off, --itn auto|off accepted; --punct-model-dir warned; other heads and `on` refused in one line", () => {
    const ok = resolveTranscribeOutput({ modelVariant: "E2E-RNNT", punctuation: "off", itn: "auto", punctModelDir: "/p" }, { GIGASTT_PUNCTUATION: "auto" });
    expect(ok.warnings).toEqual([expect.stringContaining("--punct-model-dir has no effect")]);
    expect(refusal({ modelVariant: "rnnt" }).message).toContain("e2e_rnnt only");
    expect(refusal({}, { GIGASTT_MODEL_VARIANT: "ml_ctc" }).message).toContain("e2e_rnnt only");
    expect(refusal({ punctuation: "on" }).message).toContain("--punctuation on needs the RuPunct");
    expect(refusal({ itn: "on" }).message).toContain("--itn on needs");
    expect(refusal({ itn: "maybe" }).message).toContain("auto, on or off");
    for (const r of [refusal({ modelVariant: "rnnt" }), refusal({ punctuation: "on" })]) expect(r.message).not.toContain("\n");
  });

  test("--encoder-intra-threads is --threads (also GIGASTT_ENCODER_INTRA_THREADS); both disagreeing refused", () => {
    expect(resolveTranscribeOutput({ encoderIntraThreads: "2" }, {}).threads).toBe("2");
    expect(resolveTranscribeOutput({}, { GIGASTT_ENCODER_INTRA_THREADS: "3" }).threads).toBe("3");
    expect(resolveTranscribeOutput({ threads: "2", encoderIntraThreads: "2" }, {}).threads).toBe("2");
    expect(refusal({ threads: "1", encoderIntraThreads: "2" }).message).toContain("disagree");
  });

  test("every VAD flag and variable fails with its own line; off values pass (the hotwords flags work: test/cli-hotwords.test.ts)", () => {
    expect(Object.keys(UNAVAILABLE_FLAGS).filter((n) => n.startsWith("hotwords"))).toEqual([]);
    for (const name of Object.keys(UNAVAILABLE_FLAGS)) {
      const value = name === "vad" ? true : "x";
      expect(refusal({ unavailable: { [name]: value } }).message).toStartWith(`--${name} `);
      expect(refusal({}, { [`GIGASTT_${name.toUpperCase().replaceAll("-", "_")}`]: "1" }).message).toStartWith(`--${name} `);
    }
    expect(resolveTranscribeOutput({ unavailable: { vad: false } }, { GIGASTT_VAD: "false", GIGASTT_HOTWORDS_DEFAULT: "0" }).format).toBe("txt");
  });
});
