/**
 * Protocol fuzzer, shared by scripts/fuzz.ts (the full run, ≥ 100 k cases per
 * surface) and test/fuzz.test.ts (a fixed-seed slice of a few thousand).
 * Loopback only: it talks to the server it is given (127.0.0.1).
 *
 * Surfaces and what one case is:
 * - `http`: one raw HTTP/1.1 (sometimes 1.0) request on its own connection:
 *   random method, path, query, headers (Host, Origin, Content-Length,
 *   Transfer-Encoding, Upgrade, …) and body (mutated WAVs, multipart, random
 *   bytes; whole, chunked with random chunk sizes, malformed chunks, short).
 * - `ws`: one frame (text JSON variants, garbage, nesting, binary PCM of any
 *   length) in a WebSocket session of 1–30 frames that ends with `stop`, a
 *   close or a hang-up.
 * - `wyoming`: one event (or garbage line) in a Wyoming TCP session.
 * - `wav`: one mutated WAV container (every encoding the server accepts,
 *   EXTENSIBLE, RF64, extra chunks, lying sizes, truncation, byte flips)
 *   through the streaming decoder in random slices.
 *
 * Oracles: every HTTP answer arrives within HANG_MS, parses, is not a 5xx
 * other than 503, and an error body carries a catalogued code; every WS/Wyoming
 * message parses, every error code is catalogued, `internal` never appears,
 * WS never closes 1011, every session ends within HANG_MS after the client
 * ends it; a WAV either decodes or fails with a catalogued GigasttError in
 * bounded time. The caller checks the server is alive and that
 * `gigastt_errors_total{code="internal"}` stayed 0.
 */
import { connect, type Socket } from "node:net";
import { decodeAudioStream } from "../../src/audio/load.ts";
import { CATALOGUE, isGigasttError } from "../../src/errors.ts";
import { encodeWav, rng, type WavEncoding } from "./wav.ts";

export const SURFACES = ["http", "ws", "wyoming", "wav"] as const;
export type Surface = (typeof SURFACES)[number];

/** longest wait for an answer or a close (the server runs with --body-idle-timeout-secs 1) */
export const HANG_MS = 8000;

export interface FuzzTarget {
  readonly httpPort: number;
  readonly wyomingPort?: number;
}

export interface SurfaceStats {
  cases: number;
  /** answers by status / code / close code, e.g. "422 invalid_audio", "close 1000", "error bad_message" */
  readonly outcomes: Record<string, number>;
  /** what broke an oracle (the first few, with the seed of their case) */
  readonly failures: string[];
  failureCount: number;
  hangs: number;
}

const CODES = new Set(Object.keys(CATALOGUE));
type Rand = () => number;

function newStats(): SurfaceStats {
  return { cases: 0, outcomes: {}, failures: [], failureCount: 0, hangs: 0 };
}

function count(s: SurfaceStats, key: string): void {
  s.outcomes[key] = (s.outcomes[key] ?? 0) + 1;
}

function fail(s: SurfaceStats, what: string): void {
  s.failureCount++;
  if (s.failures.length < 20) s.failures.push(what);
}

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

// ---- WAV containers ------------------------------------------------------------

const ENCODINGS: readonly WavEncoding[] = ["pcm8", "pcm16", "pcm24", "pcm32", "float32", "float64", "alaw", "mulaw"];
const RATES = [8000, 11025, 16000, 22050, 24000, 44100, 48000, 96000, 192000, 7999, 200000, 1, 0];

function tone(r: Rand, rate: number, frames: number): Float32Array {
  const f = 100 + r() * 3000;
  const x = new Float32Array(frames);
  const safeRate = Math.max(1, rate);
  for (let i = 0; i < frames; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * f * i) / safeRate);
  return x;
}

