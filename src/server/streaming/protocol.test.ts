import { describe, expect, test } from "bun:test";
import { GigasttError } from "../../errors.ts";
import { errorMessage, parseClientMessage, parseRateParam, readyMessage, resultMessage } from "./protocol.ts";

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof GigasttError ? e.code : "not-gigastt";
  }
  return undefined;
}

describe("parseClientMessage", () => {
  test("stop and configure, raw or already parsed", () => {
    expect(parseClientMessage('{"type":"stop"}')).toEqual({ type: "stop" });
    expect(parseClientMessage({ type: "stop" })).toEqual({ type: "stop" });
    expect(parseClientMessage('{"type":"configure","sample_rate":16000,"protocol_version":"1.0","diarization":true}')).toEqual({
      type: "configure",
      sampleRate: 16000,
      protocolVersion: "1.0",
      diarization: true,
    });
    expect(parseClientMessage({ type: "configure", punctuation: false, itn: true, endpoint_mode: "manual", min_silence_ms: 800, other: 1 })).toEqual({
      type: "configure",
      punctuation: false,
      itn: true,
      endpointMode: "manual",
      minSilenceMs: 800,
    });
    expect(parseClientMessage({ type: "configure" })).toEqual({ type: "configure" });
  });

  test("malformed JSON, non-objects, a missing type → bad_message", () => {
    for (const m of ["{nope", "[]", '"stop"', "42", "null", '{"kind":"stop"}', '{"type":7}', 42, null, true, ["stop"]]) {
      expect(codeOf(() => parseClientMessage(m))).toBe("bad_message");
    }
  });

  test("an object of another type is unknown (ignored by the session, as in Rust)", () => {
    expect(parseClientMessage('{"type":"KeepAlive"}')).toEqual({ type: "unknown", name: "KeepAlive" });
  });

  test("a huge control message is refused before parsing", () => {
    const huge = JSON.stringify({ type: "configure", pad: "x".repeat(100_000) });
    expect(codeOf(() => parseClientMessage(huge))).toBe("bad_message");
  });
});

describe("parseRateParam", () => {
  test("absent → undefined, supported rates pass", () => {
    expect(parseRateParam(null)).toBeUndefined();
    expect(parseRateParam(undefined)).toBeUndefined();
    expect(parseRateParam("16000")).toBe(16000);
    expect(parseRateParam("44100")).toBe(44100);
  });
  test("anything else → invalid_sample_rate", () => {
    for (const v of ["", "7000", "16000.0", "16k", "-16000", "1e4", "96000"]) expect(codeOf(() => parseRateParam(v))).toBe("invalid_sample_rate");
  });
});

describe("server messages", () => {
  test("ready matches protocol 1.1 (Rust 2.15): versions and the session limits", () => {
    expect(readyMessage(48000, false, { maxSessionSecs: 3600, idleTimeoutSecs: 300 })).toEqual({
      type: "ready",
      model: "gigaam-v3-e2e-rnnt",
      sample_rate: 48000,
      version: "1.1",
      supported_rates: [8000, 16000, 24000, 44100, 48000],
      min_protocol_version: "1.0",
      max_session_secs: 3600,
      idle_timeout_secs: 300,
    });
    expect(readyMessage(16000).sample_rate).toBe(16000);
  });

  test("partial/final carry text, words, is_final and timestamp", () => {
    const words = [
      { word: "привет", start: 0.52, end: 0.76, confidence: 0.98 },
      { word: "мир", start: 0.88, end: 0.92, confidence: 0.95 },
    ];
    expect(resultMessage("final", words, 1712700000.5)).toEqual({ type: "final", text: "привет мир", words, is_final: true, timestamp: 1712700000.5 });
    expect(resultMessage("partial", [], 1).is_final).toBe(false);
  });

  test("Rust 2.15 fields: speech_final and endpoint_reason on ending finals, confidence with words", () => {
    const words = [{ word: "да", start: 0, end: 0.2, confidence: 0.912345 }];
    expect(resultMessage("final", words, 1, { confidence: 0.912345, speechFinal: true, endpointReason: "blank" })).toEqual({
      type: "final",
      text: "да",
      words: [{ word: "да", start: 0, end: 0.2, confidence: 0.9123 }],
      is_final: true,
      speech_final: true,
      endpoint_reason: "blank",
      confidence: 0.9123,
      timestamp: 1,
    });
    // the 20 s cap: final, but the speaker goes on
    const capped = resultMessage("final", words, 1, { confidence: 0.9, speechFinal: false, endpointReason: null });
    expect("speech_final" in capped || "endpoint_reason" in capped).toBe(false);
    // partials never carry them; an empty final has no confidence
    const partial = resultMessage("partial", words, 1, { confidence: 0.9, speechFinal: true, endpointReason: "stop" });
    expect(partial).toMatchObject({ confidence: 0.9 });
    expect("speech_final" in partial || "endpoint_reason" in partial).toBe(false);
    expect(resultMessage("final", [], 1, { confidence: undefined, speechFinal: true, endpointReason: "stop" })).toMatchObject({ speech_final: true, endpoint_reason: "stop" });
    expect("confidence" in resultMessage("final", [], 1, { speechFinal: true, endpointReason: "stop" })).toBe(false);
    expect(resultMessage("partial", [], 1).text).toBe("");
  });

  test("errors are safe: code, message, retry hint only when given", () => {
    expect(errorMessage(new GigasttError("timeout", undefined, { details: { retry_after_ms: 3000 } }))).toEqual({
      type: "error",
      message: "Server busy, try again later",
      code: "timeout",
      retry_after_ms: 3000,
    });
    expect(errorMessage(new Error("/secret/path exploded"))).toEqual({ type: "error", message: "Internal error", code: "internal" });
  });
});
