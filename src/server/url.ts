/**
 * Request URLs read without `new URL()`: an HTTP/1.0 request without a Host
 * header has a URL Bun cannot give a host, and `new URL` throws on it.
 */

/** the path of a request URL, also for a URL without a host (an HTTP/1.0 request without Host) */
export function pathOf(url: string): string {
  const q = url.indexOf("?");
  const end = q < 0 ? url.length : q;
  const scheme = url.indexOf("://");
  const start = scheme >= 0 && scheme < end ? url.indexOf("/", scheme + 3) : url.indexOf("/");
  return start < 0 || start >= end ? "/" : url.slice(start, end);
}

/** one query parameter of a request URL (no URL parsing: the URL may lack a host) */
export function queryParam(url: string, name: string): string | null {
  const q = url.indexOf("?");
  if (q < 0) return null;
  const h = url.indexOf("#", q);
  return new URLSearchParams(url.slice(q + 1, h < 0 ? undefined : h)).get(name);
}
