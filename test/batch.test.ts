/**
 * `gigastt transcribe-batch` and `gigastt watch`: the real tone model through
 * the one offline pipeline where the transcript matters, a scripted engine
 * where the scheduling does (parallel lanes, interruption, retries).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUDIO_EXTENSIONS, collectAudioFiles, outputPathFor } from "../src/batch/files.ts";
import { parseBatchFormats } from "../src/batch/formats.ts";
import type { BatchLog } from "../src/batch/process.ts";
import { type BatchEngine, loadBatchEngine, parseBatchSetup } from "../src/cli/batch-args.ts";
import { EXIT_INTERRUPTED, runTranscribeBatch } from "../src/cli/transcribe-batch.ts";
import { runWatchCommand } from "../src/cli/watch.ts";
import { GigasttError } from "../src/errors.ts";
import { SUPPORTED_FORMATS } from "../src/server/routes/system.ts";
import type { TranscriptResult } from "../src/types.ts";
import { makeToneModelDir, phraseToAudio, wavBytes } from "./helpers/tone.ts";

const PHRASE = "привет мир";
let modelDir: string;
let engine: BatchEngine;
const lines: string[] = [];
const log: BatchLog = { info: (m) => void lines.push(m), warn: (m) => void lines.push(`warning: ${m}`), error: (m) => void lines.push(m) };
const env = { HOME: tmpdir() };

beforeAll(async () => {
  modelDir = makeToneModelDir();
  engine = await loadBatchEngine(parseBatchSetup({ "model-dir": modelDir, "pool-size": "2" }, env, { retries: 0 }), env, log);
});
afterAll(async () => {
  await engine.close();
});

/** the tone engine, shared (closing it is afterAll's job) */
const shared = async (): Promise<BatchEngine> => ({ ...engine, close: async () => {} });

function work(): string {
  return mkdtempSync(join(tmpdir(), "gigastt-batch-"));
}
function writeWav(path: string, phrase = PHRASE): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, wavBytes(phraseToAudio(phrase).samples));
}

/** signals the test raises itself */
function fakeSignals() {
  const handlers = new Map<string, ((s: NodeJS.Signals) => void)[]>();
  return {
    on: (s: string, f: (s: NodeJS.Signals) => void) => void handlers.set(s, [...(handlers.get(s) ?? []), f]),
    off: (s: string, f: (s: NodeJS.Signals) => void) => void handlers.set(s, (handlers.get(s) ?? []).filter((g) => g !== f)),
    raise: (s: NodeJS.Signals) => (handlers.get(s) ?? []).forEach((f) => f(s)),
    count: () => [...handlers.values()].reduce((n, l) => n + l.length, 0),
  } as unknown as Pick<NodeJS.Process, "on" | "off"> & { raise(s: NodeJS.Signals): void; count(): number };
}

const result = (text: string): TranscriptResult => ({ text, duration: 1, words: [{ word: text, start: 0.1, end: 0.5, confidence: 0.9 }], segments: [] });

