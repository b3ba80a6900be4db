/**
 * Every compressed or telephone format a user has, end to end with the tone model:
 * the ffmpeg-made fixtures in test/fixtures/formats (make.ts) give the phrase's exact
 * text and word starts within ±0.1 s on the CLI (file and stdin), POST /v1/transcribe,
 * the SSE route and the OpenAI route.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, PHRASE } from "./fixtures/formats/make.ts";
import { makeToneModelDir, phraseToAudio } from "./helpers/tone.ts";
import { closeToneTranscriber, parseSse, startToneServer, type TestServer } from "./server/streaming-helpers.ts";

const DIR = join(import.meta.dir, "fixtures", "formats");
const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const MONO = Object.keys(FIXTURES).filter((f) => !f.startsWith("stereo-") && f !== "video-only.mp4");
const audio = phraseToAudio(PHRASE);
const onsets = audio.onsets.filter((_, i) => audio.pieces[i]!.startsWith("▁"));

interface Word {
  word: string;
  start: number;
}

function expectPhrase(text: string, words: readonly Word[], what: string): void {
  expect(`${what}: ${text.trim()}`).toBe(`${what}: ${PHRASE}`);
  expect(words.length).toBe(onsets.length);
  words.forEach((w, i) => {
    const off = Math.abs(w.start - onsets[i]!);
    if (off > 0.1) throw new Error(`${what}: word ${i} "${w.word}" starts at ${w.start}, the tone at ${onsets[i]!.toFixed(3)}`);
  });
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

describe("formats over HTTP", () => {
  for (const name of MONO) {
    test(name, async () => {
      const bytes = readFileSync(join(DIR, name));
      const rest = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: bytes, headers: { "content-type": "application/octet-stream" } });
      expect(rest.status).toBe(200);
      const json = (await rest.json()) as { text: string; words: Word[] };
      expectPhrase(json.text, json.words, `REST ${name}`);

      const sse = await fetch(`${srv.url}/v1/transcribe/stream`, { method: "POST", body: bytes });
      expect(sse.status).toBe(200);
      const events = parseSse(await sse.text()).events as unknown as { type: string; text: string; words?: Word[] }[];
      const finals = events.filter((e) => e.type === "final").flatMap((e) => e.words ?? []);
      const done = events.find((e) => e.type === "done")!;
      expectPhrase(done.text, finals, `SSE ${name}`);

      const form = new FormData();
      form.append("model", "whisper-1");
      form.append("response_format", "verbose_json");
      form.append("timestamp_granularities[]", "word");
      form.append("file", new Blob([bytes]), name);
      const oa = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: "POST", body: form });
      expect(oa.status).toBe(200);
      const v = (await oa.json()) as { text: string; words: Word[] };
      expectPhrase(v.text, v.words, `OpenAI ${name}`);
    });
  }
});

async function cli(args: string[], stdin?: Uint8Array): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["bun", MAIN, "transcribe", ...args, "--model-dir", modelDir, "--format", "json", "--workers", "1"], {
    env: { PATH: process.env.PATH ?? "", HOME: modelDir },
    stdin: stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("formats on the CLI (file and stdin)", () => {
  for (const name of MONO) {
    test(name, async () => {
      const path = join(DIR, name);
      const [file, piped] = await Promise.all([cli([path]), cli(["-"], readFileSync(path))]);
      for (const [r, how] of [
        [file, "file"],
        [piped, "stdin"],
      ] as const) {
        if (r.code !== 0) throw new Error(`${how} ${name}: exit ${r.code}: ${r.stderr}`);
        const j = JSON.parse(r.stdout) as { text: string; words: Word[] };
        expectPhrase(j.text, j.words, `CLI ${how} ${name}`);
      }
    });
  }
});

describe("damaged files", () => {
  const broken = () => {
    const b = new Uint8Array(readFileSync(join(DIR, "opus-32k.ogg")));
    b.fill(0x55, 6000, 6400);
    return b;
  };

  test("REST: 200 with the valid part and a `warnings` field; an intact file has none", async () => {
    const r = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: broken() });
    expect(r.status).toBe(200);
    const j = (await r.json()) as { text: string; warnings?: string[] };
    expect(j.text.length).toBeGreaterThan(0);
    expect(j.warnings?.join("\n")).toContain("Opus: libopus");
    const ok = (await (await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: readFileSync(join(DIR, "opus-32k.ogg")) })).json()) as object;
    expect("warnings" in ok).toBe(false);
  });

  test("CLI: one warning line on stderr, exit 0", async () => {
    const r = await cli(["-"], broken());
    expect(r.code).toBe(0);
    expect(r.stderr.match(/^warning: damaged audio, the valid part was transcribed: .*Opus: libopus/gm)?.length).toBe(1);
    expect((JSON.parse(r.stdout) as { warnings: string[] }).warnings.length).toBeGreaterThan(0);
  });
});