/** RF64: the RIFF id and sizes replaced by a ds64 chunk with the 64-bit sizes */
function toRf64(wav: Uint8Array): Uint8Array {
  const ds64 = new Uint8Array(8 + 28);
  ds64.set([0x64, 0x73, 0x36, 0x34], 0); // "ds64"
  const dv = new DataView(ds64.buffer);
  dv.setUint32(4, 28, true);
  dv.setBigUint64(8, BigInt(wav.length + ds64.length - 8), true);
  // find the data chunk to read its size
  let dataSize = 0;
  for (let p = 12; p + 8 <= wav.length; ) {
    const id = String.fromCharCode(...wav.subarray(p, p + 4));
    const n = new DataView(wav.buffer, wav.byteOffset + p + 4, 4).getUint32(0, true);
    if (id === "data") {
      dataSize = n;
      new DataView(wav.buffer, wav.byteOffset + p + 4, 4).setUint32(0, 0xffffffff, true);
      break;
    }
    p += 8 + n + (n & 1);
  }
  dv.setBigUint64(16, BigInt(dataSize), true);
  const out = new Uint8Array(wav.length + ds64.length);
  out.set(wav.subarray(0, 12), 0);
  out.set([0x52, 0x46, 0x36, 0x34], 0); // "RF64"
  new DataView(out.buffer).setUint32(4, 0xffffffff, true);
  out.set(ds64, 12);
  out.set(wav.subarray(12), 12 + ds64.length);
  return out;
}

/** a WAV of any accepted kind, then (usually) mutated */
export function fuzzWav(r: Rand): Uint8Array {
  const rate = r() < 0.8 ? pick(r, RATES.slice(0, 9)) : pick(r, RATES);
  const channels = r() < 0.7 ? int(r, 1, 2) : int(r, 0, 9);
  const frames = r() < 0.1 ? int(r, 0, 10) : int(r, 50, Math.min(8000, Math.max(60, rate / 4)));
  const plane = tone(r, rate, frames);
  let w: Uint8Array;
  try {
    w = encodeWav({
      sampleRate: rate,
      channels: Array.from({ length: channels }, () => plane),
      encoding: pick(r, ENCODINGS),
      extensible: r() < 0.2,
      ...(r() < 0.05 ? { subFormatTag: int(r, 0, 0xffff) } : {}),
      ...(r() < 0.05 ? { formatTag: pick(r, [0, 2, 0x11, 0x55, 0xfffe, int(r, 0, 0xffff)]) } : {}),
      ...(r() < 0.15 ? { extra: [{ id: pick(r, ["LIST", "fact", "junk", "bext", "\0\0\0\0"]), data: randomBytes(r, int(r, 0, 300)), at: pick(r, ["before-fmt", "before-data", "after-data"] as const) }] } : {}),
      ...(r() < 0.1 ? { dataSize: pick(r, [0, 0xffffffff, int(r, 0, 1 << 20)]) } : {}),
      ...(r() < 0.1 ? { riffSize: pick(r, [0, 0xffffffff, int(r, 0, 1 << 20)]) } : {}),
      ...(r() < 0.03 ? { dataFirst: true } : {}),
      ...(r() < 0.03 ? { noFmt: true } : {}),
    });
  } catch {
    w = randomBytes(r, int(r, 0, 200));
  }
  if (r() < 0.1) w = toRf64(w);
  const m = r();
  if (m < 0.35) return w; // intact
  if (m < 0.55) {
    // flip bytes, mostly in the header
    const out = w.slice();
    for (let k = int(r, 1, 8); k > 0 && out.length > 0; k--) out[r() < 0.7 ? int(r, 0, Math.min(out.length - 1, 80)) : int(r, 0, out.length - 1)] = Math.floor(r() * 256);
    return out;
  }
  if (m < 0.7) return w.subarray(0, int(r, 0, w.length)); // truncated
  if (m < 0.8) {
    // a 32-bit field in the header set to an edge value
    const out = w.slice();
    if (out.length >= 44) new DataView(out.buffer).setUint32(4 * int(r, 1, 10), pick(r, [0, 1, 0x7fffffff, 0xffffffff, 0x80000000]), true);
    return out;
  }
  if (m < 0.9) return randomBytes(r, int(r, 0, 2000)); // not audio
  // other containers' magic numbers
  const magic = pick(r, ["ID3", "OggS", "fLaC", "\0\0\0 ftypM4A ", "\x1aE\xdf\xa3", "\xff\xfb", "RIFF\0\0\0\0AVI ", "FORM\0\0\0\0AIFF"]);
  return new Uint8Array([...Buffer.from(magic, "latin1"), ...randomBytes(r, int(r, 0, 500))]);
}

