/**
 * `serve --vad` over real loopback sockets (issue 19): WS `configure.endpoint_mode=vad` with
 * `min_silence_ms`, REST `?vad=true|false`, and the refusals (`vad_not_loaded`,
 * `invalid_endpoint_mode`). The tone model transcribes band energy, so Golos speech gives it
 * words and tones are "words" that Silero does not call speech.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { golos, whiteNoise } from "../helpers/golos.ts";
import { concat } from "../helpers/wav.ts";
import { closeToneTranscriber, makeToneModelDir, pcm16, phraseToAudio, splitBytes, startToneServer, streamSession, type TestServer, wavBytes, WsClient } from "./streaming-helpers.ts";

let withVad: Transcriber;
let vadSrv: TestServer;
let plainSrv: TestServer;
let speech: Float32Array;
beforeAll(async () => {
  withVad = await Transcriber.load({ modelDir: makeToneModelDir(), workers: 1, vad: true });
  vadSrv = await startToneServer(["--vad"], {}, withVad);
  plainSrv = await startToneServer();
  const noise = (s: number, seed: number) => whiteNoise(Math.round(s * 16000), 0.03, seed);
  speech = concat(noise(1, 1), await golos(0), noise(1.5, 2), await golos(7), noise(1, 3));
});
afterAll(async () => {
  await vadSrv.stop();
  await plainSrv.stop();
  await withVad.close();
  await closeToneTranscriber();
});

const said = (messages: readonly { type: string; text?: string }[]) => messages.filter((m) => m.type === "final" && m.text);

describe("WS configure.endpoint_mode=vad", () => {
  test("an utterance ends after min_silence_ms of non-speech: one final per clip", async () => {
    const frames = splitBytes(pcm16(speech), 3200);
    const { messages, close } = await streamSession(vadSrv.ws, frames, { configure: { sample_rate: 16000, endpoint_mode: "vad", min_silence_ms: 500 } });
    expect(close.code).toBe(1000);
    expect(messages.filter((m) => m.type === "error")).toEqual([]);
    const finals = said(messages) as unknown as { words: { start: number }[] }[];
    expect(finals).toHaveLength(2);
    // the first final's words are in the first clip (1.0–5.0 s), the second's in the second (6.5–8.5 s)
    expect(finals[0]!.words.every((w) => w.start >= 0.8 && w.start < 5.2)).toBe(true);
    expect(finals[1]!.words.every((w) => w.start >= 6.3 && w.start < 8.8)).toBe(true);
  });

  test("with --vad, VAD is the default (auto); endpoint_mode=energy keeps energy: tones right after speech are no pause to energy", async () => {
    const a = await golos(0);
    const tones = phraseToAudio("привет мир как дела", { gapSec: 0.05, leadSec: 0.05, tailSec: 0.05 }).samples;
    const x = concat(a, tones, await golos(7), new Float32Array(16000));
    const toneSpan = [a.length / 16000, (a.length + tones.length) / 16000] as const;
    const inTones = (messages: readonly { type: string; words?: { start: number }[] }[]) =>
      messages.filter((m) => m.type === "final").flatMap((m) => m.words ?? []).filter((w) => w.start >= toneSpan[0] + 0.1 && w.start < toneSpan[1]);
    const frames = splitBytes(pcm16(x), 3200);
    const auto = await streamSession(vadSrv.ws, frames, { configure: { sample_rate: 16000 } });
    const explicit = await streamSession(vadSrv.ws, frames, { configure: { sample_rate: 16000, endpoint_mode: "auto" } });
    const energy = await streamSession(vadSrv.ws, frames, { configure: { sample_rate: 16000, endpoint_mode: "energy" } });
    expect(inTones(auto.messages as never)).toEqual([]);
    expect(said(auto.messages)).toHaveLength(2);
    expect(said(explicit.messages).map((m) => m.text)).toEqual(said(auto.messages).map((m) => m.text));
    expect(inTones(energy.messages as never).length).toBeGreaterThan(0);
  });

  test("a bad endpoint_mode (invalid_endpoint_mode) or min_silence_ms (bad_message, the WS rule for it): the session goes on", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ endpoint_mode: "assistant-ish" }, "invalid_endpoint_mode"],
      [{ endpoint_mode: "vad", min_silence_ms: 5 }, "bad_message"],
      [{ min_silence_ms: "500" }, "bad_message"],
    ];
    for (const [configure, code] of cases) {
      const c = await WsClient.open(vadSrv.ws);
      await c.next("ready");
      c.json({ type: "configure", ...configure });
      expect(await c.next("error")).toMatchObject({ code });
      c.json({ type: "stop" });
      expect((await c.closed).code).toBe(1000);
    }
  });

  test("endpoint_mode=vad on a server without --vad: vad_not_loaded", async () => {
    const c = await WsClient.open(plainSrv.ws);
    await c.next("ready");
    c.json({ type: "configure", endpoint_mode: "vad" });
    expect(await c.next("error")).toMatchObject({ code: "vad_not_loaded" });
    c.close();
  });
});

describe("REST ?vad=", () => {
  const tones = () => concat(speech, phraseToAudio("как дела").samples, new Float32Array(16000));
  const post = (srv: TestServer, q: string, body: Uint8Array) => fetch(`${srv.url}/v1/transcribe${q}`, { method: "POST", body, headers: { "content-type": "audio/wav" } });

  test("with --vad files go through the VAD by default (tones, not speech, are dropped); vad=false turns it off", async () => {
    const wav = wavBytes(tones());
    const toneStart = speech.length / 16000;
    const words = async (q: string) => {
      const r = await post(vadSrv, q, wav);
      expect(r.status).toBe(200);
      return ((await r.json()) as { words: { word: string; start: number }[] }).words;
    };
    const byDefault = await words("");
    const on = await words("?vad=true");
    const off = await words("?vad=false");
    expect(on).toEqual(byDefault);
    expect(off.filter((w) => w.start >= toneStart).map((w) => w.word)).toEqual(["как", "дела"]);
    expect(on.filter((w) => w.start >= toneStart)).toEqual([]);
    expect(on.filter((w) => w.start < toneStart).length).toBeGreaterThan(0);
  });

  test("vad=true without --vad: 409 vad_not_loaded; a value that is not a boolean: 400", async () => {
    const wav = wavBytes(speech);
    const r = await post(plainSrv, "?vad=true", wav);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { code: string }).code).toBe("vad_not_loaded");
    const off = await post(plainSrv, "?vad=false", wav);
    expect(off.status).toBe(200);
    const bad = await post(vadSrv, "?vad=maybe", wav);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe("usage");
  });
});
