/**
 * API keys (optional): one small module every route's gate uses.
 *
 * A request carries its key as `Authorization: Bearer KEY`; a WebSocket
 * upgrade may instead offer a `Sec-WebSocket-Protocol` entry
 * `gigastt-key.KEY` (browsers cannot set headers on a WebSocket; OpenAI's
 * browser form `openai-insecure-api-key.KEY` is accepted too). The server
 * then answers with one of the other offered entries (the page offers
 * `gigastt`), never the key.
 *
 * Keys are compared in constant time (SHA-256 of both sides, then
 * `timingSafeEqual`); only a short hash of a key is ever logged.
 * `/health`, `/ready`, the page and its worklet are open (see platform.ts).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { GigasttError } from "../errors.ts";

/** `Sec-WebSocket-Protocol` entry prefixes that carry a key */
export const WS_KEY_PROTOCOL_PREFIXES = Object.freeze(["gigastt-key.", "openai-insecure-api-key."] as const);
/** the protocol the server selects when the client offered nothing else */
export const WS_DEFAULT_PROTOCOL = "gigastt";

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** the first 8 hex digits of the key's SHA-256: what logs show */
export function keyFingerprint(key: string): string {
  return digest(key).toString("hex").slice(0, 8);
}

export interface AuthOutcome {
  readonly ok: boolean;
  /** the fingerprint of the matching key (for the log) */
  readonly key?: string;
}

export interface Keyring {
  /** false when no key is configured (everything open) */
  readonly enabled: boolean;
  readonly size: number;
  /** replace the keys (SIGHUP re-read of --api-key-file) */
  replace(keys: readonly string[]): void;
  /** the request's key, from the header or (upgrades) the sub-protocol list */
  check(headers: Headers, upgrade: boolean): AuthOutcome;
  /** constant-time membership */
  matches(candidate: string): string | null;
}

export function createKeyring(initial: readonly string[]): Keyring {
  let digests: { d: Buffer; fp: string }[] = [];
  const set = (keys: readonly string[]) => {
    digests = [...new Set(keys)].map((k) => ({ d: digest(k), fp: keyFingerprint(k) }));
  };
  set(initial);
  function matches(candidate: string): string | null {
    const c = digest(candidate);
    let hit: string | null = null;
    // every key is compared, so the time does not say which one (or whether any) matched
    for (const k of digests) if (timingSafeEqual(c, k.d) && hit === null) hit = k.fp;
    return hit;
  }
  return {
    get enabled() {
      return digests.length > 0;
    },
    get size() {
      return digests.length;
    },
    replace: set,
    matches,
    check(headers, upgrade) {
      if (digests.length === 0) return { ok: true };
      const auth = headers.get("authorization");
      if (auth !== null) {
        const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
        const fp = m ? matches(m[1]!) : null;
        return fp ? { ok: true, key: fp } : { ok: false };
      }
      if (upgrade) {
        let fp: string | null = null;
        for (const p of offeredProtocols(headers)) {
          const prefix = WS_KEY_PROTOCOL_PREFIXES.find((x) => p.startsWith(x));
          if (prefix) fp ??= matches(p.slice(prefix.length));
        }
        if (fp) return { ok: true, key: fp };
      }
      return { ok: false };
    },
  };
}

function offeredProtocols(headers: Headers): string[] {
  return (headers.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The sub-protocol a WebSocket upgrade is answered with: the first offered
 * entry that carries no key (a browser fails the handshake when it offered
 * entries and none is selected), or `gigastt` when only key entries were offered.
 */
export function selectProtocol(headers: Headers): string | null {
  const offered = offeredProtocols(headers);
  if (offered.length === 0) return null;
  return offered.find((p) => !WS_KEY_PROTOCOL_PREFIXES.some((x) => p.startsWith(x))) ?? WS_DEFAULT_PROTOCOL;
}

export function unauthorized(): GigasttError {
  return new GigasttError("unauthorized");
}

/** `WWW-Authenticate` of a 401 */
export const WWW_AUTHENTICATE = 'Bearer realm="gigastt"';

/** `--api-key-file`: one key per line; blank lines and `#` comments skipped. */
export function parseKeyFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith("#"));
}

export function readKeyFile(path: string, read: (p: string) => string = (p) => readFileSync(p, "utf8")): string[] {
  try {
    return parseKeyFile(read(path));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException)?.code === "ENOENT" ? "no such file" : ((e as Error)?.message ?? String(e));
    throw new GigasttError("invalid_config", `cannot read API key file '${path}': ${why}`, { cause: e });
  }
}

/** A key must be a visible-ASCII token without spaces or commas (it also travels in a sub-protocol entry). */
export function validKey(k: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{8,256}$/.test(k);
}