/** one WAV through the streaming decoder, in random slices */
export async function wavCase(r: Rand, s: SurfaceStats, label: string): Promise<void> {
  const bytes = fuzzWav(r);
  const slices: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = r() < 0.3 ? int(r, 1, 7) : int(r, 8, 5000);
    slices.push(bytes.subarray(i, i + n));
    i += n;
  }
  const t0 = performance.now();
  try {
    let samples = 0;
    for await (const c of decodeAudioStream(slices, { maxSeconds: 60, emptyCode: "empty_body" })) samples += c.length;
    count(s, samples > 0 ? "decoded" : "decoded empty");
  } catch (e) {
    if (!isGigasttError(e)) fail(s, `${label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    else if (e.code === "internal") fail(s, `${label}: internal`);
    else count(s, e.code);
  }
  if (performance.now() - t0 > HANG_MS) {
    s.hangs++;
    fail(s, `${label}: took ${Math.round(performance.now() - t0)} ms`);
  }
}

// ---- HTTP -------------------------------------------------------------------------

const METHODS = ["GET", "GET", "POST", "POST", "POST", "POST", "POST", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "CONNECT", "FOO", "get", "P0ST"];
const PATHS = [
  "/v1/transcribe",
  "/v1/transcribe",
  "/v1/transcribe/stream",
  "/v1/audio/transcriptions",
  "/v1/audio/transcriptions",
  "/v1/ws",
  "/v1/models",
  "/health",
  "/ready",
  "/metrics",
  "/",
  "/v1",
  "/v1/transcribe/",
  "//v1/transcribe",
  "/v1/../v1/transcribe",
  "/%2e%2e/etc/passwd",
  "/v1/transcribe%00",
  "/v1/ws/extra",
  "*",
];
const QUERIES = ["", "", "?format=json", "?format=text", "?format=srt", "?format=vtt", "?format=xml", "?format=", "?sample_rate=8000", "?sample_rate=abc", "?a=1&a=2", "?%ff", "?format=%00", `?x=${"y".repeat(3000)}`];
// (rarer entries: what Bun's own parser refuses with a bare 400 before any of our code runs)
const ORIGINS = [null, null, null, null, null, null, "http://localhost:3000", "http://127.0.0.1", "null", "https://evil.example", "http://localhost.evil.com", "", null, null, null, null, null, null, null, "\u0000"];
const HOSTS = (port: number) => [
  ...Array.from({ length: 12 }, () => `127.0.0.1:${port}`),
  `localhost:${port}`,
  `[::1]:${port}`,
  "evil.example",
  `127.0.0.1:${port + 1}`,
  "",
  null,
  "localhost",
  "a".repeat(300),
];
const CTYPES = [null, "audio/wav", "application/octet-stream", "multipart/form-data; boundary=XyZ", "multipart/form-data", "multipart/form-data; boundary=", "text/plain", 'multipart/form-data; boundary="q u o"'];

function multipartBody(r: Rand, boundary: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (let k = int(r, 0, 4); k > 0; k--) {
    const name = pick(r, ["file", "model", "language", "response_format", "stream", "prompt", "temperature", "timestamp_granularities[]", "x"]);
    const isFile = name === "file" && r() < 0.8;
    const value = isFile ? fuzzWav(r) : enc.encode(pick(r, ["whisper-1", "ru", "en", "json", "text", "srt", "vtt", "verbose_json", "true", "false", "0.2", "word", "", "x".repeat(int(r, 0, 2000))]));
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${isFile ? '; filename="a.wav"' : ""}\r\n${isFile ? "Content-Type: audio/wav\r\n" : ""}\r\n`), value, enc.encode("\r\n"));
  }
  if (r() < 0.85) parts.push(enc.encode(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}

function chunked(r: Rand, body: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; ) {
    const n = int(r, 1, 4096);
    const piece = body.subarray(i, i + n);
    i += n;
    const lie = r() < 0.03;
    parts.push(enc.encode(`${(lie ? piece.length + int(r, -3, 3) : piece.length).toString(16)}${r() < 0.02 ? ";ext=1" : ""}\r\n`), piece, enc.encode("\r\n"));
  }
  if (r() < 0.9) parts.push(enc.encode("0\r\n\r\n"));
  else if (r() < 0.5) parts.push(enc.encode("zz\r\n"));
  return Buffer.concat(parts);
}

