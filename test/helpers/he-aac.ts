/**
 * HE-AAC signalling on an AAC-LC file, by hand (Debian's ffmpeg cannot encode HE-AAC):
 * the AudioSpecificConfig in an MP4's `esds` is replaced (the boxes and descriptors
 * around it resized), and ASCs are written bit by bit.
 *
 *   heAacAsc(5, …)  explicit SBR (HE-AAC v1): AOT 5, core rate, channels, SBR rate, AOT 2 (LC core)
 *   heAacAsc(29, …) explicit PS (HE-AAC v2): the same with AOT 29
 */

/** bits (value, width) packed MSB first, zero-padded to a byte */
export function packBits(fields: readonly (readonly [number, number])[]): Uint8Array {
  let s = "";
  for (const [v, n] of fields) s += v.toString(2).padStart(n, "0");
  while (s.length % 8) s += "0";
  return Uint8Array.from(s.match(/.{8}/g)!.map((x) => Number.parseInt(x, 2)));
}

const RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** an explicitly signalled HE-AAC ASC over an AAC-LC core (GASpecificConfig: 1024-sample frames) */
export function heAacAsc(aot: 5 | 29, coreRate: number, channels: number, sbrRate: number): Uint8Array {
  const sfi = RATES.indexOf(coreRate);
  const ext = RATES.indexOf(sbrRate);
  if (sfi < 0 || ext < 0) throw new Error("rate without a sampling-frequency index");
  return packBits([[aot, 5], [sfi, 4], [channels, 4], [ext, 4], [2, 5], [0, 3]]);
}

const be32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
const type = (b: Uint8Array, at: number) => String.fromCharCode(...b.subarray(at + 4, at + 8));
const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl"]);

function box(name: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setUint32(0, out.length);
  out.set([...name].map((c) => c.charCodeAt(0)), 4);
  out.set(body, 8);
  return out;
}

const concat = (parts: readonly Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** descriptor with a 4-byte length (0x80 continuation bytes, as ffmpeg writes them) */
function descriptor(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  return concat([Uint8Array.of(tag, 0x80 | ((n >> 21) & 0x7f), 0x80 | ((n >> 14) & 0x7f), 0x80 | ((n >> 7) & 0x7f), n & 0x7f), body]);
}

function readDescriptor(b: Uint8Array, at: number): { tag: number; body: Uint8Array; end: number } {
  const tag = b[at]!;
  let n = 0;
  let i = at + 1;
  for (;;) {
    const c = b[i++]!;
    n = (n << 7) | (c & 0x7f);
    if (!(c & 0x80)) break;
  }
  return { tag, body: b.subarray(i, i + n), end: i + n };
}

/** esds body (version/flags + ES_Descriptor) with the DecoderSpecificInfo replaced */
function esdsWith(body: Uint8Array, asc: Uint8Array): Uint8Array {
  const es = readDescriptor(body, 4);
  if (es.tag !== 3) throw new Error("esds without an ES_Descriptor");
  const flags = es.body[2]!;
  let at = 3 + (flags & 0x80 ? 2 : 0) + (flags & 0x40 ? 1 + es.body[3]! : 0) + (flags & 0x20 ? 2 : 0);
  const parts: Uint8Array[] = [es.body.subarray(0, at)];
  while (at < es.body.length) {
    const d = readDescriptor(es.body, at);
    if (d.tag === 4) {
      // DecoderConfigDescriptor: 13 bytes of fields, then the DecoderSpecificInfo (tag 5)
      const inner = readDescriptor(d.body, 13);
      if (inner.tag !== 5) throw new Error("DecoderConfigDescriptor without a DecoderSpecificInfo");
      parts.push(descriptor(4, concat([d.body.subarray(0, 13), descriptor(5, asc), d.body.subarray(inner.end)])));
    } else parts.push(es.body.subarray(at, d.end));
    at = d.end;
  }
  return concat([body.subarray(0, 4), descriptor(3, concat(parts))]);
}

function rewrite(b: Uint8Array, from: number, to: number, asc: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = from; at < to; ) {
    const size = be32(b, at);
    const name = type(b, at);
    const body = b.subarray(at + 8, at + size);
    if (CONTAINERS.has(name)) parts.push(box(name, rewrite(b, at + 8, at + size, asc)));
    else if (name === "stsd") parts.push(box(name, concat([body.subarray(0, 8), rewrite(b, at + 16, at + size, asc)])));
    else if (name === "mp4a") parts.push(box(name, concat([body.subarray(0, 28), rewrite(b, at + 36, at + size, asc)])));
    else if (name === "esds") parts.push(box(name, esdsWith(body, asc)));
    else parts.push(b.subarray(at, at + size));
    at += size;
  }
  return concat(parts);
}

/** `m4a` (an AAC track, its `moov` after `mdat` so no chunk offset moves) with `asc` as its AudioSpecificConfig */
export function withAsc(m4a: Uint8Array, asc: Uint8Array): Uint8Array {
  let mdat = -1;
  for (let at = 0; at < m4a.length; at += be32(m4a, at)) {
    if (type(m4a, at) === "mdat") mdat = at;
    if (type(m4a, at) === "moov" && mdat < 0) throw new Error("moov before mdat: chunk offsets would move");
  }
  return rewrite(m4a, 0, m4a.length, asc);
}
