/**
 * `gigastt transcribe` with the Rust gigastt 2.15 flags, as a user runs it (a real process,
 * the tone model): `-f`/`--format` txt|md|…, `-o FILE` (whole or nothing), line limits,
 * `--word-timestamps`, `--stereo-speakers`, `--codec` + `--sample-rate`, and the flags of
 * features this build lacks failing with one clear line (never "unknown flag").
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LEFT, PHRASE as TONE_PHRASE, RIGHT } from "./fixtures/formats/make.ts";
import { makeToneModelDir, phraseToAudio, wavBytes } from "./helpers/tone.ts";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const FIX = join(import.meta.dir, "fixtures", "formats");
const PHRASE = "привет мир, как дела? это тест один два три да.";
/** several CLI processes per test on a loaded machine */
const SLOW = 120_000;

let modelDir: string;
let work: string;
let wav: string;
beforeAll(() => {
  modelDir = makeToneModelDir();
  work = mkdtempSync(join(tmpdir(), "gigastt-cli-rust-"));
  wav = join(work, "phrase.wav");
  writeFileSync(wav, wavBytes(phraseToAudio(PHRASE).samples));
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["bun", MAIN, "transcribe", ...args, "--model-dir", modelDir, "--workers", "1", "--log-level", "error"], {
    env: { PATH: process.env.PATH ?? "", HOME: work, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("transcribe: Rust output flags", () => {
  test(
    "-f txt / -f md / --format MARKDOWN; -o writes the file (nothing on stdout, no temporary left)",
    async () => {
      const out = join(work, "talk.md");
      const [txt, md, o] = await Promise.all([cli([wav, "-f", "txt"]), cli([wav, "--format", "MARKDOWN", "--word-timestamps"]), cli([wav, "-f", "md", "-o", out])]);
      expect(txt).toMatchObject({ code: 0, stdout: `${PHRASE}\n` });
      expect(md.code).toBe(0);
      expect(md.stdout).toContain(`# Transcript\n\n${PHRASE}\n\n# Word timings\n`);
      expect(o).toMatchObject({ code: 0, stdout: "" });
      expect(readFileSync(out, "utf8")).toStartWith("---\nduration: ");
      expect(readFileSync(out, "utf8")).toContain(`# Transcript\n\n${PHRASE}\n\n`);
      expect(readdirSync(work).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    },
    SLOW,
  );

  test(
    "line limits cut the SRT cues (GIGASTT_MAX_WORDS_PER_LINE too); GIGASTT_FORMAT picks the format",
    async () => {
      const [a, b] = await Promise.all([cli([wav, "-f", "srt", "--max-words-per-line", "2"]), cli([wav], { GIGASTT_FORMAT: "srt", GIGASTT_MAX_WORDS_PER_LINE: "3" })]);
      const texts = (s: string) => s.split("\n\n").filter(Boolean).map((x) => x.split("\n").slice(2).join(" "));
      expect(texts(a.stdout)).toEqual(["привет мир,", "как дела?", "это тест", "один два", "три да."]);
      expect(texts(b.stdout)).toEqual(["привет мир, как", "дела?", "это тест один", "два три да."]);
    },
    SLOW,
  );

  test(
    "--codec pcmu --sample-rate 8000 reads a headerless telephone stream; --stereo-speakers splits the channels",
    async () => {
      const [raw, stereo] = await Promise.all([
        cli([join(FIX, "pcmu-8k.raw"), "--codec", "pcmu", "--sample-rate", "8000"]),
        cli([join(FIX, "stereo-split.flac"), "--stereo-speakers", "-f", "json"]),
      ]);
      expect(raw).toMatchObject({ code: 0, stdout: `${TONE_PHRASE}\n` });
      expect(stereo.code).toBe(0);
      expect((JSON.parse(stereo.stdout) as { text: string }).text).toBe(`[0] ${LEFT}\n[1] ${RIGHT}`);
    },
    SLOW,
  );

  test(
    "flags of what this build lacks, bad codec or format: exit 2 with one line naming the flag (never \"unknown flag\")",
    async () => {
      const cases: [string[], string][] = [
        [["--vad"], "--vad is not available on this command"],
        [["--hotwords-file", "/nonexistent/x.txt"], "cannot read hotwords file '/nonexistent/x.txt' (--hotwords-file)"],
        [["--model-variant", "rnnt"], "e2e_rnnt only"],
        [["--punctuation", "on"], "--punctuation on needs the RuPunct"],
        [["--itn", "on"], "--itn on needs"],
        [["--codec", "opus", "--sample-rate", "8000"], "error[unsupported_codec]"],
        [["-f", "docx"], "error[invalid_format]"],
      ];
      const runs = await Promise.all(cases.map(([args]) => cli([wav, ...args])));
      runs.forEach((r, i) => {
        expect(`${cases[i]![0].join(" ")}: ${r.code}`).toBe(`${cases[i]![0].join(" ")}: 2`);
        expect(r.stderr).toContain(cases[i]![1]);
        expect(r.stderr).not.toContain("unknown flag");
        expect(r.stderr.trim().split("\n").length).toBe(1);
      });
    },
    SLOW,
  );

  test(
    "accepted Rust spellings: --model-variant e2e_rnnt, --punctuation off, --itn auto, --encoder-intra-threads 1",
    async () => {
      const r = await cli([wav, "--model-variant", "e2e_rnnt", "--punctuation", "off", "--itn", "auto", "--encoder-intra-threads", "1"]);
      expect(r).toMatchObject({ code: 0, stdout: `${PHRASE}\n` });
    },
    SLOW,
  );
});