/** one random raw request */
export function fuzzRequest(r: Rand, port: number): { bytes: Uint8Array; method: string; path: string; version: string } {
  const method = pick(r, METHODS);
  const path = pick(r, PATHS);
  const query = pick(r, QUERIES);
  const version = r() < 0.05 ? "HTTP/1.0" : r() < 0.01 ? "HTTP/2.0" : "HTTP/1.1";
  const headers: [string, string][] = [];
  const host = pick(r, HOSTS(port));
  if (host !== null) headers.push(["Host", host]);
  const origin = pick(r, ORIGINS);
  if (origin !== null) headers.push(["Origin", origin]);
  if (r() < 0.1) headers.push(["Upgrade", pick(r, ["websocket", "h2c", "WebSocket"])], ["Connection", "Upgrade"], ["Sec-WebSocket-Key", pick(r, ["dGhlIHNhbXBsZSBub25jZQ==", "", "x"])], ["Sec-WebSocket-Version", pick(r, ["13", "8", ""])]);
  if (r() < 0.1) headers.push(["X-Forwarded-For", pick(r, ["1.2.3.4", "::1, 10.0.0.1", "garbage", "1.1.1.1".repeat(50)])]);
  if (r() < 0.05) headers.push(["X-Request-Id", pick(r, ["abc", "\u00ff", "x".repeat(200), ""])]);
  if (r() < 0.02) headers.push([pick(r, ["X", "Content-Length", "Transfer-Encoding", "Expect"]), pick(r, ["100-continue", "gzip, chunked", "-1", "1e3", " 5", "chunked, identity"])]);
  const ctype = pick(r, CTYPES);
  if (ctype !== null) headers.push(["Content-Type", ctype]);
  let body: Uint8Array = new Uint8Array(0);
  if (method !== "GET" || r() < 0.05) {
    const k = r();
    if (k < 0.55) body = fuzzWav(r);
    else if (k < 0.8) body = multipartBody(r, ctype?.includes("boundary=XyZ") ? "XyZ" : "XyZ");
    else if (k < 0.95) body = randomBytes(r, int(r, 0, 3000));
  }
  const mode = r();
  let wire: Uint8Array = body;
  if (mode < 0.45) headers.push(["Content-Length", String(body.length)]);
  else if (mode < 0.8) {
    headers.push(["Transfer-Encoding", "chunked"]);
    wire = chunked(r, body);
  } else if (mode < 0.88) headers.push(["Content-Length", String(body.length + int(r, 1, 100))]); // short body: the server's body timeout ends it
  else if (mode < 0.93) headers.push(["Content-Length", String(Math.max(0, body.length - int(r, 1, 10)))]);
  else if (mode < 0.96) headers.push(["Content-Length", pick(r, ["abc", "-5", "99999999999999999999", "0x10"])]);
  // else: neither (a body without framing)
  headers.push(["Connection", "close"]);
  const head = `${method} ${path}${query} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
  return { bytes: Buffer.concat([Buffer.from(head, "latin1"), wire]), method, path, version };
}

interface RawAnswer {
  status: number;
  head: string;
  body: Buffer;
  hung: boolean;
  error?: string;
}

/** writes `bytes` on a fresh connection; the answer once the server closes or HANG_MS pass */
function exchange(port: number, bytes: Uint8Array, hangMs = HANG_MS): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock: Socket = connect(port, "127.0.0.1");
    let done = false;
    const finish = (hung: boolean, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      const head = split < 0 ? all.toString("latin1") : all.subarray(0, split).toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : 0, head, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4), hung, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(true), hangMs);
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      // a complete response with Content-Length: no need to wait for the close
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      if (split >= 0) {
        const head = all.subarray(0, split).toString("latin1");
        const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (head.startsWith("HTTP/1.1 101") || (len && all.length - split - 4 >= Number(len[1]))) finish(false);
      }
    });
    sock.on("close", () => finish(false));
    sock.on("error", (e) => finish(false, e.message));
    sock.write(bytes);
  });
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

/** codes in an answer body: JSON `{code}` / `{error:{code}}` or SSE `data:` events */
function codesIn(head: string, body: Buffer): string[] | null {
  // only this response's body (bytes after it belong to a later answer on the connection)
  const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const own = len ? body.subarray(0, Number(len[1])) : body;
  const text = (/\r\ntransfer-encoding:\s*chunked/i.test(head) ? dechunk(own) : own).toString("utf8");
  if (/\r\ncontent-type:\s*text\/event-stream/i.test(head)) {
    const out: string[] = [];
    for (const line of text.split("\n")) {
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      try {
        const ev = JSON.parse(line.slice(6)) as { type?: string; code?: string; error?: { code?: string } };
        const c = ev.code ?? ev.error?.code;
        if (ev.type === "error" || c !== undefined) out.push(String(c));
      } catch {
        return null;
      }
    }
    return out;
  }
  if (/\r\ncontent-type:\s*application\/json/i.test(head) && text.length > 0) {
    try {
      const j = JSON.parse(text) as { code?: string; error?: { code?: string } | string };
      const c = j.code ?? (typeof j.error === "object" ? j.error?.code : undefined);
      return c === undefined ? [] : [String(c)];
    } catch {
      return null;
    }
  }
  return [];
}

export async function httpCase(r: Rand, s: SurfaceStats, port: number, label: string): Promise<void> {
  const req = fuzzRequest(r, port);
  const a = await exchange(port, req.bytes);
  if (a.hung) {
    s.hangs++;
    fail(s, `${label}: no answer within ${HANG_MS} ms (${req.method} ${req.path})`);
    return;
  }
  if (a.status === 0) {
    // the server closed without a response: only acceptable for a connection Bun refused at the parser level
    count(s, a.error ? `reset (${a.error})` : "closed without answer");
    return;
  }
  const codes = req.method === "HEAD" ? [] : codesIn(a.head, a.body); // a HEAD answer has no body
  if (codes === null) fail(s, `${label}: unparsable ${a.status} body for ${req.method} ${req.path}`);
  for (const c of codes ?? []) {
    if (!CODES.has(c)) fail(s, `${label}: uncatalogued code ${c} (${a.status} ${req.method} ${req.path})`);
    if (c === "internal") fail(s, `${label}: internal (${a.status} ${req.method} ${req.path})`);
  }
  // 505 is Bun's own answer to an HTTP version other than 1.x
  if (a.status >= 500 && a.status !== 503 && !(a.status === 505 && !req.version.startsWith("HTTP/1."))) fail(s, `${label}: ${a.status} for ${req.method} ${req.path} ${req.version}`);
  count(s, `${a.status}${codes && codes.length ? ` ${codes.join(",")}` : ""}`);
}

// ---- WebSocket ----------------------------------------------------------------------

function wsFrame(r: Rand): string | Uint8Array {
  const k = r();
  if (k < 0.45) {
    const n = r() < 0.05 ? 0 : r() < 0.1 ? 1 : int(r, 2, 6000);
    const b = randomBytes(r, n);
    // mostly speech-like PCM (a tone), sometimes noise
    if (r() < 0.6) {
      const dv = new DataView(b.buffer);
      const f = 200 + r() * 2000;
      for (let i = 0; i + 1 < n; i += 2) dv.setInt16(i, Math.round(12000 * Math.sin((2 * Math.PI * f * i) / 32000)), true);
    }
    return b;
  }
  if (k < 0.6) return JSON.stringify({ type: "configure", ...(r() < 0.8 ? { sample_rate: pick(r, [8000, 16000, 24000, 44100, 48000, 0, -1, 22050, 1e9, "16000", null, 1.5]) } : {}), ...(r() < 0.3 ? { protocol_version: pick(r, ["1.0", "2.0", 1, null, ""]) } : {}), ...(r() < 0.1 ? { extra: "x".repeat(int(r, 0, 20000)) } : {}) });
  if (k < 0.68) return JSON.stringify({ type: pick(r, ["stop", "STOP", "ping", "", "final", "configure"]) });
  if (k < 0.78) return pick(r, ["", "{", "null", "[]", "42", '"str"', '{"type":null}', "{}", "\u0000", "\ud800", "true", '{"type":"stop"'.repeat(3)]);
  if (k < 0.85) {
    const d = int(r, 1, 300);
    return `${"[".repeat(d)}${"]".repeat(d)}`;
  }
  return Buffer.from(randomBytes(r, int(r, 0, 300))).toString("latin1");
}

const WS_CLOSES = new Set([1000, 1001, 1002, 1005, 1006, 1008, 1009, 1013]);

/** one session; `frames` cases */
export async function wsSession(r: Rand, s: SurfaceStats, port: number, label: string, frames: number): Promise<void> {
  const rate = r() < 0.2 ? `?sample_rate=${pick(r, ["8000", "48000", "x", "0", ""])}` : "";
  let socket: WebSocket;
  const messages: string[] = [];
  let closeCode = -1;
  const closed = new Promise<void>((resolve) => {
    socket = new WebSocket(`ws://127.0.0.1:${port}/v1/ws${rate}`);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (e) => messages.push(String(e.data)));
    socket.addEventListener("close", (e) => {
      closeCode = e.code;
      resolve();
    });
    socket.addEventListener("error", () => {});
  });
  const opened = await Promise.race([new Promise<boolean>((res) => socket!.addEventListener("open", () => res(true), { once: true })), closed.then(() => false), Bun.sleep(HANG_MS).then(() => false)]);
  if (!opened) {
    s.cases += frames;
    count(s, `upgrade refused ${closeCode}`);
    return;
  }
  for (let i = 0; i < frames && closeCode < 0; i++) {
    try {
      socket!.send(wsFrame(r));
    } catch {
      break;
    }
    s.cases++;
    if (r() < 0.3) await Bun.sleep(int(r, 0, 5));
  }
  const end = r();
  let ownClose = -1;
  if (closeCode < 0) {
    if (end < 0.6) socket!.send(JSON.stringify({ type: "stop" }));
    else socket!.close((ownClose = pick(r, [1000, 1001, 4000])));
  }
  const t0 = performance.now();
  const ok = await Promise.race([closed.then(() => true), Bun.sleep(HANG_MS).then(() => false)]);
  if (!ok) {
    s.hangs++;
    fail(s, `${label}: session not closed ${Math.round(performance.now() - t0)} ms after the client ended it`);
    socket!.close();
  }
  for (const m of messages) {
    let msg: { type?: string; code?: string };
    try {
      msg = JSON.parse(m) as { type?: string; code?: string };
    } catch {
      fail(s, `${label}: unparsable message ${m.slice(0, 80)}`);
      continue;
    }
    if (!["ready", "partial", "final", "error"].includes(String(msg.type))) fail(s, `${label}: unknown message type ${msg.type}`);
    if (msg.type === "error") {
      if (!CODES.has(String(msg.code))) fail(s, `${label}: uncatalogued code ${msg.code}`);
      if (msg.code === "internal") fail(s, `${label}: error internal`);
      count(s, `error ${msg.code}`);
    }
  }
  if (closeCode === 1011) fail(s, `${label}: close 1011`);
  else if (!WS_CLOSES.has(closeCode) && closeCode !== ownClose) fail(s, `${label}: close ${closeCode}`);
  count(s, `close ${closeCode}`);
}

