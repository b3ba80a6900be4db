/**
 * Helpers for the platform suites: an in-process server on an ephemeral
 * loopback port with captured JSON logs, and a raw HTTP/1.1 client (node:net)
 * so tests can send any Host, Origin or X-Forwarded-For header exactly.
 */
import { connect } from "node:net";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { createLogger } from "../../src/log.ts";
import type { RouteFactory } from "../../src/server/app.ts";
import { parseServeConfig } from "../../src/server/config.ts";
import type { TranscriberLike } from "../../src/server/deps.ts";
import { type RunningServer, startServer } from "../../src/server/server.ts";
import { makeToneModelDir } from "../helpers/tone.ts";

let tone: Promise<Transcriber> | null = null;
/** the real engine on the tone model, one per test file (1 Worker) */
export function toneTranscriber(): Promise<Transcriber> {
  tone ??= Transcriber.load({ modelDir: makeToneModelDir(), workers: 1 });
  return tone;
}
export async function closeToneTranscriber(): Promise<void> {
  if (tone) await (await tone).close();
  tone = null;
}

export interface PlatformServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly port: number;
  /** every JSON log line written so far */
  readonly logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startPlatform(
  flags: readonly string[] = [],
  opts: { transcriber?: TranscriberLike | null; routes?: readonly RouteFactory[]; env?: Record<string, string>; readFile?: (path: string) => string } = {},
): Promise<PlatformServer> {
  const config = parseServeConfig(["--port", "0", "--log-level", "debug", ...flags], opts.env ?? {}, { isTTY: false, cpus: 1, ...(opts.readFile ? { readFile: opts.readFile } : {}) });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ level: "debug", format: "json", write: (s) => void logs.push(JSON.parse(s)) });
  const server = await startServer(config, { transcriber: opts.transcriber ?? null, log, ...(opts.routes ? { routes: opts.routes } : {}) });
  return { server, url: server.url, port: server.port, logs, stop: () => server.stop() };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  json<T = Record<string, unknown>>(): T;
}

/** One HTTP/1.1 request over a fresh TCP connection (Connection: close); headers are sent exactly as given. */
export function rawRequest(port: number, req: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, connection: "close", ...req.headers };
  for (const [k, v] of Object.entries(headers)) if (v === "") delete headers[k];
  if (req.body !== undefined) headers["content-length"] ??= String(Buffer.byteLength(req.body));
  const head = `${req.method ?? "GET"} ${req.path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      if (split < 0) return reject(new Error(`no HTTP response head: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
      const out: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        out[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let body = text.slice(split + 4);
      if (out["transfer-encoding"] === "chunked") body = dechunk(body);
      resolve({ status: Number(statusLine!.split(" ")[1]), headers: out, body, json: () => JSON.parse(body) });
    };
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      // stop once the response is complete: a 101 never ends by itself, and
      // an upgrade request's connection is not closed by the server
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      if (split < 0) return;
      const head = all.subarray(0, split).toString("latin1");
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (head.startsWith("HTTP/1.1 101") || (len && all.length - split - 4 >= Number(len[1]))) {
        finish();
        sock.destroy();
      }
    });
    sock.on("end", finish);
    sock.on("close", finish);
    sock.on("error", (e) => (done ? undefined : reject(e)));
    sock.write(head + (req.body ?? ""));
  });
}

function dechunk(s: string): string {
  let out = "";
  let rest = s;
  for (;;) {
    const nl = rest.indexOf("\r\n");
    if (nl < 0) return out;
    const n = parseInt(rest.slice(0, nl), 16);
    if (!n) return out;
    out += rest.slice(nl + 2, nl + 2 + n);
    rest = rest.slice(nl + 2 + n + 2);
  }
}

/** headers of a WebSocket upgrade request */
export function upgradeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13", ...extra };
}

/** `text` written as is on a fresh TCP connection; everything the server answers until it closes (or `ms`) */
export function rawExchange(port: number, text: string, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const timer = setTimeout(() => {
      sock.destroy();
      done();
    }, ms);
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("close", done);
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(text);
  });
}
