/**
 * `channels=split` on a stereo call (a different phrase on each channel, from
 * test/fixtures/formats/make.ts): each channel transcribed on its own, words and segments
 * tagged with their channel and merged by time — CLI (file, stdin), REST (json, srt),
 * SSE and the OpenAI route. The default (mix) stays one transcript.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LEFT, RIGHT } from "./fixtures/formats/make.ts";
import { makeToneModelDir, phraseToAudio } from "./helpers/tone.ts";
import { closeToneTranscriber, parseSse, startToneServer, type TestServer } from "./server/streaming-helpers.ts";

const DIR = join(import.meta.dir, "fixtures", "formats");
const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const FILES = ["stereo-split.flac", "stereo-split.mp3"];
const starts = (a: ReturnType<typeof phraseToAudio>) => a.onsets.filter((_, i) => a.pieces[i]!.startsWith("▁"));
const EXPECTED = [
  { text: LEFT, onsets: starts(phraseToAudio(LEFT)) },
  { text: RIGHT, onsets: starts(phraseToAudio(RIGHT, { leadSec: 0.25 })) },
];

interface Word {
  word: string;
  start: number;
  channel?: number;
}

/** both phrases, each word on its channel at its tone's onset (±0.1 s), merged in time order */
function expectSplit(text: string, words: readonly Word[], what: string): void {
  expect(`${what}: ${text.trim()}`).toBe(`${what}: [0] ${LEFT}\n[1] ${RIGHT}`);
  for (let i = 1; i < words.length; i++) expect(words[i]!.start).toBeGreaterThanOrEqual(words[i - 1]!.start);
  EXPECTED.forEach((e, channel) => {
    const mine = words.filter((w) => w.channel === channel);
    expect(`${what} [${channel}]: ${mine.map((w) => w.word).join(" ")}`).toBe(`${what} [${channel}]: ${e.text}`);
    mine.forEach((w, i) => {
      if (Math.abs(w.start - e.onsets[i]!) > 0.1) throw new Error(`${what}: channel ${channel} word ${i} at ${w.start}, tone at ${e.onsets[i]}`);
    });
  });
  expect(words.every((w) => w.channel === 0 || w.channel === 1)).toBe(true);
}

