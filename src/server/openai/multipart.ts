/**
 * A streaming `multipart/form-data` reader (RFC 7578 / RFC 2046): parts come
 * out one at a time and a part's body is handed on in the chunks it arrived
 * in, so an uploaded file can flow straight into the audio decoder without
 * the whole upload ever being held in memory.
 *
 * Bounded everywhere: part headers ≤ {@link MAX_HEADER_BYTES}, at most
 * `maxParts` parts, text fields read with a byte limit; the total body size is
 * the caller's cap (see `limitedBody`). Malformed input (no boundary, a body
 * that ends before the closing delimiter, broken part headers) fails with
 * GigasttError `bad_message`.
 */
import { Buffer } from "node:buffer";
import { GigasttError } from "../../errors.ts";

/** longest header block of one part */
export const MAX_HEADER_BYTES = 16 * 1024;
/** default most parts accepted */
export const DEFAULT_MAX_PARTS = 64;
/** epilogue bytes read (and dropped) after the closing delimiter */
const MAX_EPILOGUE_BYTES = 64 * 1024;

const CRLF = Buffer.from("\r\n");
const CRLFCRLF = Buffer.from("\r\n\r\n");

export interface PartHead {
  /** the form field name (Content-Disposition `name`) */
  readonly name: string;
  /** the file name when the part is a file (`filename`/`filename*`), else null */
  readonly filename: string | null;
  /** the part's Content-Type, lower-cased, without parameters; null if absent */
  readonly contentType: string | null;
}

function malformed(why: string): GigasttError {
  return new GigasttError("bad_message", `Malformed multipart/form-data body: ${why}`);
}

/**
 * The boundary of a `multipart/form-data` Content-Type, or null when the
 * header is something else (or has no usable boundary).
 */
export function multipartBoundary(contentType: string | null): string | null {
  if (!contentType) return null;
  const [type, ...params] = splitParams(contentType);
  if (type?.trim().toLowerCase() !== "multipart/form-data") return null;
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() !== "boundary") continue;
    const v = unquote(p.slice(eq + 1).trim());
    // RFC 2046: 1–70 characters, no trailing space
    if (v.length < 1 || v.length > 70 || v.endsWith(" ") || /[\r\n]/.test(v)) return null;
    return v;
  }
  return null;
}

/** `a; b="x;y"; c` → ["a", ` b="x;y"`, " c"] (semicolons inside quotes kept) */
function splitParams(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === "\\" && i + 1 < s.length) {
      cur += c + s[++i]!;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ";" && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, "$1");
  return v;
}

