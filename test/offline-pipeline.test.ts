/**
 * One offline pipeline (issue 11): the same bytes give the identical transcript, words and times
 * from `gigastt transcribe` (file and stdin), the library (`transcribe`, `transcribeStream` in
 * any chunk sizes), `POST /v1/transcribe`, `/v1/transcribe/stream` (SSE) and
 * `/v1/audio/transcriptions` (verbose_json, and `stream=true`).
 *
 * On the benchmark stand-in (random weights) every token depends on every frame the encoder
 * sees, so any difference of segment boundaries or context between entry points shows up in the
 * words; on the tone model the words are known and the times are checked too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { speechLikeClip } from "../scripts/bench/clip.ts";
import { writeStandIn } from "../scripts/make-bench-model.ts";
import { decodeAudioStream } from "../src/audio/load.ts";
import { runTranscribe } from "../src/cli/transcribe.ts";
import { MAX_SEGMENT_SECONDS } from "../src/engine/offline.ts";
import { Transcriber } from "../src/engine/transcriber.ts";
import { formatResult } from "../src/format/index.ts";
import { selectModelFiles } from "../src/model/files.ts";
import { makeToneModelDir, phraseToAudio, wavBytes } from "./helpers/tone.ts";
import { parseSse, startToneServer, type TestServer } from "./server/streaming-helpers.ts";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const tmp = mkdtempSync(join(tmpdir(), "gigastt-offline-"));
const standIn = join(tmp, "standin");
const closing: { close(): Promise<void> }[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all(closing.map((t) => t.close()));
  rmSync(tmp, { recursive: true, force: true });
});

interface W {
  word: string;
  start: number;
  end: number;
}
const ms = (x: number) => Math.round(x * 1000) / 1000;
const norm = (ws: readonly W[]): W[] => ws.map((w) => ({ word: w.word, start: ms(w.start), end: ms(w.end) }));

/** What every entry point answered for `bytes`: text and words (times in ms). */
interface Answer {
  text: string;
  words: W[];
}

async function library(t: Transcriber, bytes: Uint8Array): Promise<{ whole: Answer; chunked: Answer }> {
  const samples: Float32Array[] = [];
  for await (const c of decodeAudioStream([bytes])) samples.push(c);
  const all = Float32Array.from(samples.flatMap((c) => [...c]));
  const whole = await t.transcribe(all);
  // odd chunk sizes: the cuts are a function of the samples alone
  async function* odd() {
    for (let i = 0, k = 0; i < all.length; k++) {
      const n = [1, 777, 16000, 123457][k % 4]!;
      yield all.subarray(i, i + n);
      i += n;
    }
  }
  const chunked = await t.transcribeStream(odd());
  return { whole: { text: whole.text, words: norm(whole.words) }, chunked: { text: chunked.text, words: norm(chunked.words) } };
}

async function server(url: string, bytes: Uint8Array): Promise<{ rest: Answer; sse: Answer; sseFinals: number; openai: Answer; openaiStream: string; openaiDeltas: number }> {
  const restBody = (await (await fetch(`${url}/v1/transcribe`, { method: "POST", body: bytes })).json()) as Answer;
  const sseEvents = parseSse(await (await fetch(`${url}/v1/transcribe/stream`, { method: "POST", body: bytes })).text()).events;
  const finals = sseEvents.filter((e) => e.type === "final");
  const form = (fields: Record<string, string>) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    f.append("file", new Blob([bytes], { type: "audio/wav" }), "clip.wav");
    return f;
  };
  const oa = (await (
    await fetch(`${url}/v1/audio/transcriptions`, { method: "POST", body: form({ response_format: "verbose_json", "timestamp_granularities[]": "word" }) })
  ).json()) as { text: string; words: W[] };
  const raw = await (await fetch(`${url}/v1/audio/transcriptions`, { method: "POST", body: form({ stream: "true" }) })).text();
  const oaEvents = parseSse(raw.slice(0, -"data: [DONE]\n\n".length)).events as unknown as { type: string; delta?: string; text?: string }[];
  const deltas = oaEvents.filter((e) => e.type === "transcript.text.delta");
  expect(deltas.map((d) => d.delta).join("")).toBe(oaEvents.at(-1)!.text!);
  return {
    rest: { text: restBody.text, words: norm(restBody.words) },
    sse: { text: sseEvents.at(-1)!.text as string, words: norm(finals.flatMap((e) => e.words!)) },
    sseFinals: finals.length,
    openai: { text: oa.text, words: norm(oa.words) },
    openaiStream: oaEvents.at(-1)!.text!,
    openaiDeltas: deltas.length,
  };
}

