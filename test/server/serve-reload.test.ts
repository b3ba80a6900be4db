/**
 * `POST /v1/admin/reload` against a real `gigastt serve`: the model is read
 * from disk again (a model replaced there is what the server serves after the
 * reload), a broken folder fails the reload and the old model keeps serving,
 * and the process still drains and exits 0.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TONE_PIECES, phraseToAudio, wavBytes, writeToneModel } from "../helpers/tone.ts";

setDefaultTimeout(60_000);

const MAIN = join(import.meta.dir, "../../src/main.ts");
let proc: ReturnType<typeof Bun.spawn> | null = null;
afterEach(() => {
  proc?.kill("SIGKILL");
  proc = null;
});

test("serve: reload picks up the model on disk; a broken folder → 503 reload_failed and the old model serves on", async () => {
  const home = mkdtempSync(join(tmpdir(), "gigastt-home-"));
  const dir = writeToneModel(mkdtempSync(join(tmpdir(), "gigastt-reload-")));
  proc = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--model-dir", dir, "--workers", "1", "--partial-precision", "fp32", "--log-format", "json"], {
    env: { PATH: process.env.PATH ?? "", HOME: home, GIGASTT_OFFLINE: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  let log = "";
  void (async () => {
    for await (const c of proc!.stderr as ReadableStream<Uint8Array>) log += new TextDecoder().decode(c);
  })();
  const until = async (re: RegExp) => {
    const deadline = Date.now() + 40_000;
    while (!re.test(log)) {
      if (Date.now() > deadline) throw new Error(`not seen ${re}:\n${log}`);
      await Bun.sleep(50);
    }
  };
  await until(/"msg":"model loaded: ready"/);
  const url = /"url":"(http:[^"]+)"/.exec(log)![1]!;
  const wav = wavBytes(phraseToAudio("привет мир").samples);
  const text = async () => (await (await fetch(`${url}/v1/transcribe?format=text`, { method: "POST", body: wav })).text()).trim();
  expect(await text()).toBe("привет мир");

  // the same tones, another vocabulary: a different model on disk
  writeToneModel(dir, DEFAULT_TONE_PIECES.map((p) => p.toUpperCase()));
  const r = await fetch(`${url}/v1/admin/reload`, { method: "POST" });
  expect(r.status).toBe(200);
  expect(await r.json()).toEqual({ reloaded: true, variant: "e2e_rnnt", encoder: "fp32" });
  expect(await text()).toBe("ПРИВЕТ МИР");
  await until(/"msg":"model reloaded and swapped"/);

  rmSync(join(dir, "v3_e2e_rnnt_encoder.onnx"));
  const bad = await fetch(`${url}/v1/admin/reload`, { method: "POST" });
  expect(bad.status).toBe(503);
  expect(((await bad.json()) as { code: string }).code).toBe("reload_failed");
  expect(await text()).toBe("ПРИВЕТ МИР");
  expect((await fetch(`${url}/ready`)).status).toBe(200);
  await until(/model reload failed: the previous model keeps serving/);

  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
});
