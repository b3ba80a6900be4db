/**
 * Framing invariance: the same recording sent in 20 ms, 100 ms, 1 s frames
 * and in one frame gives identical finals (texts and word times), and their
 * concatenated text equals REST /v1/transcribe on the same audio.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { concat } from "../helpers/wav.ts";
import {
  closeToneTranscriber,
  finalText,
  pcm16,
  type ServerMessage,
  splitBytes,
  startToneServer,
  streamSession,
  type TestServer,
  toneAt,
  wavBytes,
} from "./streaming-helpers.ts";

let srv: TestServer;
beforeAll(async () => {
  srv = await startToneServer(["--ws-frame-max-bytes", String(4 * 1024 * 1024)]);
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

/** three utterances (pauses of 0.8 s), the last one running into `stop` */
function recording(rate: number): Float32Array {
  return concat(
    toneAt("привет мир, как дела?", rate, { tailSec: 0.8 }),
    toneAt("это тест один два три", rate, { leadSec: 0, tailSec: 0.8 }),
    toneAt("да нет хорошо", rate, { leadSec: 0, tailSec: 0.1 }),
  );
}

const finals = (ms: readonly ServerMessage[]) =>
  ms.filter((m) => m.type === "final").map((m) => ({ text: m.text, words: m.words!.map((w) => [w.word, w.start, w.end]) }));

test("48 kHz (default rate): 20 ms, 100 ms, 1 s and one frame → identical finals, equal to REST", async () => {
  const samples = recording(48000);
  const bytes = pcm16(samples);
  const results = [];
  for (const frameMs of [20, 100, 1000, 0]) {
    const frames = frameMs === 0 ? [bytes] : splitBytes(bytes, (48000 * 2 * frameMs) / 1000);
    const { messages, close } = await streamSession(srv.ws, frames);
    expect(close.code).toBe(1000);
    expect(messages.filter((m) => m.type === "error")).toEqual([]);
    results.push(finals(messages));
  }
  // three utterances: two closed by their pause, the last by stop
  expect(results[0]!.map((f) => f.text)).toEqual(["привет мир, как дела?", "это тест один два три", "да нет хорошо"]);
  for (const r of results.slice(1)) expect(r).toEqual(results[0]!);

  const rest = (await (await fetch(`${srv.url}/v1/transcribe?format=text`, { method: "POST", body: wavBytes(samples, 48000) })).text()).trim();
  expect(results[0]!.map((f) => f.text).join(" ")).toBe(rest);
});

test("16 kHz with 10 ms frames and odd-sized frames → the same finals as one frame", async () => {
  const bytes = pcm16(recording(16000));
  const oneFrame = finals((await streamSession(srv.ws, [bytes], { configure: { sample_rate: 16000 } })).messages);
  const tiny = finals((await streamSession(srv.ws, splitBytes(bytes, 320), { configure: { sample_rate: 16000 } })).messages);
  const odd = finals((await streamSession(srv.ws, splitBytes(bytes, 4001), { configure: { sample_rate: 16000 } })).messages);
  expect(tiny).toEqual(oneFrame);
  expect(odd).toEqual(oneFrame);
  expect(oneFrame.map((f) => f.text).join(" ")).toBe("привет мир, как дела? это тест один два три да нет хорошо");
});

test("word times are seconds from the stream start across utterances", async () => {
  const bytes = pcm16(recording(16000));
  const { messages } = await streamSession(srv.ws, splitBytes(bytes, 3200), { configure: { sample_rate: 16000 } });
  const words = messages.filter((m) => m.type === "final").flatMap((m) => m.words!);
  const first = toneAt("привет мир, как дела?", 16000, { tailSec: 0.8 }).length / 16000;
  // "это" is the first tone of the second utterance, right at its start
  const eto = words.find((w) => w.word === "это")!;
  expect(Math.abs(eto.start - first)).toBeLessThanOrEqual(0.1);
  expect(finalText(messages)).toContain("это тест");
});