describe("one offline pipeline on the stand-in", () => {
  // 30 s of speech-like audio: pauses everywhere, so an endpointing cut would move boundaries
  const clip = speechLikeClip(30, 11).samples;
  const bytes = wavBytes(clip);
  let t: Transcriber;
  let s: TestServer;
  beforeAll(async () => {
    await writeStandIn(standIn, { layers: 1, dFf: 64, seed: 5 });
    t = await Transcriber.fromFiles(selectModelFiles(standIn, "fp32"), { workers: 2 });
    closing.push(t);
    s = await startToneServer([], {}, t);
    servers.push(s);
  }, 120_000);

  test("library, CLI, REST, SSE and the OpenAI route give the same words and times", async () => {
    const lib = await library(t, bytes);
    expect(lib.whole.words.length).toBeGreaterThan(5);
    expect(lib.chunked).toEqual(lib.whole);

    const file = join(tmp, "clip.wav");
    writeFileSync(file, bytes);
    let out = "";
    const code = await runTranscribe({ file, modelDir: standIn, format: "json", offline: true, workers: "1" }, { env: {}, stdout: (x) => void (out += x), stderr: () => {} });
    expect(code).toBe(0);
    const cli = JSON.parse(out) as Answer;
    expect({ text: cli.text, words: norm(cli.words) }).toEqual(lib.whole);

    const srv = await server(s.url, bytes);
    expect(srv.rest).toEqual(lib.whole);
    expect(srv.sse).toEqual(lib.whole);
    expect(srv.openai).toEqual(lib.whole);
    expect(srv.openaiStream).toBe(lib.whole.text);
    // 30 s is more than one 20 s segment: SSE sends each segment's final on its own
    expect(srv.sseFinals).toBeGreaterThanOrEqual(Math.ceil(30 / MAX_SEGMENT_SECONDS));
    expect(srv.openaiDeltas).toBe(srv.sseFinals);
  }, 120_000);
});

describe("one offline pipeline on the tone model", () => {
  const PHRASE = "привет мир, как дела? это тест один два три да.";
  test("CLI (file and stdin), library and every server route: the same words at the tones' onsets", async () => {
    const modelDir = makeToneModelDir();
    // 0.4 s pauses between phrases (below the live endpointing pause), a 3 s one, 28 s in all
    const a = phraseToAudio(PHRASE);
    const samples = Float32Array.from([...a.samples, ...new Float32Array(16000 * 3), ...a.samples, ...a.samples, ...a.samples, ...a.samples]);
    const bytes = wavBytes(samples);
    const tone = await Transcriber.load({ modelDir, workers: 1 });
    closing.push(tone);
    const lib = await library(tone, bytes);
    expect(lib.whole.text).toBe(Array(5).fill(PHRASE).join(" "));
    expect(lib.whole.words[0]!.start).toBeCloseTo(a.onsets[0]!, 1);
    expect(lib.chunked).toEqual(lib.whole);

    const ts = await startToneServer([], {}, tone);
    servers.push(ts);
    const srv = await server(ts.url, bytes);
    expect(srv.rest).toEqual(lib.whole);
    expect(srv.sse).toEqual(lib.whole);
    expect(srv.openai).toEqual(lib.whole);
    expect(srv.openaiStream).toBe(lib.whole.text);

    const file = join(tmp, "tone.wav");
    writeFileSync(file, bytes);
    for (const [arg, stdin] of [[file, undefined], ["-", bytes]] as const) {
      const proc = Bun.spawn(["bun", MAIN, "transcribe", arg, "--model-dir", modelDir, "--format", "json", "--offline", "--workers", "1"], {
        env: { PATH: process.env.PATH ?? "", HOME: tmp },
        stdin: stdin ?? "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      expect(code).toBe(0);
      const cli = JSON.parse(out) as Answer;
      expect({ text: cli.text, words: norm(cli.words) }).toEqual(lib.whole);
    }
    // the library's own JSON is the same document
    expect(JSON.parse(formatResult(await tone.transcribe(samples), "json")).text).toBe(lib.whole.text);
  }, 120_000);
});