// ---- Wyoming ---------------------------------------------------------------------------

function wyEvent(r: Rand): Uint8Array {
  const enc = new TextEncoder();
  const k = r();
  if (k < 0.08) return enc.encode(pick(r, ["\n", "garbage\n", "{}\n", '{"type":1}\n', "[1]\n", "\u00ff\n", `${"{".repeat(100)}\n`, `{"type":"x","data":${"[".repeat(50)}${"]".repeat(50)}}\n`]));
  const type = pick(r, ["describe", "transcribe", "audio-start", "audio-chunk", "audio-chunk", "audio-chunk", "audio-stop", "ping", "select-program", "info", "unknown-event"]);
  const fmt = () => ({ rate: pick(r, [16000, 16000, 8000, 22050, 44100, 48000, 0, -5, 7, 1e9, "16000"]), width: pick(r, [2, 2, 2, 1, 3, 4, 0]), channels: pick(r, [1, 1, 2, 0, 9]) });
  let data: Record<string, unknown> = {};
  if (type === "transcribe") data = { ...(r() < 0.5 ? { language: pick(r, ["ru", "en", "", "ru-RU", 5]) } : {}), ...(r() < 0.3 ? { name: pick(r, ["gigaam-v3-e2e-rnnt", "whisper", ""]) } : {}) };
  if (type === "audio-start" || type === "audio-chunk") data = r() < 0.9 ? fmt() : {};
  let payload: Uint8Array = new Uint8Array(0);
  if (type === "audio-chunk") {
    const n = r() < 0.05 ? int(r, 0, 3) : int(r, 2, 8000);
    payload = randomBytes(r, n);
    if (r() < 0.6) {
      const dv = new DataView(payload.buffer);
      const f = 200 + r() * 2000;
      for (let i = 0; i + 1 < n; i += 2) dv.setInt16(i, Math.round(12000 * Math.sin((2 * Math.PI * f * i) / 32000)), true);
    }
  }
  const dataText = JSON.stringify(data);
  const inline = r() < 0.5;
  const header: Record<string, unknown> = { type, ...(inline ? { data } : { data_length: Buffer.byteLength(dataText) + (r() < 0.03 ? int(r, -3, 3) : 0) }), ...(payload.length ? { payload_length: payload.length + (r() < 0.03 ? int(r, -2, 2) : 0) } : {}) };
  if (r() < 0.03) header.version = pick(r, ["1.7.2", "0.0.1", 5]);
  if (r() < 0.02) header.payload_length = pick(r, [-1, 1e12, "5", 1.5]);
  return Buffer.concat([enc.encode(`${JSON.stringify(header)}\n`), inline ? new Uint8Array(0) : enc.encode(dataText), payload]);
}

