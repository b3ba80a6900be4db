/**
 * The Wyoming TCP listener of `gigastt serve --wyoming-port`: Home
 * Assistant's voice pipeline (and any `wyoming` client) connects here. It
 * shares the HTTP server's deps: the transcriber, the admission pool, the
 * metrics and the drain lifecycle.
 *
 * Drain: the listener stops accepting at once; idle connections close, a
 * running audio stream gets half the drain window to send `audio-stop` and is
 * then transcribed with what was heard; every connection is tracked, so the
 * server's drain waits for the transcripts. `close()` ends whatever is left.
 */
import type { Socket, TCPSocketListener } from "bun";
import { GigasttError } from "../errors.ts";
import type { FramingLimits } from "./framing.ts";
import { type WyomingDeps, WyomingSession } from "./session.ts";

/** output bytes a client may leave unread before it is disconnected */
const MAX_UNREAD_OUTPUT = 4 << 20;
/** how long `close()` lets clients close their side before resetting them */
const CLOSE_GRACE_MS = 1000;

export interface WyomingListenOptions {
  /** bind address (IPv6 without brackets); same rules as `--host` */
  readonly host: string;
  /** 0 picks a free port */
  readonly port: number;
  readonly limits?: Partial<FramingLimits>;
}

export interface WyomingListener {
  readonly host: string;
  readonly port: number;
  /** `tcp://host:port` (IPv6 bracketed), as Home Assistant's Wyoming integration wants it */
  readonly url: string;
  /** open connections */
  readonly connections: number;
  /** stop accepting, end every connection (clients get ≤ 1 s to close their side, then are reset); idempotent */
  close(): Promise<void>;
}

interface Conn {
  session: WyomingSession | null;
  peer: SocketPeer | null;
}

class SocketPeer {
  private readonly socket: Socket<Conn>;
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private ending = false;

  constructor(socket: Socket<Conn>) {
    this.socket = socket;
  }

  write(bytes: Uint8Array): void {
    if (this.ending) return;
    if (this.out.length === 0) {
      const n = Math.max(0, this.socket.write(bytes));
      if (n >= bytes.length) return;
      bytes = bytes.subarray(n);
    }
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (this.outBytes > MAX_UNREAD_OUTPUT) this.socket.terminate();
  }

  /** the socket can take more */
  flush(): void {
    while (this.out.length > 0) {
      const b = this.out[0]!;
      const n = Math.max(0, this.socket.write(b));
      this.outBytes -= n;
      if (n < b.length) {
        this.out[0] = b.subarray(n);
        return;
      }
      this.out.shift();
    }
    if (this.ending) this.socket.end();
  }

  end(): void {
    if (this.ending) return;
    this.ending = true;
    if (this.out.length === 0) this.socket.end();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

export function startWyoming(deps: WyomingDeps, opts: WyomingListenOptions): WyomingListener {
  const open = new Set<Socket<Conn>>();
  let seq = 0;
  let listener: TCPSocketListener<Conn>;
  try {
    listener = Bun.listen<Conn>({
      hostname: opts.host,
      port: opts.port,
      allowHalfOpen: true,
      data: { session: null, peer: null },
      socket: {
        open(socket) {
          open.add(socket);
          const id = `${(++seq).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
          const peer = new SocketPeer(socket);
          const log = deps.log.withTag ? deps.log.withTag("wyoming") : deps.log;
          const session = new WyomingSession(peer, { deps, log, id, ...(opts.limits ? { limits: opts.limits } : {}) });
          socket.data = { session, peer };
          log.debug("wyoming connection", { id, client: socket.remoteAddress });
          session.start();
        },
        data(socket, bytes) {
          socket.data.session?.onData(bytes);
        },
        drain(socket) {
          socket.data.peer?.flush();
        },
        end(socket) {
          socket.data.session?.onEnd();
        },
        close(socket) {
          open.delete(socket);
          socket.data.session?.onClose();
        },
        error(socket, error) {
          deps.log.debug("wyoming socket error", { error: error.message });
          socket.data.session?.onClose();
        },
      },
    });
  } catch (e) {
    throw bindError(e, opts);
  }

  const unsubscribe = deps.lifecycle.onDrain(() => listener.stop(false));
  let closed = false;
  const host = listener.hostname || opts.host;
  const port = listener.port;
  return {
    host,
    port,
    url: `tcp://${host.includes(":") ? `[${host}]` : host}:${port}`,
    get connections() {
      return open.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      listener.stop(false);
      // FIN first (after what is queued for the client), so a client that already
      // read its transcript sees a clean close rather than a reset; then cut the rest
      for (const s of open) (s.data.peer ?? s).end();
      const deadline = performance.now() + CLOSE_GRACE_MS;
      while (open.size > 0 && performance.now() < deadline) await Bun.sleep(10);
      for (const s of open) s.terminate();
      open.clear();
      listener.stop(true);
    },
  };
}

function bindError(e: unknown, opts: WyomingListenOptions): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const where = `${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${opts.port}`;
  if (code === "EADDRINUSE") return new GigasttError("bind_refused", `cannot listen on ${where} for Wyoming: the address is already in use (choose another --wyoming-port)`, { cause: e });
  if (code === "EACCES") return new GigasttError("bind_refused", `cannot listen on ${where} for Wyoming: permission denied`, { cause: e });
  if (code === "EADDRNOTAVAIL") return new GigasttError("bind_refused", `cannot listen on ${where} for Wyoming: the address is not available on this machine`, { cause: e });
  return e;
}
