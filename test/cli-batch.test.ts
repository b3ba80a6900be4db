/**
 * `gigastt transcribe-batch`, `watch` and `cache-gc` as a user runs them: real
 * processes, the tone model on disk, Rust-style command lines.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeToneModelDir, phraseToAudio, wavBytes } from "./helpers/tone.ts";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
let modelDir: string;
let work: string;

beforeAll(() => {
  modelDir = makeToneModelDir();
  work = mkdtempSync(join(tmpdir(), "gigastt-cli-batch-"));
});

function spawn(args: string[]) {
  return Bun.spawn(["bun", MAIN, ...args], { env: { PATH: process.env.PATH ?? "", HOME: work, GIGASTT_MODEL_DIR: modelDir }, stdout: "pipe", stderr: "pipe" });
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawn(args);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

describe("batch commands as processes", () => {
  test("transcribe-batch IN OUT -f txt,json --pool-size 1 (a Rust command line)", async () => {
    const d = mkdtempSync(join(work, "b-"));
    mkdirSync(join(d, "in"));
    writeFileSync(join(d, "in", "call.wav"), wavBytes(phraseToAudio("как дела").samples));
    const r = await run(["transcribe-batch", join(d, "in"), join(d, "out"), "-f", "txt,json", "--pool-size", "1", "--offline"]);
    expect(r.stderr).toContain("batch finished: 1 transcribed, 0 failed");
    expect(r.code).toBe(0);
    expect(readFileSync(join(d, "out", "call.txt"), "utf8").trim()).toBe("как дела");
    expect(JSON.parse(readFileSync(join(d, "out", "call.json"), "utf8")).text).toBe("как дела");
    const bad = await run(["transcribe-batch", join(d, "in"), "--vad"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--vad is not available on this command");
  });

  test("watch DIR: a file dropped in is transcribed next to it; SIGTERM stops it with exit 0", async () => {
    const d = mkdtempSync(join(work, "w-"));
    const p = spawn(["watch", d, "--poll-interval-ms", "50", "-f", "txt"]);
    // stderr as it comes: the file is dropped once watch says it watches (the model is loaded)
    let stderr = "";
    const reader = p.stderr.getReader();
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        stderr += new TextDecoder().decode(value);
      }
    })();
    const deadline = Date.now() + 60_000;
    while (!stderr.includes("watching ") && Date.now() < deadline) await Bun.sleep(20);
    writeFileSync(join(d, "note.wav"), wavBytes(phraseToAudio("привет мир").samples));
    while (!existsSync(join(d, "note.txt")) && Date.now() < deadline) await Bun.sleep(20);
    p.kill("SIGTERM");
    const code = await p.exited;
    await pump;
    expect(readFileSync(join(d, "note.txt"), "utf8").trim()).toBe("привет мир");
    expect(stderr).toContain("watch stopped: 1 transcribed, 0 failed");
    expect(code).toBe(0);
  });

  test("cache-gc --dry-run on the model folder", async () => {
    const r = await run(["cache-gc", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${modelDir}: would remove 0 file(s), would free 0.0 MiB`);
  });
});