/** one Wyoming connection with `events` cases */
export async function wyomingSession(r: Rand, s: SurfaceStats, port: number, label: string, events: number): Promise<void> {
  const received: Buffer[] = [];
  let closed = false;
  const sock = connect(port, "127.0.0.1");
  const closedP = new Promise<void>((resolve) => {
    sock.on("close", () => {
      closed = true;
      resolve();
    });
  });
  sock.on("data", (d: Buffer) => received.push(d));
  sock.on("error", () => {});
  await Promise.race([new Promise<void>((res) => sock.once("connect", () => res())), closedP]);
  for (let i = 0; i < events && !closed; i++) {
    const ev = wyEvent(r);
    // sometimes split an event across writes
    if (r() < 0.2 && ev.length > 2) {
      const cut = int(r, 1, ev.length - 1);
      sock.write(ev.subarray(0, cut));
      await Bun.sleep(1);
      sock.write(ev.subarray(cut));
    } else sock.write(ev);
    s.cases++;
    if (r() < 0.2) await Bun.sleep(int(r, 0, 3));
  }
  // end the conversation: a clean audio-stop sometimes, then our side closes
  if (!closed && r() < 0.3) sock.write(Buffer.from(`${JSON.stringify({ type: "audio-stop" })}\n`));
  await Bun.sleep(int(r, 0, 20));
  sock.end();
  const ok = await Promise.race([closedP.then(() => true), Bun.sleep(HANG_MS).then(() => false)]);
  if (!ok) {
    s.hangs++;
    fail(s, `${label}: connection not closed within ${HANG_MS} ms after the client ended it`);
    sock.destroy();
  }
  // parse what came back: header line, data, payload
  const all = Buffer.concat(received);
  for (let i = 0; i < all.length; ) {
    const nl = all.indexOf(10, i);
    if (nl < 0) {
      fail(s, `${label}: trailing bytes without a header line`);
      break;
    }
    let h: { type?: string; data?: Record<string, unknown>; data_length?: number; payload_length?: number };
    try {
      h = JSON.parse(all.subarray(i, nl).toString("utf8")) as typeof h;
    } catch {
      fail(s, `${label}: unparsable header ${all.subarray(i, Math.min(nl, i + 80)).toString()}`);
      break;
    }
    i = nl + 1;
    let data = h.data ?? {};
    if (h.data_length) {
      try {
        data = { ...data, ...(JSON.parse(all.subarray(i, i + h.data_length).toString("utf8")) as Record<string, unknown>) };
      } catch {
        fail(s, `${label}: unparsable data`);
      }
      i += h.data_length;
    }
    i += h.payload_length ?? 0;
    if (h.type === "error") {
      const code = String(data.code);
      if (!CODES.has(code)) fail(s, `${label}: uncatalogued code ${code}`);
      if (code === "internal") fail(s, `${label}: error internal`);
      count(s, `error ${code}`);
    } else count(s, String(h.type));
  }
}

