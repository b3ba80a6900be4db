/**
 * `gigastt transcribe --hotwords-*` as a user runs it (a real process), on the tone model with
 * rival pieces: the ambiguous tone "город or голос" reads "голос" only with the hotword.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TONE_PIECES } from "../scripts/make-tone-model.ts";
import { chordsToAudio, makeToneModelDir, wavBytes } from "./helpers/tone.ts";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
let modelDir: string;
let work: string;
let wav: string;
let list: string;

beforeAll(() => {
  modelDir = makeToneModelDir(DEFAULT_TONE_PIECES, { rivals: [["▁город", "▁голос"]] });
  work = mkdtempSync(join(tmpdir(), "gigastt-cli-hw-"));
  wav = join(work, "chord.wav");
  writeFileSync(
    wav,
    wavBytes(
      chordsToAudio([
        "▁привет",
        [
          ["▁город", 0.35],
          ["▁голос", 0.3],
        ],
        "▁мир",
      ]),
    ),
  );
  list = join(work, "hotwords.txt");
  writeFileSync(list, "# names\nголос\n");
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["bun", MAIN, "transcribe", wav, "--model-dir", modelDir, "--workers", "1", ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: work, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("gigastt transcribe --hotwords-*", () => {
  test("--hotwords-file (or GIGASTT_HOTWORDS_FILE) biases the transcript; without it the louder piece wins", async () => {
    const [plain, flag, env] = await Promise.all([cli([]), cli(["--hotwords-file", list]), cli([], { GIGASTT_HOTWORDS_FILE: list })]);
    expect([plain.code, plain.stdout]).toEqual([0, "привет город мир\n"]);
    expect([flag.code, flag.stdout]).toEqual([0, "привет голос мир\n"]);
    expect([env.code, env.stdout]).toEqual([0, "привет голос мир\n"]);
  }, 60_000);

  test("a bad boost or a missing file exits 2 naming it, before the model is loaded", async () => {
    const [boost, missing] = await Promise.all([cli(["--hotwords-file", list, "--hotwords-boost", "lots"]), cli(["--hotwords-file", join(work, "nope.txt")])]);
    expect(boost.code).toBe(2);
    expect(boost.stderr).toContain("--hotwords-boost");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.txt");
  }, 60_000);
});
