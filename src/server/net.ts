/**
 * IP literals and CIDRs without DNS: parsing, loopback tests, matching.
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are treated as IPv4.
 */
import { isIP } from "node:net";

export interface IpAddr {
  readonly family: 4 | 6;
  /** 4 bytes (IPv4) or 16 bytes (IPv6) */
  readonly bytes: Uint8Array;
}

export interface Cidr {
  readonly addr: IpAddr;
  readonly prefix: number;
  /** canonical text, e.g. `10.0.0.0/8` */
  readonly text: string;
}

/** Parses an IP literal (IPv6 may be bracketed, may carry a zone); null if it is not one. */
export function parseIp(input: string): IpAddr | null {
  let s = input.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const kind = isIP(s);
  if (kind === 4) return { family: 4, bytes: v4Bytes(s) };
  if (kind !== 6) return null;
  const bytes = v6Bytes(s);
  // IPv4-mapped ::ffff:a.b.c.d → IPv4
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return { family: 4, bytes: bytes.slice(12) };
  }
  return { family: 6, bytes };
}

function v4Bytes(s: string): Uint8Array {
  return Uint8Array.from(s.split(".").map((p) => Number(p)));
}

function v6Bytes(s: string): Uint8Array {
  let text = s;
  const out = new Uint8Array(16);
  // trailing dotted IPv4
  let tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tail = v4Bytes(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.includes("::") ? (text.split("::") as [string, string]) : [text, null];
  const h = head ? head.split(":") : [];
  const r = rest === null ? [] : rest ? rest.split(":") : [];
  const groups = rest === null ? h : [...h, ...new Array(8 - h.length - r.length).fill("0"), ...r];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

/** Canonical text of an address (IPv6 compressed, no brackets). */
export function formatIp(a: IpAddr): string {
  if (a.family === 4) return [...a.bytes].join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a.bytes[i]! << 8) | a.bytes[i + 1]!);
  // longest run of zeros (len ≥ 2) becomes "::"
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

export function isLoopbackIp(a: IpAddr): boolean {
  if (a.family === 4) return a.bytes[0] === 127;
  return a.bytes.slice(0, 15).every((b) => b === 0) && a.bytes[15] === 1;
}

export function isWildcardIp(a: IpAddr): boolean {
  return a.bytes.every((b) => b === 0);
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (= /32 or /128). Null when invalid. */
export function parseCidr(input: string): Cidr | null {
  const s = input.trim();
  const slash = s.indexOf("/");
  const addr = parseIp(slash >= 0 ? s.slice(0, slash) : s);
  if (!addr) return null;
  const max = addr.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    // a mapped address given with an IPv6 prefix: convert the prefix
    if (addr.family === 4 && isIP(s.slice(0, slash).replace(/^\[|\]$/g, "")) === 6) prefix -= 96;
    if (prefix < 0 || prefix > max) return null;
  }
  const bytes = addr.bytes.slice();
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  const net: IpAddr = { family: addr.family, bytes };
  return { addr: net, prefix, text: `${formatIp(net)}/${prefix}` };
}

export function cidrContains(c: Cidr, a: IpAddr): boolean {
  if (c.addr.family !== a.family) return false;
  let bits = c.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((c.addr.bytes[i]! & mask) !== (a.bytes[i]! & mask)) return false;
  }
  return true;
}

/** CIDRs `--trust-proxy` means when given without a list. */
export const LOOPBACK_CIDRS = ["127.0.0.0/8", "::1/128"] as const;