// ---- driver --------------------------------------------------------------------------------

export interface FuzzOptions {
  readonly target: FuzzTarget;
  readonly seed: number;
  /** cases per surface */
  readonly cases: number;
  readonly surfaces?: readonly Surface[];
  /** parallel connections (HTTP, WS and Wyoming) */
  readonly concurrency?: number;
  readonly progress?: (surface: Surface, done: number) => void;
}

/** runs every surface to `cases` cases; deterministic per seed (the generators; timing still varies) */
export async function fuzz(opts: FuzzOptions): Promise<Record<Surface, SurfaceStats>> {
  const out = {} as Record<Surface, SurfaceStats>;
  const conc = opts.concurrency ?? 4;
  for (const surface of opts.surfaces ?? SURFACES) {
    const s = newStats();
    out[surface] = s;
    if (surface === "wyoming" && opts.target.wyomingPort === undefined) continue;
    let next = 0;
    const lane = async (l: number) => {
      for (;;) {
        const id = next++;
        if (s.cases >= opts.cases) return;
        // every case draws from its own stream: a failure names the seed that reproduces it
        const caseSeed = (opts.seed * 1_000_003 + id * 7919 + SURFACES.indexOf(surface)) >>> 0;
        const r = rng(caseSeed);
        const label = `${surface} seed ${opts.seed} case ${id} (rng ${caseSeed})`;
        if (surface === "wav") {
          await wavCase(r, s, label);
          s.cases++;
        } else if (surface === "http") {
          await httpCase(r, s, opts.target.httpPort, label);
          s.cases++;
        } else if (surface === "ws") await wsSession(r, s, opts.target.httpPort, label, int(r, 1, 30));
        else await wyomingSession(r, s, opts.target.wyomingPort!, label, int(r, 1, 30));
        if (l === 0 && id % 200 === 0) opts.progress?.(surface, s.cases);
      }
    };
    await Promise.all(Array.from({ length: surface === "wav" ? 1 : conc }, (_, l) => lane(l)));
  }
  return out;
}