let srv: TestServer;
let modelDir: string;
beforeAll(async () => {
  srv = await startToneServer();
  modelDir = makeToneModelDir();
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

async function cli(args: string[], stdin?: Uint8Array): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["bun", MAIN, "transcribe", ...args, "--model-dir", modelDir, "--workers", "1"], {
    env: { PATH: process.env.PATH ?? "", HOME: modelDir },
    stdin: stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("channels=split", () => {
  for (const name of FILES) {
    test(`CLI --channels split, file and stdin: ${name}`, async () => {
      const path = join(DIR, name);
      const [file, piped, srt] = await Promise.all([
        cli([path, "--channels", "split", "--format", "json"]),
        cli(["-", "--channels", "split", "--format", "json"], readFileSync(path)),
        cli([path, "--channels", "split", "--format", "srt"]),
      ]);
      for (const r of [file, piped]) {
        expect(r.code).toBe(0);
        const j = JSON.parse(r.stdout) as { text: string; words: Word[]; segments: { channel: number; text: string }[] };
        expectSplit(j.text, j.words, `CLI ${name}`);
        expect(j.segments.map((s) => `${s.channel}:${s.text}`).sort()).toEqual([`0:${LEFT}`, `1:${RIGHT}`]);
      }
      // cues of both channels, labelled, overlapping in time as the speakers do
      expect(srt.stdout).toMatch(new RegExp(`^1\\n00:00:00,\\d{3} --> [\\d:,]+\\n\\[0\\] ${LEFT}\\n\\n2\\n00:00:00,\\d{3} --> [\\d:,]+\\n\\[1\\] ${RIGHT}\\n`));
    });

    test(`REST, SSE and OpenAI: ${name}`, async () => {
      const bytes = readFileSync(join(DIR, name));
      const j = (await (await fetch(`${srv.url}/v1/transcribe?channels=split`, { method: "POST", body: bytes })).json()) as { text: string; words: Word[] };
      expectSplit(j.text, j.words, `REST ${name}`);

      const vtt = await (await fetch(`${srv.url}/v1/transcribe?channels=split&format=vtt`, { method: "POST", body: bytes })).text();
      expect(vtt).toContain(`[0] ${LEFT}`);
      expect(vtt).toContain(`[1] ${RIGHT}`);

      const sse = parseSse(await (await fetch(`${srv.url}/v1/transcribe/stream?channels=split`, { method: "POST", body: bytes })).text()).events as unknown as {
        type: string;
        channel?: number;
        text: string;
        words?: Word[];
      }[];
      const finals = sse.filter((e) => e.type === "final");
      expect(finals.every((e) => e.channel === 0 || e.channel === 1)).toBe(true);
      const words = finals.flatMap((e) => e.words ?? []).sort((a, b) => a.start - b.start);
      expectSplit(sse.find((e) => e.type === "done")!.text, words, `SSE ${name}`);

      const form = new FormData();
      form.append("model", "whisper-1");
      form.append("channels", "split");
      form.append("response_format", "verbose_json");
      form.append("timestamp_granularities[]", "word");
      form.append("timestamp_granularities[]", "segment");
      form.append("file", new Blob([bytes]), name);
      const v = (await (await fetch(`${srv.url}/v1/audio/transcriptions`, { method: "POST", body: form })).json()) as {
        text: string;
        words: Word[];
        segments: { channel: number; speaker: string; text: string; avg_logprob: number }[];
      };
      expectSplit(v.text, v.words, `OpenAI ${name}`);
      expect(v.segments.map((s) => `${s.speaker}:${s.channel}:${s.text}`).sort()).toEqual([`channel 0:0:${LEFT}`, `channel 1:1:${RIGHT}`]);
      for (const s of v.segments) expect(s.avg_logprob).toBeLessThan(0);
    });
  }

  test("default (mix) is one transcript without channels; a bad value is 400 usage", async () => {
    const bytes = readFileSync(join(DIR, "stereo-split.flac"));
    const mix = (await (await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: bytes })).json()) as { words: Word[] };
    expect(mix.words.some((w) => "channel" in w)).toBe(false);
    const bad = await fetch(`${srv.url}/v1/transcribe?channels=both`, { method: "POST", body: bytes });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe("usage");
  });

  test("OpenAI channels=split with stream=true (before or after the file): deltas tagged by channel, the merged done text", async () => {
    const bytes = readFileSync(join(DIR, "stereo-split.mp3"));
    for (const streamFirst of [true, false]) {
      const form = new FormData();
      form.append("channels", "split");
      if (streamFirst) form.append("stream", "true");
      form.append("file", new Blob([bytes]), "call.mp3");
      if (!streamFirst) form.append("stream", "true");
      const r = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: "POST", body: form });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toContain("text/event-stream");
      const raw = await r.text();
      expect(raw.trimEnd().endsWith("data: [DONE]")).toBe(true);
      const events = raw
        .split("\n")
        .filter((l) => l.startsWith("data: {"))
        .map((l) => JSON.parse(l.slice(6)) as { type: string; delta?: string; text?: string; channel?: number });
      const what = streamFirst ? "stream before the file" : "stream after the file";
      for (const channel of [0, 1]) {
        const mine = events.filter((e) => e.type === "transcript.text.delta" && e.channel === channel).map((e) => e.delta).join("");
        expect(`${what} [${channel}]: ${mine}`).toBe(`${what} [${channel}]: ${channel === 0 ? LEFT : RIGHT}`);
      }
      expect(events.filter((e) => e.type === "transcript.text.done").map((e) => e.text)).toEqual([`[0] ${LEFT}\n[1] ${RIGHT}`]);
    }
  });

  test("OpenAI channels=split after the file: 400 usage naming the field (mix there is the default, accepted)", async () => {
    const bytes = readFileSync(join(DIR, "stereo-split.flac"));
    const late = (value: string) => {
      const form = new FormData();
      form.append("file", new Blob([bytes]), "call.flac");
      form.append("channels", value);
      return fetch(`${srv.url}/v1/audio/transcriptions`, { method: "POST", body: form });
    };
    const r = await late("split");
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error.param).toBe("channels");
    expect(body.error.message).toContain("before the file");
    expect((await late("mix")).status).toBe(200);
  });

  test("a mono file split is one channel, tagged 0", async () => {
    const j = (await (await fetch(`${srv.url}/v1/transcribe?channels=split`, { method: "POST", body: readFileSync(join(DIR, "mp3-32k-mono.mp3")) })).json()) as {
      text: string;
      words: Word[];
    };
    expect(j.text.startsWith("[0] ")).toBe(true);
    expect(j.words.every((w) => w.channel === 0)).toBe(true);
  });
});
