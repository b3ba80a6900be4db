/**
 * A linear pre-check for untrusted JSON text: how deeply arrays and objects
 * nest, found by one scan over the characters (strings skipped), so a frame
 * of `[[[[…]]]]` is refused before `JSON.parse` builds it — and long before
 * anything walks it recursively. Imports nothing (the Wyoming framing and
 * the WebSocket session both use it).
 */

/** nesting deeper than any control message of ours or of Wyoming's needs */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * True when arrays/objects in `src` (JSON text, or its UTF-8 bytes) nest
 * deeper than `max`. Malformed text is not judged here (JSON.parse does
 * that); the scan stops at the first level past `max`.
 */
export function jsonTooDeep(src: string | Uint8Array, max = MAX_JSON_DEPTH): boolean {
  const n = src.length;
  const at = typeof src === "string" ? (i: number) => src.charCodeAt(i) : (i: number) => src[i]!;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = at(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}
