/**
 * `gigastt transcribe` as a user runs it: a real process, the tone model on disk,
 * WAV files in, transcripts on stdout in every format, exit codes from the catalogue.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeToneModelDir, phraseToAudio, piecesToText, type ToneAudio, wavBytes } from "./helpers/tone.ts";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const PHRASE = "привет мир, как дела? это тест один два три да.";

let modelDir: string;
let work: string;
let wav: string;
let audio: ToneAudio;

beforeAll(() => {
  modelDir = makeToneModelDir();
  work = mkdtempSync(join(tmpdir(), "gigastt-cli-"));
  audio = phraseToAudio(PHRASE);
  wav = join(work, "phrase.wav");
  writeFileSync(wav, wavBytes(audio.samples));
});

interface Run {
  code: number;
  stdout: string;
  /** stderr without the model store's warning about the (generated, unverified) tone model */
  stderr: string;
  /** that warning was printed (exactly once) */
  warned: boolean;
}

const UNVERIFIED = /^warning: using unverified model files in .*\n/gm;

async function cli(args: string[], opts: { env?: Record<string, string>; stdin?: Uint8Array } = {}): Promise<Run> {
  const proc = Bun.spawn(["bun", MAIN, "transcribe", ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: work, ...opts.env },
    stdin: opts.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const warnings = stderr.match(UNVERIFIED)?.length ?? 0;
  if (warnings > 1) throw new Error(`the unverified-model warning was printed ${warnings} times`);
  return { code, stdout, stderr: stderr.replace(UNVERIFIED, ""), warned: warnings === 1 };
}

/** Onsets of the pieces that start a word. */
const wordOnsets = () => audio.onsets.filter((_, i) => audio.pieces[i]!.startsWith("▁"));

/** "00:00:01,320" / "00:00:01.320" → seconds */
function ts(s: string): number {
  const m = /^(\d+):(\d{2}):(\d{2})[,.](\d{3})$/.exec(s.trim());
  if (!m) throw new Error(`bad timestamp ${s}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
}

/** Cues of an SRT or VTT document. */
function cues(doc: string, kind: "srt" | "vtt"): { start: number; end: number; text: string }[] {
  const blocks = doc.replace(/\r\n/g, "\n").trim().split(/\n\n+/);
  if (kind === "vtt") expect(blocks.shift()).toBe("WEBVTT");
  return blocks.map((b, i) => {
    const lines = b.split("\n");
    if (kind === "srt") expect(lines.shift()).toBe(String(i + 1));
    const [a, z] = lines.shift()!.split(" --> ");
    return { start: ts(a!), end: ts(z!), text: lines.join("\n") };
  });
}

describe("gigastt transcribe (tone model)", () => {
  test("the phrase has at least 8 pieces", () => {
    expect(audio.pieces.length).toBeGreaterThanOrEqual(8);
  });

  test("text: the exact transcript on stdout, nothing on stderr", async () => {
    const r = await cli([wav, "--model-dir", modelDir]);
    expect(r).toEqual({ code: 0, stdout: `${piecesToText(audio.pieces)}\n`, stderr: "", warned: true });
  });

  test("--log-level error (or silent) silences the model store's warnings", async () => {
    for (const level of ["error", "silent"]) {
      const r = await cli([wav, "--model-dir", modelDir, "--log-level", level]);
      expect(r).toEqual({ code: 0, stdout: `${piecesToText(audio.pieces)}\n`, stderr: "", warned: false });
    }
  });

  test("json: text, duration, words at the tone onsets, segments", async () => {
    const r = await cli([wav, "--model-dir", modelDir, "--format", "json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as {
      text: string;
      duration: number;
      words: { word: string; start: number; end: number; confidence: number }[];
      segments: { start: number; end: number; text: string }[];
    };
    expect(j.text).toBe(PHRASE);
    expect(j.duration).toBeCloseTo(audio.samples.length / 16000, 6);
    const onsets = wordOnsets();
    expect(j.words.map((w) => w.word).join(" ")).toBe(PHRASE);
    expect(j.words.length).toBe(onsets.length);
    j.words.forEach((w, i) => {
      expect(Math.abs(w.start - onsets[i]!)).toBeLessThanOrEqual(0.1);
      expect(w.end).toBeGreaterThan(w.start);
      expect(w.confidence).toBeGreaterThan(0.5);
      expect(w.confidence).toBeLessThanOrEqual(1);
    });
    expect(j.segments.map((s) => s.text).join(" ")).toBe(PHRASE);
  });

  for (const kind of ["srt", "vtt"] as const) {
    test(`${kind}: cues hold the phrase and start at tone onsets`, async () => {
      const r = await cli([wav, "--model-dir", modelDir, "--format", kind]);
      expect(r.code).toBe(0);
      const cs = cues(r.stdout, kind);
      expect(cs.map((c) => c.text).join(" ")).toBe(PHRASE);
      const onsets = wordOnsets();
      let w = 0;
      for (const c of cs) {
        expect(Math.abs(c.start - onsets[w]!)).toBeLessThanOrEqual(0.1);
        expect(c.end).toBeGreaterThan(c.start);
        w += c.text.split(" ").length;
      }
    });
  }

  test("'-' reads the WAV from stdin; GIGASTT_MODEL_DIR names the model", async () => {
    const r = await cli(["-"], { stdin: wavBytes(audio.samples), env: { GIGASTT_MODEL_DIR: modelDir } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${PHRASE}\n`);
  });

  test("bad audio → exit 3 with one line on stderr", async () => {
    const bad = join(work, "bad.wav");
    writeFileSync(bad, "this is not a wav file at all, just text");
    const r = await cli([bad, "--model-dir", modelDir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error\[(invalid_audio|unsupported_format)\]/);
  });

  test("missing model, download host unreachable → exit 4 naming the missing files", async () => {
    const r = await cli([wav, "--model-dir", join(work, "no-model")], { env: { HF_ENDPOINT: "http://127.0.0.1:1" } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("error[offline]");
    expect(r.stderr).toContain("connection refused");
    expect(r.stderr).toContain("v3_e2e_rnnt_encoder.onnx");
    expect(r.stdout).toBe("");
  });

  test("missing model offline (--offline or GIGASTT_OFFLINE=1) → exit 4 at once", async () => {
    const a = await cli([wav, "--model-dir", join(work, "no-model"), "--offline"]);
    const b = await cli([wav, "--model-dir", join(work, "no-model")], { env: { GIGASTT_OFFLINE: "1" } });
    for (const r of [a, b]) {
      expect(r.code).toBe(4);
      expect(r.stderr).toContain("offline");
    }
  });

  test("offline with a missing model: exit 4 at once, without touching the network", async () => {
    // a download host that accepts connections and never answers: any attempt would hang
    let connections = 0;
    const host = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void connections++, data: () => {} } });
    try {
      const t0 = performance.now();
      const r = await cli([wav, "--model-dir", join(work, "no-model")], { env: { GIGASTT_OFFLINE: "1", HF_ENDPOINT: `http://127.0.0.1:${host.port}` } });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/^error\[offline\]/);
      expect(connections).toBe(0);
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      host.stop(true);
    }
  });

  test("an unreadable path or bad audio fails before the model is looked for (no download)", async () => {
    let connections = 0;
    const host = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void connections++, data: () => {} } });
    const bad = join(work, "not-audio.wav");
    writeFileSync(bad, "ID3 this is an mp3, not a wav");
    try {
      const env = { HF_ENDPOINT: `http://127.0.0.1:${host.port}` };
      const missing = await cli([join(work, "typo.wav"), "--model-dir", join(work, "no-model")], { env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^error\[usage\]: cannot read audio file .*typo\.wav: no such file\n$/);
      const mp3 = await cli([bad, "--model-dir", join(work, "no-model")], { env });
      expect(mp3.code).toBe(3);
      expect(mp3.stderr).toMatch(/^error\[invalid_audio\]: no decodable audio in the MP3/);
      // the conversion hint names this file, not a placeholder
      const slow = join(work, "phone call.wav");
      writeFileSync(slow, wavBytes(new Float32Array(4000), 4000)); // 4 kHz: below every decoder's range
      const hint = await cli([slow, "--model-dir", join(work, "no-model")], { env });
      expect(hint.code).toBe(3);
      expect(hint.stderr).toContain(`ffmpeg -i '${slow}' -ar 16000 -ac 1 'phone call.16k.wav'`);
      expect(connections).toBe(0);
    } finally {
      host.stop(true);
    }
  });

  test("--workers and --threads pick the pool size", async () => {
    const r = await cli([wav, "--model-dir", modelDir, "--workers", "1", "--threads", "2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${PHRASE}\n`);
  });

  test("unknown flag, bad format, bad worker count, no FILE or two FILEs → exit 2", async () => {
    expect((await cli([wav, "--model-dir", modelDir, "--bogus"])).code).toBe(2);
    const none = await cli(["--model-dir", modelDir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error\[usage\]: missing argument FILE/);
    expect((await cli([wav, wav, "--model-dir", modelDir])).code).toBe(2);
    expect((await cli([wav, "--model-dir", modelDir, "--format", "docx"])).code).toBe(2);
    const zero = await cli([wav, "--model-dir", modelDir, "--workers", "0"]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("--workers");
  });
});