/** RFC 5987 `UTF-8''na%C3%AFve.wav` → "naïve.wav" (null if not decodable) */
function extValue(v: string): string | null {
  const m = /^([^']*)'[^']*'(.*)$/.exec(v);
  if (!m) return null;
  const charset = m[1]!.toLowerCase();
  if (charset !== "utf-8" && charset !== "iso-8859-1" && charset !== "us-ascii") return null;
  try {
    return decodeURIComponent(m[2]!);
  } catch {
    return null;
  }
}

/** One part's header block (without the blank line) → its head. */
export function parsePartHeaders(block: string): PartHead {
  let disposition: string | null = null;
  let contentType: string | null = null;
  for (const line of block.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed("a part header has no name");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-disposition") disposition = value;
    else if (name === "content-type") contentType = value.split(";")[0]!.trim().toLowerCase() || null;
  }
  if (disposition === null) throw malformed("a part has no Content-Disposition");
  const [kind, ...params] = splitParams(disposition);
  if (kind?.trim().toLowerCase() !== "form-data") throw malformed("a part is not form-data");
  let name: string | null = null;
  let filename: string | null = null;
  let filenameExt: string | null = null;
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    const raw = p.slice(eq + 1).trim();
    if (key === "name") name = unquote(raw);
    else if (key === "filename") filename = unquote(raw);
    else if (key === "filename*") filenameExt = extValue(unquote(raw));
  }
  if (name === null) throw malformed("a part has no field name");
  return { name, filename: filenameExt ?? filename, contentType };
}

type State = "preamble" | "headers" | "body" | "done";

/**
 * Reads parts from a multipart body in order. Call {@link next} for each
 * part's head, then optionally read its body with {@link body} or
 * {@link text}; `next()` skips whatever of the current body was not read.
 * {@link close} stops reading the source (always call it, e.g. in `finally`).
 */
export class MultipartReader {
  private readonly src: AsyncIterator<Uint8Array>;
  /** CRLF "--" boundary: the delimiter between parts (the first one is preceded by a virtual CRLF) */
  private readonly delim: Buffer;
  private readonly maxParts: number;
  private buf: Buffer = Buffer.from(CRLF);
  private srcDone = false;
  private state: State = "preamble";
  private parts = 0;
  /** a body generator is running */
  private reading = false;
  private closed = false;

  constructor(source: AsyncIterable<Uint8Array>, boundary: string, opts: { maxParts?: number } = {}) {
    this.src = source[Symbol.asyncIterator]();
    this.delim = Buffer.from(`\r\n--${boundary}`, "latin1");
    this.maxParts = opts.maxParts ?? DEFAULT_MAX_PARTS;
  }

  /** the next part's head, or null after the closing delimiter */
  async next(): Promise<PartHead | null> {
    if (this.reading) throw new Error("MultipartReader: the previous part's body is still being read");
    if (this.state === "body") await this.skipBody();
    if (this.state === "preamble") await this.skipPreamble();
    if (this.state === "done") return null;
    // state "headers": right after a delimiter
    for (;;) {
      if (this.buf.length >= 2) {
        if (this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
          // "--": the close delimiter
          this.state = "done";
          this.buf = Buffer.alloc(0);
          await this.drainEpilogue();
          return null;
        }
        // transport padding (spaces/tabs) then CRLF
        const nl = this.buf.indexOf(CRLF);
        if (nl >= 0) {
          if (!/^[ \t]*$/.test(this.buf.subarray(0, nl).toString("latin1"))) throw malformed("junk after a boundary");
          this.buf = this.buf.subarray(nl + 2);
          break;
        }
        if (this.buf.length > 256) throw malformed("junk after a boundary");
      }
      if (!(await this.fill())) throw malformed("the body ended early");
    }
    // headers up to the blank line; an empty header block is "\r\n" straight away
    let end: number;
    for (;;) {
      if (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) {
        end = -2;
        break;
      }
      end = this.buf.indexOf(CRLFCRLF);
      if (end >= 0) break;
      if (this.buf.length > MAX_HEADER_BYTES) throw malformed("part headers too large");
      if (!(await this.fill())) throw malformed("the body ended early");
    }
    if (end > MAX_HEADER_BYTES) throw malformed("part headers too large");
    const block = end < 0 ? "" : this.buf.subarray(0, end).toString("utf8");
    this.buf = this.buf.subarray(end + 4);
    if (++this.parts > this.maxParts) throw malformed(`more than ${this.maxParts} parts`);
    const head = parsePartHeaders(block);
    this.state = "body";
    return head;
  }

  /**
   * The current part's body, chunk by chunk (views into the received chunks;
   * do not modify them). Ends at the next delimiter.
   */
  async *body(): AsyncGenerator<Uint8Array> {
    if (this.state !== "body") throw new Error("MultipartReader: no part body to read");
    if (this.reading) throw new Error("MultipartReader: the part body is already being read");
    this.reading = true;
    try {
      for (;;) {
        const at = this.buf.indexOf(this.delim);
        if (at >= 0) {
          const last = this.buf.subarray(0, at);
          this.buf = this.buf.subarray(at + this.delim.length);
          this.state = "headers";
          if (last.length > 0) yield last;
          return;
        }
        // everything except a possible partial delimiter at the end
        const keep = Math.min(this.buf.length, this.delim.length - 1);
        const out = this.buf.subarray(0, this.buf.length - keep);
        this.buf = this.buf.subarray(this.buf.length - keep);
        if (out.length > 0) yield out;
        if (!(await this.fill())) throw malformed("the body ended early");
      }
    } finally {
      this.reading = false;
    }
  }

  /** The current part's body as UTF-8 text; more than `limit` bytes → `usage`. */
  async text(limit: number, field = "field"): Promise<string> {
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const c of this.body()) {
      n += c.length;
      if (n > limit) throw new GigasttError("usage", `The form field "${field}" is longer than ${limit} bytes`);
      chunks.push(c);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  /**
   * Stop reading the source; idempotent. Does not wait: a read still pending
   * on a slow client must not hold up the response.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.srcDone) void this.src.return?.(undefined)?.catch?.(() => {});
  }

  private async skipBody(): Promise<void> {
    for await (const _ of this.body()) {
      // dropped
    }
  }

  private async skipPreamble(): Promise<void> {
    for (;;) {
      const at = this.buf.indexOf(this.delim);
      if (at >= 0) {
        this.buf = this.buf.subarray(at + this.delim.length);
        this.state = "headers";
        return;
      }
      this.buf = this.buf.subarray(Math.max(0, this.buf.length - (this.delim.length - 1)));
      if (!(await this.fill())) throw malformed("no boundary found");
    }
  }

  private async drainEpilogue(): Promise<void> {
    let n = 0;
    while (n <= MAX_EPILOGUE_BYTES) {
      const before = this.buf.length;
      if (!(await this.fill())) return;
      n += this.buf.length - before;
      this.buf = Buffer.alloc(0);
    }
  }

  /** append the source's next non-empty chunk; false when it has ended */
  private async fill(): Promise<boolean> {
    if (this.closed) throw new Error("MultipartReader: closed");
    for (;;) {
      if (this.srcDone) return false;
      const r = await this.src.next();
      if (r.done) {
        this.srcDone = true;
        return false;
      }
      const c = r.value;
      if (!c || c.length === 0) continue;
      const chunk = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      return true;
    }
  }
}
