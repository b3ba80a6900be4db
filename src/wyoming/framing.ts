/**
 * Wyoming wire format (Home Assistant's voice protocol): every event is
 *
 *   {"type": "...", "data": {...}?, "data_length": N?, "payload_length": M?}\n
 *   <N bytes of UTF-8 JSON object, merged over `data`>
 *   <M bytes of binary payload (PCM audio)>
 *
 * {@link WyomingDecoder} turns an arbitrary split of that byte stream into
 * events with bounded memory: a header line longer than `maxHeaderBytes`, a
 * `data_length` over `maxDataBytes` or a `payload_length` over
 * `maxPayloadBytes` is refused as soon as it is seen. Any framing error is
 * final (the stream cannot be resynchronised), so the decoder stays failed.
 * {@link encodeEvent} writes events with their data inline in the header,
 * which every Wyoming reader accepts.
 */
import { GigasttError } from "../errors.ts";
import { jsonTooDeep, MAX_JSON_DEPTH } from "../json-guard.ts";

export interface WyomingEvent {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly payload: Uint8Array | null;
}

export interface FramingLimits {
  /** longest header line, newline excluded */
  readonly maxHeaderBytes: number;
  /** largest `data_length` */
  readonly maxDataBytes: number;
  /** largest `payload_length` */
  readonly maxPayloadBytes: number;
}

export const DEFAULT_FRAMING_LIMITS: FramingLimits = Object.freeze({
  maxHeaderBytes: 64 * 1024,
  maxDataBytes: 1024 * 1024,
  maxPayloadBytes: 4 * 1024 * 1024,
});

/** The Wyoming version written in every header we send (the event set of wyoming 1.7). */
export const WYOMING_VERSION = "1.7.2";

const NEWLINE = 0x0a;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

interface Pending {
  readonly type: string;
  data: Record<string, unknown>;
  readonly dataLength: number;
  readonly payloadLength: number;
}

export class WyomingDecoder {
  private readonly limits: FramingLimits;
  /** bytes of the part being read (header line, data or payload) */
  private parts: Uint8Array[] = [];
  private have = 0;
  private pending: Pending | null = null;
  private phase: "header" | "data" | "payload" = "header";
  private failed: GigasttError | null = null;

  constructor(limits: Partial<FramingLimits> = {}) {
    this.limits = { ...DEFAULT_FRAMING_LIMITS, ...limits };
  }

  /** bytes held for an incomplete event */
  get buffered(): number {
    return this.have;
  }

  /** true between events (nothing partial held) */
  get idle(): boolean {
    return this.phase === "header" && this.have === 0;
  }

  /**
   * Complete events in `bytes` (plus what earlier pushes left), and the
   * framing error (GigasttError `bad_message` or `payload_too_large`) that
   * stopped decoding, if any: events before it are still returned, nothing
   * after it is ever decoded.
   */
  push(bytes: Uint8Array): { events: WyomingEvent[]; error: GigasttError | null } {
    const out: WyomingEvent[] = [];
    if (this.failed) return { events: out, error: this.failed };
    try {
      let i = 0;
      while (i < bytes.length) {
        if (this.phase === "header") {
          const nl = bytes.indexOf(NEWLINE, i);
          const end = nl < 0 ? bytes.length : nl;
          if (this.have + (end - i) > this.limits.maxHeaderBytes) {
            throw new GigasttError("payload_too_large", `Event header longer than ${this.limits.maxHeaderBytes} bytes`);
          }
          this.take(bytes.subarray(i, end));
          i = end;
          if (nl < 0) break;
          i = nl + 1;
          const line = this.drain();
          if (line.length === 0 || isBlank(line)) continue; // tolerate blank lines between events
          this.pending = parseHeader(line, this.limits);
          this.phase = "data";
          const done = this.advance();
          if (done) out.push(done);
        } else {
          const want = (this.phase === "data" ? this.pending!.dataLength : this.pending!.payloadLength) - this.have;
          const n = Math.min(want, bytes.length - i);
          this.take(bytes.subarray(i, i + n));
          i += n;
          const done = this.advance();
          if (done) out.push(done);
        }
      }
    } catch (e) {
      this.failed = e instanceof GigasttError ? e : new GigasttError("bad_message");
      this.parts = [];
      this.have = 0;
      this.pending = null;
    }
    return { events: out, error: this.failed };
  }

  private take(b: Uint8Array): void {
    if (b.length === 0) return;
    this.parts.push(b.slice()); // copy: the socket reuses its buffer
    this.have += b.length;
  }

  private drain(): Uint8Array {
    const all = this.parts.length === 1 ? this.parts[0]! : concat(this.parts, this.have);
    this.parts = [];
    this.have = 0;
    return all;
  }

  /** moves through data/payload as far as the buffered bytes allow; returns a finished event */
  private advance(): WyomingEvent | null {
    const p = this.pending!;
    if (this.phase === "data") {
      if (this.have < p.dataLength) return null;
      if (p.dataLength > 0) p.data = { ...p.data, ...parseObject(this.drain(), "event data") };
      this.phase = "payload";
    }
    if (this.have < p.payloadLength) return null;
    const payload = p.payloadLength > 0 ? this.drain() : null;
    this.pending = null;
    this.phase = "header";
    return { type: p.type, data: p.data, payload };
  }
}

function parseHeader(line: Uint8Array, limits: FramingLimits): Pending {
  const h = parseObject(line, "event header");
  const type = h.type;
  if (typeof type !== "string" || type.length === 0 || type.length > 128) throw new GigasttError("bad_message", "Event header needs a string 'type'");
  let data: Record<string, unknown> = {};
  if (h.data !== undefined && h.data !== null) {
    if (!isPlainObject(h.data)) throw new GigasttError("bad_message", "Event 'data' must be an object");
    data = h.data;
  }
  const dataLength = length(h.data_length, "data_length");
  const payloadLength = length(h.payload_length, "payload_length");
  if (dataLength > limits.maxDataBytes) throw new GigasttError("payload_too_large", `data_length over ${limits.maxDataBytes} bytes`);
  if (payloadLength > limits.maxPayloadBytes) throw new GigasttError("payload_too_large", `payload_length over ${limits.maxPayloadBytes} bytes`);
  return { type, data, dataLength, payloadLength };
}

function length(v: unknown, name: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new GigasttError("bad_message", `'${name}' must be a non-negative integer`);
  return v;
}

function parseObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  // judged on the bytes before JSON.parse builds (and anything walks) a deep value
  if (jsonTooDeep(bytes)) throw new GigasttError("bad_message", `The ${what} is nested more than ${MAX_JSON_DEPTH} levels deep`);
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(bytes));
  } catch {
    throw new GigasttError("bad_message", `The ${what} is not valid UTF-8 JSON`);
  }
  if (!isPlainObject(v)) throw new GigasttError("bad_message", `The ${what} must be a JSON object`);
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isBlank(b: Uint8Array): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One event on the wire: header line (data inline) + payload. */
export function encodeEvent(type: string, data?: Record<string, unknown>, payload?: Uint8Array): Uint8Array {
  const header: Record<string, unknown> = { type, version: WYOMING_VERSION };
  if (data && Object.keys(data).length > 0) header.data = data;
  if (payload && payload.length > 0) header.payload_length = payload.length;
  const line = encoder.encode(`${JSON.stringify(header)}\n`);
  if (!payload || payload.length === 0) return line;
  const out = new Uint8Array(line.length + payload.length);
  out.set(line);
  out.set(payload, line.length);
  return out;
}
