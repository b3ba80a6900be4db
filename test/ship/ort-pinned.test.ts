/**
 * darwin-x64 cannot run here, and it is the one build on a different
 * onnxruntime-node (1.23.2, the last with darwin/x64 binaries). Its JS
 * wrapper + addon pairing is exercised by building linux-x64 from that same
 * pinned package (`compile.ts --ort-pinned`) and transcribing with it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeToneModelDir, phraseToAudio, wavBytes } from "../helpers/tone.ts";
import { ROOT, run } from "./helpers.ts";

const PHRASE = "привет мир, как дела?";
let out: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "gigastt-ort-pinned-"));
  const r = await run([process.execPath, join(ROOT, "scripts", "compile.ts"), "--target", "linux-x64", "--ort-pinned", "--outdir", out], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    cwd: ROOT,
    timeoutMs: 300_000,
  });
  if (r.code !== 0) throw new Error(`compile --ort-pinned failed:\n${r.stderr}`);
}, 300_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

test("the onnxruntime-node 1.23.2 wrapper and addon (as in the darwin-x64 build) transcribe through src/runtime/ort.ts", async () => {
  const bin = join(out, "gigastt-linux-x64");
  const home = join(out, "home");
  mkdirSync(home);
  const wav = join(out, "hello.wav");
  writeFileSync(wav, wavBytes(phraseToAudio(PHRASE).samples));
  const env = { PATH: "/usr/bin:/bin", HOME: home };
  const v = await run([bin, "--version"], { env });
  expect(v.stdout).toContain("onnxruntime 1.23.2, linux-x64)");
  const r = await run([bin, "transcribe", "--model-dir", makeToneModelDir(), wav], { env });
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(PHRASE);
  expect(readdirSync(join(home, ".cache", "gigastt", "runtime"))[0]).toMatch(/^ort-1\.23\.2-linux-x64-[0-9a-f]{16}$/);
}, 60_000);
