/**
 * Ogg pages → packets (RFC 3533), streaming: bytes in, complete packets out with the
 * granule position of the page that ends them. Only the first logical stream is
 * followed (a chained or multiplexed file keeps its first stream). A page whose
 * header is broken is skipped by resynchronising on the next "OggS".
 */
export interface OggPacket {
  readonly data: Uint8Array;
  /** granule position of the page that completed this packet (-1: none on that page) */
  readonly granule: number;
  /** this packet ends the logical stream (its page has the EOS flag) */
  readonly last: boolean;
}

/** a page's body is at most 255 × 255 bytes */
const MAX_PAGE = 27 + 255 + 255 * 255;
/** a packet longer than this is damage, not audio */
const MAX_PACKET = 1 << 20;

export class OggDemuxer {
  private buf = new Uint8Array(0);
  private serial: number | null = null;
  private partial: Uint8Array[] = [];
  private partialBytes = 0;
  /** pages skipped or damaged (for warnings) */
  damaged = 0;
  ended = false;

  push(bytes: Uint8Array): OggPacket[] {
    const joined = new Uint8Array(this.buf.length + bytes.length);
    joined.set(this.buf);
    joined.set(bytes, this.buf.length);
    const out: OggPacket[] = [];
    let at = 0;
    while (!this.ended) {
      const s = findCapture(joined, at);
      if (s < 0) {
        at = Math.max(at, joined.length - 3);
        break;
      }
      if (s > at) this.damaged++;
      at = s;
      if (joined.length - at < 27) break;
      const nseg = joined[at + 26]!;
      if (joined.length - at < 27 + nseg) break;
      if (joined[at + 4] !== 0) {
        // unknown version: not a page
        this.damaged++;
        at += 4;
        continue;
      }
      let body = 0;
      for (let i = 0; i < nseg; i++) body += joined[at + 27 + i]!;
      const total = 27 + nseg + body;
      if (joined.length - at < total) break;
      this.page(joined.subarray(at, at + total), nseg, out);
      at += total;
    }
    this.buf = joined.slice(at);
    if (this.buf.length > MAX_PAGE) {
      this.damaged++;
      this.buf = this.buf.slice(this.buf.length - 3);
    }
    return out;
  }

  private page(p: Uint8Array, nseg: number, out: OggPacket[]): void {
    const flags = p[5]!;
    const serial = (p[14]! | (p[15]! << 8) | (p[16]! << 16)) + p[17]! * 0x1000000;
    if (this.serial === null) this.serial = serial;
    if (serial !== this.serial) return;
    const lo = (p[6]! | (p[7]! << 8) | (p[8]! << 16)) + p[9]! * 0x1000000;
    const hi = (p[10]! | (p[11]! << 8) | (p[12]! << 16)) + p[13]! * 0x1000000;
    const granule = hi === 0xffffffff && lo === 0xffffffff ? -1 : hi * 2 ** 32 + lo;
    const eos = (flags & 4) !== 0;
    if ((flags & 1) === 0 && this.partial.length > 0) {
      // a continued packet whose continuation never came
      this.damaged++;
      this.partial = [];
      this.partialBytes = 0;
    }
    let pos = 27 + nseg;
    const done: Uint8Array[] = [];
    for (let i = 0; i < nseg; i++) {
      const len = p[27 + i]!;
      this.partial.push(p.subarray(pos, pos + len));
      this.partialBytes += len;
      pos += len;
      if (len < 255) {
        done.push(joinParts(this.partial, this.partialBytes));
        this.partial = [];
        this.partialBytes = 0;
      } else if (this.partialBytes > MAX_PACKET) {
        this.damaged++;
        this.partial = [];
        this.partialBytes = 0;
      }
    }
    done.forEach((data, i) => out.push({ data, granule: i === done.length - 1 ? granule : -1, last: eos && i === done.length - 1 }));
    if (eos) this.ended = true;
  }
}

function findCapture(b: Uint8Array, from: number): number {
  for (let i = from; i + 4 <= b.length; i++) {
    if (b[i] === 0x4f && b[i + 1] === 0x67 && b[i + 2] === 0x67 && b[i + 3] === 0x53) return i;
  }
  return -1;
}

function joinParts(parts: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
