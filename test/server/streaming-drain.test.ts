/**
 * SIGTERM drain of the real `gigastt serve` process with the tone model:
 * 3 live WebSocket streams, an SSE stream and a REST upload in flight. Every
 * client gets its final result, the process exits 0.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { finalText, makeToneModelDir, parseSse, pcm16, rawChunkedPost, splitBytes, toneAt, wavBytes, WsClient } from "./streaming-helpers.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const PHRASE = "привет мир, как дела?";
let proc: ReturnType<typeof Bun.spawn> | null = null;
afterAll(() => {
  if (proc && proc.exitCode === null) proc.kill("SIGKILL");
});

/** spawn `serve`, wait for "model loaded: ready", return the base URL and the log lines */
async function serve(args: string[]): Promise<{ url: string; lines: string[] }> {
  proc = Bun.spawn(["bun", MAIN, "serve", "--port", "0", "--log-format", "json", ...args], {
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, GIGASTT_OFFLINE: "1" },
  });
  const lines: string[] = [];
  let url = "";
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const ready = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`serve exited early:\n${lines.join("\n")}`);
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line.includes('"gigastt listening"')) url = (JSON.parse(line) as { url: string }).url;
        if (line.includes('"model loaded: ready"')) return;
      }
    }
  })();
  await ready;
  // keep collecting the log until exit
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      lines.push(...decoder.decode(value).split("\n").filter(Boolean));
    }
  })();
  return { url, lines };
}

test("SIGTERM: 3 WS streams, an SSE stream and a REST upload all get their final result; exit 0", async () => {
  const { url, lines } = await serve(["--model-dir", makeToneModelDir(), "--workers", "1", "--pool-size", "6", "--shutdown-drain-secs", "5"]);
  const port = Number(new URL(url).port);
  const wsUrl = `${url.replace("http", "ws")}/v1/ws`;

  // three live WebSocket sessions, each mid-utterance (no pause, no stop)
  const clients = await Promise.all([0, 1, 2].map(() => WsClient.open(wsUrl)));
  await Promise.all(clients.map((c) => c.next("ready")));
  const speech = pcm16(toneAt(PHRASE, 48000, { tailSec: 0.1 }));
  for (const c of clients) for (const f of splitBytes(speech, 9600)) c.send(f);

  // an SSE stream whose upload goes on (the phrase, then silence) while we drain
  const sseAudio = wavBytes(toneAt(PHRASE, 16000, { tailSec: 20 }), 16000);
  const sse = rawChunkedPost(port, "/v1/transcribe/stream", splitBytes(sseAudio, 3200), { delayMs: 20, pastHead: true });

  // a REST upload still arriving when SIGTERM comes
  const restAudio = wavBytes(toneAt(PHRASE, 16000), 16000);
  const rest = rawChunkedPost(port, "/v1/transcribe?format=text", splitBytes(restAudio, 2048), { delayMs: 40 });

  await Bun.sleep(800);
  proc!.kill("SIGTERM");

  const closes = await Promise.all(clients.map((c) => c.closed));
  expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001]);
  for (const c of clients) {
    expect(c.messages.at(-1)!.type).toBe("final");
    expect(finalText(c.messages)).toBe(PHRASE);
    expect(c.ofType("error")).toEqual([]);
  }

  const s = await sse;
  expect(s.status).toBe(200);
  const { events } = parseSse(s.body);
  expect(events.filter((e) => e.type === "final").map((e) => e.text).join(" ")).toBe(PHRASE);
  expect(events.at(-1)).toMatchObject({ type: "done", text: PHRASE, reason: "shutting_down" });

  const r = await rest;
  expect(r.status).toBe(200);
  expect(r.body.trim()).toBe(PHRASE);

  expect(await proc!.exited).toBe(0);
  expect(lines.some((l) => l.includes('"drained"') && l.includes('"clean":true'))).toBe(true);
}, 30_000);
