/**
 * A loopback file server in the Hugging Face URL layout, for the store tests.
 *
 * `GET /{repo}/resolve/{revision}/{file}` answers like huggingface.co for an LFS file:
 * 302 to a CDN path with `X-Linked-Etag: "<sha256>"` and `X-Linked-Size`, and the CDN path
 * serves the bytes with Content-Length, Range (206 + Content-Range) and 416.
 * Written on raw sockets (node:net) so faults are exact: a connection dropped after N body
 * bytes, a stalled body, a throttled body, wrong bytes, ignored Range, status codes with
 * Retry-After, long redirect chains. It also answers absolute-form requests, i.e. it can be
 * used as an HTTP forward proxy for itself (requests seen that way are flagged `viaProxy`);
 * CONNECT (an HTTPS proxy tunnel) is recorded and refused.
 * Counters record every request and every body byte sent, per file.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { type AddressInfo, type Server, type Socket, createServer } from "node:net";

export interface Faults {
  /** accept the next this-many requests and never answer them (connect/response timeout) */
  noResponse?: number;
  /** answer the next requests (resolve hop) with these statuses, one per request */
  status?: { status: number; retryAfter?: string }[];
  /** next content response: send this many body bytes, then drop the connection (once) */
  dropAfter?: number;
  /** next content response: send this many body bytes, then go silent (once) */
  stallAfter?: number;
  /** always answer 200 with the whole file, whatever the Range */
  ignoreRange?: boolean;
  /** serve bytes that differ from the real file (same length) */
  corrupt?: boolean;
  /** serve this many extra bytes after the file */
  extraBytes?: number;
  /** X-Linked-Etag value to send instead of the real hash (null: none) */
  etag?: string | null;
  /** X-Linked-Size value to send instead of the real size (null: none) */
  linkedSize?: number | null;
  /** absolute origin for the redirect Location (default: a relative path on this server) */
  redirectBase?: string;
  /** redirect hops before the content (default 1, like huggingface.co → CDN; 0 serves directly) */
  redirects?: number;
  /** body rate limit (bytes per second) */
  bytesPerSec?: number;
  /** use chunked transfer encoding (no Content-Length) */
  chunked?: boolean;
}

export interface RequestRecord {
  readonly method: string;
  /** the URL path; for CONNECT the `host:port` asked for */
  readonly path: string;
  readonly file: string;
  readonly range: string | null;
  readonly authorization: string | null;
  readonly viaProxy: boolean;
  readonly status: number;
}

export interface FileStats {
  requests: number;
  contentRequests: number;
  bytesSent: number;
  /** start offset of each content request (0 without Range) */
  starts: number[];
}

export class HfTestServer {
  readonly files = new Map<string, Uint8Array>();
  readonly faults = new Map<string, Faults>();
  readonly stats = new Map<string, FileStats>();
  readonly log: RequestRecord[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly repo: string,
    readonly revision: string,
  ) {}

