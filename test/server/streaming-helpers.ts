/**
 * Helpers for the transcription-route suites: an in-process server with the
 * real tone model, tone audio as PCM16/WAV, and a WebSocket client that
 * queues every message and the close event.
 */
import { parseServeConfig, type ServerConfig } from "../../src/server/config.ts";
import { type RunningServer, startServer } from "../../src/server/server.ts";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { createLogger } from "../../src/log.ts";
import { resample } from "../../src/audio/resample.ts";
import { makeToneModelDir, phraseToAudio, type ToneOptions, wavBytes } from "../helpers/tone.ts";

export { makeToneModelDir, phraseToAudio, wavBytes };

let shared: Promise<Transcriber> | null = null;
/** one tone-model Transcriber per test file (1 Worker) */
export function toneTranscriber(): Promise<Transcriber> {
  shared ??= Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
  return shared;
}

export async function closeToneTranscriber(): Promise<void> {
  if (shared) await (await shared).close();
  shared = null;
}

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly ws: string;
  stop(): Promise<void>;
}

/** `gigastt serve` flags on loopback, an ephemeral port, quiet logs; extra config fields override */
export async function startToneServer(
  flags: readonly string[] = [],
  extra: Partial<ServerConfig> = {},
  transcriber?: Transcriber,
  /** `logs`: collect every JSON log line (level debug) instead of discarding them */
  opts: { logs?: Record<string, unknown>[] } = {},
): Promise<TestServer> {
  const config = Object.freeze({
    ...parseServeConfig(["--port", "0", "--log-level", "silent", ...flags], {}, { isTTY: false, cpus: 1 }),
    ...extra,
  });
  const logs = opts.logs;
  const server = await startServer(config, {
    transcriber: transcriber ?? (await toneTranscriber()),
    log: logs ? createLogger({ level: "debug", format: "json", write: (s) => void logs.push(JSON.parse(s)) }) : createLogger({ level: "silent", format: "json", write: () => {} }),
  });
  return {
    server,
    url: server.url,
    ws: `${server.url.replace("http", "ws")}/v1/ws`,
    stop: () => server.stop(),
  };
}

/** float → PCM16 LE bytes (the WebSocket wire format) */
export function pcm16(samples: Float32Array): Uint8Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    out[i] = Math.round(s < 0 ? s * 32768 : s * 32767);
  }
  return new Uint8Array(out.buffer);
}

/** a tone phrase at `rate` (synthesized at 16 kHz, then resampled) */
export function toneAt(phrase: string, rate: number, opts: ToneOptions = {}): Float32Array {
  const a = phraseToAudio(phrase, opts);
  return rate === 16000 ? a.samples : resample(a.samples, 16000, rate);
}

export function splitBytes(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, Math.min(bytes.length, i + size)));
  return out;
}

export interface ServerMessage {
  type: string;
  text?: string;
  words?: { word: string; start: number; end: number; confidence: number }[];
  code?: string;
  [k: string]: unknown;
}

