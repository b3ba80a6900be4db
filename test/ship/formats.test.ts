/**
 * The compiled linux-x64 executable, copied alone into an empty folder (no Bun, no
 * node_modules on its path), decodes every format of test/fixtures/formats: the WASM
 * decoders are embedded. CLI (file and stdin), REST, SSE and the OpenAI route; exact
 * text and word starts within ±0.1 s.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { FIXTURES, PHRASE } from "../fixtures/formats/make.ts";
import { makeToneModelDir, phraseToAudio } from "../helpers/tone.ts";
import { parseSse } from "../server/streaming-helpers.ts";
import { DIST, ensureDist, run, type ServeProcess, startServe } from "./helpers.ts";

const FIXTURE_DIR = join(import.meta.dir, "..", "fixtures", "formats");
const NAMES = Object.keys(FIXTURES).filter((f) => !f.startsWith("stereo-") && f !== "video-only.mp4");
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
    if (Math.abs(w.start - onsets[i]!) > 0.1) throw new Error(`${what}: word ${i} "${w.word}" starts at ${w.start}, the tone at ${onsets[i]!.toFixed(3)}`);
  });
}

let base: string;
let bin: string;
let model: string;
let home: string;
const env = () => ({ PATH: "/usr/bin:/bin", LANG: "C.UTF-8", HOME: home });

beforeAll(async () => {
  await ensureDist();
  base = mkdtempSync(join(tmpdir(), "gigastt-formats-"));
  mkdirSync(join(base, "bin"));
  home = join(base, "home");
  mkdirSync(home);
  bin = join(base, "bin", "gigastt");
  copyFileSync(join(DIST, "gigastt-linux-x64"), bin);
  model = makeToneModelDir();
  for (const name of NAMES) copyFileSync(join(FIXTURE_DIR, name), join(base, name));
  for (let d = dirname(bin); ; d = dirname(d)) {
    expect(existsSync(join(d, "node_modules"))).toBe(false);
    if (d === dirname(d)) break;
  }
}, 600_000);

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

describe("compiled executable: every decoded format", () => {
  test("transcribe FILE and transcribe - (stdin)", async () => {
    for (const name of NAMES) {
      const path = join(base, name);
      for (const [how, args, stdin] of [
        ["file", [path], undefined],
        ["stdin", ["-"], readFileSync(path)],
      ] as const) {
        const r = await run([bin, "transcribe", "--model-dir", model, "--format", "json", "--workers", "1", ...args], { env: env(), cwd: base, ...(stdin ? { stdin } : {}) });
        if (r.code !== 0) throw new Error(`${how} ${name}: exit ${r.code}: ${r.stderr}`);
        const j = JSON.parse(r.stdout) as { text: string; words: Word[] };
        expectPhrase(j.text, j.words, `${how} ${name}`);
      }
    }
  }, 180_000);

  describe("serve", () => {
    let srv: ServeProcess;
    beforeAll(async () => {
      srv = await startServe([bin, "serve", "--port", "0", "--model-dir", model, "--offline", "--shutdown-drain-secs", "2"], { env: env(), cwd: base });
    }, 60_000);
    afterAll(async () => {
      if (srv && srv.proc.exitCode === null) srv.proc.kill("SIGKILL");
    });

    test("REST, SSE and the OpenAI route", async () => {
      for (const name of NAMES) {
        const bytes = readFileSync(join(base, name));
        const rest = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: bytes });
        expect(rest.status).toBe(200);
        const j = (await rest.json()) as { text: string; words: Word[] };
        expectPhrase(j.text, j.words, `REST ${name}`);

        const sse = await fetch(`${srv.url}/v1/transcribe/stream`, { method: "POST", body: bytes });
        const events = parseSse(await sse.text()).events as unknown as { type: string; text: string; words?: Word[] }[];
        expectPhrase(events.find((e) => e.type === "done")!.text, events.filter((e) => e.type === "final").flatMap((e) => e.words ?? []), `SSE ${name}`);

        const form = new FormData();
        form.append("model", "whisper-1");
        form.append("response_format", "verbose_json");
        form.append("timestamp_granularities[]", "word");
        form.append("file", new Blob([bytes]), name);
        const oa = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: "POST", body: form });
        expect(oa.status).toBe(200);
        const v = (await oa.json()) as { text: string; words: Word[] };
        expectPhrase(v.text, v.words, `OpenAI ${name}`);
      }
    }, 120_000);
  });
});