describe("files and formats", () => {
  test("audio files: recursive, sorted, case-insensitive extensions; output names as Rust", () => {
    const d = work();
    writeFileSync(join(d, "b.WAV"), "x");
    writeFileSync(join(d, "a.mp3"), "x");
    writeFileSync(join(d, "notes.txt"), "x");
    writeFileSync(join(d, ".wav"), "x");
    mkdirSync(join(d, "sub"));
    writeFileSync(join(d, "sub", "c.flac"), "x");
    expect(collectAudioFiles(d).map((p) => p.slice(d.length + 1))).toEqual(["a.mp3", "b.WAV", "sub/c.flac"]);
    expect(collectAudioFiles(d, join(d, "sub")).map((p) => p.slice(d.length + 1))).toEqual(["a.mp3", "b.WAV"]);
    expect(outputPathFor("/in/sub/rec.wav", "/out", "json")).toBe("/out/rec.json");
    expect(outputPathFor("/in/sub/rec.wav", null, "txt")).toBe("/in/sub/rec.txt");
    expect(outputPathFor("/in/a.b.wav", "/out", "txt")).toBe("/out/a.b.txt");
    expect(outputPathFor("/in/.hidden", "/out", "txt")).toBe("/out/.hidden.txt");
    expect([...AUDIO_EXTENSIONS]).toEqual([...SUPPORTED_FORMATS]);
  });

  test("formats: Rust's comma list (text = txt, markdown = md), de-duplicated in order; others → invalid_format", () => {
    expect(parseBatchFormats("txt, json ,TXT,srt,vtt,text,Markdown,md").map((f) => `${f.format}.${f.ext}`)).toEqual(["txt.txt", "json.json", "srt.srt", "vtt.vtt", "md.md"]);
    expect(() => parseBatchFormats("txt,docx")).toThrow(/unsupported export format "docx" for '--format'/);
    expect(() => parseBatchFormats(" , ")).toThrow(/at least one format/);
  });

  test("Rust engine flags this server cannot honour stop with one line naming them", () => {
    const refuse = (a: Record<string, unknown>, e: Record<string, string> = {}) => {
      try {
        parseBatchSetup(a, e, { retries: 0 });
      } catch (err) {
        expect(err).toBeInstanceOf(GigasttError);
        return (err as GigasttError).message;
      }
      throw new Error("accepted");
    };
    expect(refuse({ "model-variant": "rnnt" })).toMatch(/--model-variant rnnt: this server runs only the e2e_rnnt head/);
    expect(refuse({}, { GIGASTT_MODEL_VARIANT: "ml_ctc" })).toMatch(/GIGASTT_MODEL_VARIANT ml_ctc/);
    expect(refuse({ punctuation: "on" })).toMatch(/RuPunct pass belongs to the rnnt head/);
    expect(refuse({ itn: "on" })).toMatch(/ITN pass/);
    expect(refuse({ vad: true })).toMatch(/^--vad is not available on this command/);
    expect(refuse({}, { GIGASTT_VAD: "1" })).toMatch(/^--vad .*\(GIGASTT_VAD is set\)$/);
    // hotwords work in batches as in `transcribe` (they were refused before the hotwords work landed)
    expect(refuse({ "hotwords-file": "/nonexistent/h.txt" })).toMatch(/cannot read hotwords file/);
    const hwDir = mkdtempSync(join(tmpdir(), "gigastt-batch-hw-"));
    writeFileSync(join(hwDir, "h.txt"), "Сбербанк\nголос\t2\n");
    const hw = parseBatchSetup({ "hotwords-file": join(hwDir, "h.txt"), "hotwords-boost": "7" }, {}, { retries: 0 }).hotwords;
    expect(hw?.boost).toBe(7);
    expect(hw?.phrases.map((p) => p.text)).toEqual(["Сбербанк", "голос"]);
    rmSync(hwDir, { recursive: true, force: true });
    expect(refuse({ "vad-threshold": "0.4" })).toMatch(/^--vad-threshold/);
    expect(refuse({ "move-to": "done", "delete-source": true })).toMatch(/exclude each other/);
    expect(refuse({ "pool-size": "0" })).toMatch(/invalid value '0' for '--pool-size'/);
    const ok = parseBatchSetup({ "model-variant": "E2E_RNNT", punctuation: "auto", itn: "off", "pool-size": "3" }, { GIGASTT_FORMAT: "srt", GIGASTT_BATCH_RETRIES: "4" }, { retries: 0 });
    expect(ok).toMatchObject({ workers: 3, retries: 4, formats: [{ format: "srt", ext: "srt" }] });
    expect(parseBatchSetup({ "max-chars-per-line": "40", "word-timestamps": true }, { GIGASTT_MAX_WORDS_PER_LINE: "3" }, { retries: 0 }).render).toEqual({ maxChars: 40, maxWords: 3, wordTimestamps: true });
    expect(parseBatchSetup({}, { GIGASTT_VAD: "0" }, { retries: 0 }).render).toEqual({});
  });
});