/** A WebSocket client that records everything the server says. */
export class WsClient {
  readonly socket: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  /** `options`: more of Bun's WebSocket options (e.g. `tls`) */
  constructor(url: string, headers?: Record<string, string>, options?: Record<string, unknown>) {
    this.socket = new WebSocket(url, headers || options ? ({ headers, ...options } as unknown as string[]) : undefined);
    this.socket.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener("open", () => resolve(), { once: true });
      this.socket.addEventListener("error", () => reject(new Error("websocket error")), { once: true });
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.socket.addEventListener("close", (e) => {
        resolve({ code: e.code, reason: e.reason });
        this.wake();
      });
    });
    this.socket.addEventListener("message", (e) => {
      this.messages.push(JSON.parse(String(e.data)) as ServerMessage);
      this.wake();
    });
  }

  static async open(url: string): Promise<WsClient> {
    const c = new WsClient(url);
    await c.opened;
    return c;
  }

  /** wait for the first message of `type` (after index `from`), up to `ms` */
  async next(type: string, ms = 10_000, from = 0): Promise<ServerMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.messages.slice(from).find((x) => x.type === type);
      if (m) return m;
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`closed before a ${type} message: ${JSON.stringify(this.messages)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} message within ${ms} ms: ${JSON.stringify(this.messages)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  json(payload: unknown): void {
    this.socket.send(JSON.stringify(payload));
  }

  send(data: string | Uint8Array): void {
    this.socket.send(data);
  }

  ofType(type: string): ServerMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  close(): void {
    this.socket.close();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** ready → configure? → frames → stop → every message until the close */
export async function streamSession(
  url: string,
  frames: readonly Uint8Array[],
  opts: { configure?: Record<string, unknown> } = {},
): Promise<{ messages: ServerMessage[]; close: { code: number; reason: string } }> {
  const c = await WsClient.open(url);
  await c.next("ready");
  if (opts.configure) c.json({ type: "configure", ...opts.configure });
  for (const f of frames) c.send(f);
  c.json({ type: "stop" });
  const close = await c.closed;
  return { messages: c.messages, close };
}

export function finalText(messages: readonly ServerMessage[]): string {
  return messages
    .filter((m) => m.type === "final")
    .map((m) => m.text ?? "")
    .filter(Boolean)
    .join(" ");
}

/** SSE body → the JSON payloads of its `data:` lines (and how many keep-alives) */
export function parseSse(body: string): { events: ServerMessage[]; comments: number } {
  const events: ServerMessage[] = [];
  let comments = 0;
  for (const block of body.split("\n\n")) {
    if (!block) continue;
    for (const line of block.split("\n")) {
      if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)) as ServerMessage);
      else if (line.startsWith(":")) comments++;
      else if (line) throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
    }
  }
  return { events, comments };
}

/**
 * A raw HTTP/1.1 POST with a chunked body (fetch would buffer a streamed
 * body): writes `chunks` with `delayMs` between them unless the server has
 * already answered, and resolves with the raw response text and how many
 * chunks were written.
 */
export async function rawChunkedPost(
  port: number,
  path: string,
  chunks: readonly Uint8Array[],
  opts: {
    delayMs?: number;
    end?: boolean;
    /** keep writing after the response head (SSE) */
    pastHead?: boolean;
    /** Content-Type header of the request (none by default) */
    contentType?: string;
    /** how long to wait for the server to close after the body, ms (default 5000), then hang up */
    holdMs?: number;
  } = {},
): Promise<{ written: number; status: number; head: string; body: string }> {
  const parts: Buffer[] = [];
  let closed = false;
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, d) {
        parts.push(Buffer.from(d));
      },
      close() {
        closed = true;
      },
    },
  });
  const received = () => Buffer.concat(parts);
  const type = opts.contentType ? `Content-Type: ${opts.contentType}\r\n` : "";
  sock.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${type}Transfer-Encoding: chunked\r\n\r\n`);
  let written = 0;
  for (const c of chunks) {
    if ((!opts.pastHead && received().includes("\r\n\r\n")) || closed) break;
    sock.write(`${c.length.toString(16)}\r\n`);
    sock.write(c);
    sock.write("\r\n");
    written++;
    await Bun.sleep(opts.delayMs ?? 2);
  }
  if (opts.end !== false && !closed) sock.write("0\r\n\r\n");
  for (let i = 0; i < (opts.holdMs ?? 5000) / 10 && !closed; i++) await Bun.sleep(10);
  sock.end();
  const all = received();
  const split = all.indexOf("\r\n\r\n");
  const head = all.subarray(0, split).toString();
  let body: Buffer = all.subarray(split + 4);
  if (/transfer-encoding: chunked/i.test(head)) body = dechunk(body);
  return { written, status: Number(head.split(" ")[1]), head, body: body.toString() };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = b.indexOf("\r\n", i);
    if (nl < 0) break;
    const n = Number.parseInt(b.subarray(i, nl).toString(), 16);
    if (!n) break;
    out.push(b.subarray(nl + 2, nl + 2 + n));
    i = nl + 2 + n + 2;
  }
  return Buffer.concat(out);
}
