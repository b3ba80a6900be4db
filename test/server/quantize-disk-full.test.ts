/**
 * Disk full while `serve` creates the int8 encoder for partials: a warning,
 * and the fp32 encoder keeps serving everything (REST, WS partials and
 * finals). On a real small tmpfs when this process may mount one (root with
 * CAP_SYS_ADMIN, as in CI); otherwise the stand-in of test/store/disk.test.ts:
 * the int8 file's `.partial` is a symlink to /dev/full (every write fails
 * with ENOSPC). The test name says which one ran. The model is the tone model
 * with a quantizable encoder (a 1 MiB identity MatMul; the int8 file is ~280 kB).
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TONE_PIECES, wavBytes, writeToneModel } from "../helpers/tone.ts";
import { finalText, pcm16, splitBytes, toneAt, WsClient } from "./streaming-helpers.ts";

setDefaultTimeout(30_000);
const MAIN = join(import.meta.dir, "../../src/main.ts");
const PHRASE = "привет мир, как дела?";
const INT8 = "v3_e2e_rnnt_encoder.int8.onnx";

const root = mkdtempSync(join(tmpdir(), "gigastt-qfull-"));
const dir = join(root, "models");
mkdirSync(dir);
// the fp32 files take ~1.25 MB: a tmpfs with 64 KiB to spare cannot take the int8 encoder
const FILES_BYTES = 1_250_000;
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${FILES_BYTES + 64 * 1024}`, "tmpfs", dir], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
const mode = mounted ? "real tmpfs" : "stand-in: /dev/full partial";
writeToneModel(dir, DEFAULT_TONE_PIECES, { quantizable: true });
if (!mounted) symlinkSync("/dev/full", join(dir, `${INT8}.partial`));
let proc: ReturnType<typeof Bun.spawn> | null = null;

afterAll(() => {
  if (proc && proc.exitCode === null) proc.kill("SIGKILL");
  if (mounted) Bun.spawnSync(["umount", dir]);
  rmSync(root, { recursive: true, force: true });
});

test(`disk full while quantizing the int8 encoder: one warning, the fp32 encoder serves REST and WS partials (${mode})`, async () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".onnx"));
  expect(files.reduce((n, f) => n + statSync(join(dir, f)).size, 0)).toBeLessThan(FILES_BYTES);
  proc = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--model-dir", dir, "--offline", "--workers", "1", "--log-format", "json"], {
    env: { PATH: process.env.PATH ?? "", HOME: root, NO_COLOR: "1" },
    stdout: "ignore",
    stderr: "pipe",
  });
  const lines: Record<string, unknown>[] = [];
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (let ready = false; !ready; ) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`serve exited early: ${JSON.stringify(lines)}`);
    buf += dec.decode(value, { stream: true });
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (l.startsWith("{")) lines.push(JSON.parse(l) as Record<string, unknown>);
      if (l.includes('"model loaded: ready"')) ready = true;
    }
  }
  const warn = lines.find((l) => l.msg === "could not create the int8 encoder: streaming partials use the fp32 encoder");
  expect(String(warn?.error)).toContain("not enough disk space");
  expect(lines.filter((l) => l.level === "error")).toEqual([]);
  expect(existsSync(join(dir, INT8))).toBe(false);
  expect(existsSync(join(dir, `${INT8}.partial`))).toBe(false);

  const url = String(lines.find((l) => l.msg === "gigastt listening")!.url);
  const models = (await (await fetch(`${url}/v1/models`)).json()) as { partial_encoder: string };
  expect(models.partial_encoder).toBe("fp32");
  const r = await fetch(`${url}/v1/transcribe?format=text`, { method: "POST", body: wavBytes(toneAt(PHRASE, 16000), 16000) });
  expect((await r.text()).trim()).toBe(PHRASE);
  const c = await WsClient.open(`${url.replace("http", "ws")}/v1/ws`);
  await c.next("ready");
  for (const f of splitBytes(pcm16(toneAt(PHRASE, 48000, { tailSec: 0.5 })), 4800)) {
    c.send(f);
    await Bun.sleep(10);
  }
  c.json({ type: "stop" });
  expect((await c.closed).code).toBe(1000);
  expect(c.ofType("partial").length).toBeGreaterThan(0);
  expect(finalText(c.messages)).toBe(PHRASE);
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
});