describe("transcribe-batch", () => {
  test("Rust form INPUT_DIR OUTPUT_DIR: every audio file, recursively, <stem>.txt and <stem>.json from the tone model", async () => {
    const d = work();
    writeWav(join(d, "in", "one.wav"));
    writeWav(join(d, "in", "sub", "two.wav"), "как дела");
    writeFileSync(join(d, "in", "notes.txt"), "not audio");
    lines.length = 0;
    const code = await runTranscribeBatch([join(d, "in"), join(d, "out")], {}, { env, log, engine: shared });
    expect(code).toBe(0);
    expect(readFileSync(join(d, "out", "one.txt"), "utf8").trim()).toBe(PHRASE);
    expect(readFileSync(join(d, "out", "two.txt"), "utf8").trim()).toBe("как дела");
    const json = JSON.parse(readFileSync(join(d, "out", "one.json"), "utf8")) as { text: string; words: { word: string }[] };
    expect(json.text).toBe(PHRASE);
    expect(json.words.map((w) => w.word)).toEqual(["привет", "мир"]);
    expect(existsSync(join(d, "out", "notes.txt"))).toBe(false);
    expect(lines.at(-1)).toBe("batch finished: 2 transcribed, 0 failed, 0 already done, 0 not started");
  });

  test("files and folders, next to each source; a re-run skips what is done; --overwrite redoes it", async () => {
    const d = work();
    writeWav(join(d, "a.wav"));
    writeWav(join(d, "more", "b.wav"));
    const run = (a: Record<string, unknown> = {}) => runTranscribeBatch([join(d, "a.wav"), join(d, "more")], { format: "srt,txt", ...a }, { env, log, engine: shared });
    expect(await run()).toBe(0);
    expect(readFileSync(join(d, "more", "b.txt"), "utf8").trim()).toBe(PHRASE);
    expect(readFileSync(join(d, "a.srt"), "utf8")).toMatch(/^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\nпривет мир\n/);
    const before = statSync(join(d, "a.txt")).mtimeMs;
    lines.length = 0;
    expect(await run()).toBe(0);
    expect(lines).toContain("2 file(s) already transcribed (use --overwrite to redo them)");
    expect(statSync(join(d, "a.txt")).mtimeMs).toBe(before);
    await Bun.sleep(20);
    expect(await run({ overwrite: true })).toBe(0);
    expect(statSync(join(d, "a.txt")).mtimeMs).toBeGreaterThan(before);
  });

  test("-f md,srt with the line limits: Markdown with the word table, cues of at most N words", async () => {
    const d = work();
    writeWav(join(d, "talk.wav"), "привет мир как дела");
    expect(await runTranscribeBatch([join(d, "talk.wav")], { format: "md,srt", "max-words-per-line": "2", "word-timestamps": true }, { env, log, engine: shared })).toBe(0);
    const srt = readFileSync(join(d, "talk.srt"), "utf8");
    expect(srt.split("\n\n").filter(Boolean).map((c) => c.split("\n")[2])).toEqual(["привет мир", "как дела"]);
    const md = readFileSync(join(d, "talk.md"), "utf8");
    expect(md).toContain("привет мир как дела");
    expect(md).toMatch(/\|\s*привет\s*\|/);
  });

  test("a bad file is logged with its code and left in place; the others are done; exit 1", async () => {
    const d = work();
    writeWav(join(d, "in", "good.wav"));
    writeFileSync(join(d, "in", "bad.wav"), "RIFF....not a wav at all");
    lines.length = 0;
    expect(await runTranscribeBatch([join(d, "in"), join(d, "out")], { retries: "2" }, { env, log, engine: shared })).toBe(1);
    expect(readFileSync(join(d, "out", "good.txt"), "utf8").trim()).toBe(PHRASE);
    expect(existsSync(join(d, "out", "bad.txt"))).toBe(false);
    expect(existsSync(join(d, "in", "bad.wav"))).toBe(true);
    expect(lines.find((l) => l.startsWith("failed "))).toMatch(/bad\.wav: error\[invalid_audio\]/);
    // a decode error is not retried: another attempt gives the same answer
    expect(lines.some((l) => l.includes("retrying"))).toBe(false);
  });

  test("--move-to moves transcribed sources; files already there are not taken again; --delete-source deletes", async () => {
    const d = work();
    writeWav(join(d, "in", "a.wav"));
    writeWav(join(d, "in", "done", "old.wav"));
    expect(await runTranscribeBatch([join(d, "in"), join(d, "out")], { "move-to": join(d, "in", "done") }, { env, log, engine: shared })).toBe(0);
    expect(existsSync(join(d, "in", "a.wav"))).toBe(false);
    expect(existsSync(join(d, "in", "done", "a.wav"))).toBe(true);
    expect(existsSync(join(d, "out", "a.txt"))).toBe(true);
    expect(existsSync(join(d, "out", "old.txt"))).toBe(false);
    writeWav(join(d, "x.wav"));
    expect(await runTranscribeBatch([join(d, "x.wav")], { "delete-source": true, format: "json" }, { env, log, engine: shared })).toBe(0);
    expect(existsSync(join(d, "x.wav"))).toBe(false);
    expect(existsSync(join(d, "x.json"))).toBe(true);
  });

  test("files run in parallel, one per Worker; SIGINT: the running ones finish, the rest is not started; exit 130", async () => {
    const d = work();
    for (let i = 0; i < 6; i++) writeFileSync(join(d, `f${i}.wav`), "x");
    const signals = fakeSignals();
    let running = 0;
    let most = 0;
    let started = 0;
    const scripted = async (): Promise<BatchEngine> => ({
      workers: 2,
      close: async () => {},
      transcribe: async (path) => {
        running++;
        started++;
        most = Math.max(most, running);
        if (started === 2) signals.raise("SIGINT");
        await Bun.sleep(30);
        running--;
        return result(path.slice(-6, -4));
      },
    });
    lines.length = 0;
    expect(await runTranscribeBatch([d], {}, { env, log, engine: scripted, signals })).toBe(EXIT_INTERRUPTED);
    expect(most).toBe(2);
    expect(started).toBe(2);
    expect(readFileSync(join(d, "f0.txt"), "utf8").trim()).toBe("f0");
    expect(readFileSync(join(d, "f1.txt"), "utf8").trim()).toBe("f1");
    expect(existsSync(join(d, "f2.txt"))).toBe(false);
    expect(lines.at(-1)).toBe("batch finished: 2 transcribed, 0 failed, 0 already done, 4 not started");
    expect(signals.count()).toBe(0);
  });

  test("a transient failure is retried (--retries) and then succeeds", async () => {
    const d = work();
    writeFileSync(join(d, "a.wav"), "x");
    let calls = 0;
    const flaky = async (): Promise<BatchEngine> => ({
      workers: 1,
      close: async () => {},
      transcribe: async () => {
        if (++calls === 1) throw new GigasttError("inference_error");
        return result("ok");
      },
    });
    lines.length = 0;
    expect(await runTranscribeBatch([d], { retries: "1", format: "txt" }, { env, log, engine: flaky })).toBe(0);
    expect(calls).toBe(2);
    expect(lines.some((l) => l.startsWith("warning: retrying"))).toBe(true);
  });
});