  static async start(opts: { repo?: string; revision?: string; files: Record<string, Uint8Array> }): Promise<HfTestServer> {
    const server = createServer();
    const s = new HfTestServer(server, opts.repo ?? "test-org/test-model", opts.revision ?? "0123456789abcdef0123456789abcdef01234567");
    for (const [name, data] of Object.entries(opts.files)) s.files.set(name, data);
    server.on("connection", (sock) => s.onConnection(sock));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** HF_ENDPOINT for clients */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  sha256(name: string): string {
    return createHash("sha256").update(this.files.get(name)!).digest("hex");
  }

  statsOf(name: string): FileStats {
    let st = this.stats.get(name);
    if (!st) {
      st = { requests: 0, contentRequests: 0, bytesSent: 0, starts: [] };
      this.stats.set(name, st);
    }
    return st;
  }

  fault(name: string, f: Faults): void {
    this.faults.set(name, { ...this.faults.get(name), ...f });
  }

  /** `{repo, revision, files: [{name, size, sha256}]}` for the served files (or the named ones) */
  manifest(names?: string[], opts: { withHashes?: boolean } = {}): { repo: string; revision: string; files: { name: string; size?: number; sha256?: string }[] } {
    const list = names ?? [...this.files.keys()];
    const withHashes = opts.withHashes ?? true;
    return {
      repo: this.repo,
      revision: this.revision,
      files: list.map((name) => (withHashes ? { name, size: this.files.get(name)!.length, sha256: this.sha256(name) } : { name })),
    };
  }

  writeManifest(path: string, names?: string[], opts?: { withHashes?: boolean }): string {
    writeFileSync(path, JSON.stringify(this.manifest(names, opts)));
    return path;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(sock: Socket): void {
    this.sockets.add(sock);
    sock.on("close", () => this.sockets.delete(sock));
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    let handled = false;
    sock.on("data", (d: Buffer) => {
      if (handled) return;
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      handled = true;
      const [requestLine, ...headerLines] = buf.subarray(0, end).toString("latin1").split("\r\n");
      const headers = new Map<string, string>();
      for (const l of headerLines) {
        const i = l.indexOf(":");
        if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      const [method, target] = (requestLine ?? "").split(" ");
      void this.handle(sock, method ?? "", target ?? "/", headers).catch(() => sock.destroy());
    });
  }

  private head(sock: Socket, status: number, headers: Record<string, string | number>): void {
    const text = { 200: "OK", 206: "Partial Content", 302: "Found", 404: "Not Found", 416: "Range Not Satisfiable" }[status as 200] ?? "Status";
    const lines = [`HTTP/1.1 ${status} ${text}`, "Connection: close", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    sock.write(`${lines.join("\r\n")}\r\n\r\n`);
  }

  private async handle(sock: Socket, method: string, target: string, headers: Map<string, string>): Promise<void> {
    if (method === "CONNECT") {
      // an HTTPS_PROXY tunnel request: recorded and refused (this server speaks no TLS)
      this.log.push({ method, path: target, file: "", range: null, authorization: null, viaProxy: true, status: 403 });
      this.head(sock, 403, { "Content-Length": 0 });
      sock.end();
      return;
    }
    const viaProxy = /^https?:\/\//i.test(target);
    const url = new URL(target, "http://placeholder");
    const path = decodeURIComponent(url.pathname);
    const range = headers.get("range") ?? null;
    const record = (file: string, status: number) =>
      this.log.push({ method, path, file, range, authorization: headers.get("authorization") ?? null, viaProxy, status });
    const resolvePrefix = `/${this.repo}/resolve/${this.revision}/`;
    const cdn = /^\/cdn\/(\d+)\/(.+)$/.exec(path);
    let name: string;
    let hopsLeft: number;
    if (path.startsWith(resolvePrefix)) {
      name = path.slice(resolvePrefix.length);
      hopsLeft = this.faults.get(name)?.redirects ?? 1;
    } else if (cdn) {
      name = cdn[2]!;
      hopsLeft = Number(cdn[1]);
    } else {
      record("", 404);
      this.head(sock, 404, { "Content-Length": 0 });
      sock.end();
      return;
    }
    const data = this.files.get(name);
    const f = this.faults.get(name) ?? {};
    const st = this.statsOf(name);
    st.requests++;
    if (method !== "GET" || !data) {
      record(name, 404);
      this.head(sock, 404, { "Content-Length": 0 });
      sock.end();
      return;
    }
    const isFirstHop = path.startsWith(resolvePrefix);
    if (isFirstHop && f.noResponse) {
      f.noResponse--;
      record(name, 0);
      return; // silent until the client gives up
    }
    if (isFirstHop && f.status && f.status.length > 0) {
      const s = f.status.shift()!;
      record(name, s.status);
      this.head(sock, s.status, { "Content-Length": 0, ...(s.retryAfter !== undefined ? { "Retry-After": s.retryAfter } : {}) });
      sock.end();
      return;
    }
    if (hopsLeft > 0) {
      const linked: Record<string, string | number> = {};
      if (isFirstHop) {
        const etag = f.etag === undefined ? `"${this.sha256(name)}"` : f.etag;
        const size = f.linkedSize === undefined ? data.length : f.linkedSize;
        if (etag !== null) linked["X-Linked-Etag"] = etag;
        if (size !== null) linked["X-Linked-Size"] = size;
      }
      record(name, 302);
      this.head(sock, 302, { Location: `${f.redirectBase ?? ""}/cdn/${hopsLeft - 1}/${encodeURIComponent(name)}`, "Content-Length": 0, ...linked });
      sock.end();
      return;
    }
    // content
    let body: Uint8Array = data;
    if (f.corrupt) {
      body = new Uint8Array(data);
      for (let i = 0; i < body.length; i += 97) body[i] = body[i]! ^ 0xff;
    }
    if (f.extraBytes) {
      const b = new Uint8Array(body.length + f.extraBytes);
      b.set(body);
      body = b;
    }
    let start = 0;
    let status = 200;
    const extra: Record<string, string | number> = { "Accept-Ranges": "bytes" };
    if (isFirstHop) {
      const etag = f.etag === undefined ? `"${this.sha256(name)}"` : f.etag;
      if (etag !== null) extra["X-Linked-Etag"] = etag;
    }
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m && !f.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        record(name, 416);
        this.head(sock, 416, { "Content-Range": `bytes */${body.length}`, "Content-Length": 0 });
        sock.end();
        return;
      }
      status = 206;
      extra["Content-Range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    record(name, status);
    st.contentRequests++;
    st.starts.push(start);
    const slice = body.subarray(start);
    this.head(sock, status, { "Content-Type": "application/octet-stream", ...(f.chunked ? { "Transfer-Encoding": "chunked" } : { "Content-Length": slice.length }), ...extra });
    const drop = f.dropAfter;
    const stall = f.stallAfter;
    if (drop !== undefined) delete f.dropAfter;
    if (stall !== undefined) delete f.stallAfter;
    const limit = Math.min(slice.length, drop ?? stall ?? slice.length);
    const step = f.bytesPerSec ? Math.max(1024, Math.floor(f.bytesPerSec / 20)) : 256 * 1024;
    for (let off = 0; off < limit; off += step) {
      if (sock.destroyed) return;
      const part = slice.subarray(off, Math.min(limit, off + step));
      let ok: boolean;
      if (f.chunked) {
        sock.write(`${part.length.toString(16)}\r\n`);
        sock.write(part);
        ok = sock.write("\r\n");
      } else ok = sock.write(part);
      st.bytesSent += part.length;
      if (!ok)
        await new Promise<void>((r) => {
          sock.once("drain", r);
          sock.once("close", r);
        });
      if (f.bytesPerSec) await Bun.sleep((part.length / f.bytesPerSec) * 1000);
    }
    if (drop !== undefined || stall !== undefined) {
      // wait until everything written so far is handed to the kernel, so the client can receive all of it
      await new Promise<void>((r) => {
        if (!sock.write(new Uint8Array(0), () => r())) sock.once("close", () => r());
      });
    }
    if (drop !== undefined) {
      await Bun.sleep(50);
      sock.destroy();
      return;
    }
    if (stall !== undefined) return; // silent until the client gives up (closed by close())
    if (f.chunked) sock.write("0\r\n\r\n");
    sock.end();
  }
}

/** Deterministic pseudo-random bytes (xorshift32), so tests need no fixtures. */
export function generatedBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