describe("watch", () => {
  /** runs watch until `until()` holds (checked after every scan), then SIGTERM */
  async function watchUntil(dir: string, args: Record<string, unknown>, step: (scan: number) => void, until: () => boolean, eng: () => Promise<BatchEngine> = shared) {
    const signals = fakeSignals();
    let scans = 0;
    const done = runWatchCommand(dir, undefined, { "poll-interval-ms": "10", "settle-polls": "2", ...args }, {
      env,
      log,
      engine: eng,
      signals,
      onScan: () => {
        step(++scans);
        if (until() || scans > 3000) signals.raise("SIGTERM");
      },
    });
    return { code: await done, scans };
  }

  test("files already there are left alone; a new file is transcribed next to it once it stops changing; a bad one is logged and watch goes on", async () => {
    const d = work();
    writeWav(join(d, "old.wav"));
    lines.length = 0;
    const audio = wavBytes(phraseToAudio(PHRASE).samples);
    const { code } = await watchUntil(
      d,
      {},
      (scan) => {
        // a copy in progress: the file grows over several scans before it is complete
        if (scan === 2) writeFileSync(join(d, "bad.wav"), "RIFF garbage");
        if (scan >= 3 && scan <= 8) writeFileSync(join(d, "new.wav"), audio.subarray(0, Math.floor((audio.length * (scan - 2)) / 6)));
        if (scan === 20) mkdirSync(join(d, "later"), { recursive: true });
        if (scan === 21) writeWav(join(d, "later", "next.wav"), "как дела");
      },
      () => existsSync(join(d, "later", "next.json")),
    );
    expect(code).toBe(1); // a file failed (as Rust)
    expect(readFileSync(join(d, "new.txt"), "utf8").trim()).toBe(PHRASE);
    expect(readFileSync(join(d, "later", "next.txt"), "utf8").trim()).toBe("как дела");
    expect(existsSync(join(d, "old.txt"))).toBe(false);
    expect(lines.filter((l) => l.startsWith("done ")).length).toBe(2); // new.wav once: never read half-written
    expect(lines.find((l) => l.startsWith("failed "))).toMatch(/bad\.wav: error\[invalid_audio\]/);
    expect(lines.at(-1)).toBe("watch stopped: 2 transcribed, 1 failed");
  });

  test("OUTPUT_DIR, a new file whose transcripts are already there is skipped, SIGTERM lets the running file finish", async () => {
    const d = work();
    const out = join(d, "out");
    mkdirSync(join(d, "in"));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let finished = 0;
    const slow = async (): Promise<BatchEngine> => ({
      workers: 1,
      close: async () => {},
      transcribe: async (p) => {
        await gate;
        finished++;
        return result(p.endsWith("a.wav") ? "a" : "b");
      },
    });
    const signals = fakeSignals();
    lines.length = 0;
    let scans = 0;
    let raised = false;
    const code = await runWatchCommand(join(d, "in"), out, { "poll-interval-ms": "10", "settle-polls": "1" }, {
      env,
      log,
      engine: slow,
      signals,
      onScan: () => {
        scans++;
        if (scans === 1) {
          writeFileSync(join(d, "in", "done.wav"), "x");
          mkdirSync(out, { recursive: true });
          Bun.sleepSync(5);
          writeFileSync(join(out, "done.txt"), "done already");
          writeFileSync(join(out, "done.json"), "{}");
          writeFileSync(join(d, "in", "a.wav"), "x");
        }
        if (lines.some((l) => l.startsWith("skipped ")) && !raised && scans > 4) {
          raised = true;
          signals.raise("SIGTERM");
          setTimeout(release, 30);
        }
      },
    });
    expect(code).toBe(0);
    expect(finished).toBe(1);
    expect(readFileSync(join(out, "a.txt"), "utf8").trim()).toBe("a");
    expect(readFileSync(join(out, "done.txt"), "utf8")).toBe("done already");
    expect(lines.some((l) => l.startsWith(`skipped ${join(d, "in", "done.wav")}`))).toBe(true);
  });
});
