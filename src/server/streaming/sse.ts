/**
 * Server-Sent Events framing for `POST /v1/transcribe/stream`: every event is
 * one `data: <json>` line and a blank line (JSON never contains a raw newline),
 * keep-alive is a bare `:` comment line.
 */

const encoder = new TextEncoder();

export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_KEEPALIVE = ":\n\n";
/** keep-alive period (proxies close idle streams) */
export const SSE_KEEPALIVE_MS = 15_000;

export const SSE_HEADERS = Object.freeze({
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
});

/** unread bytes an SSE client may leave queued (past the kernel's socket buffers) before it is cut */
export const SSE_MAX_QUEUED_BYTES = 1 << 20;

/**
 * A push-style SSE body: `send` enqueues an event, `end` closes the stream.
 * Writes after the client went away (or after `end`) are dropped silently;
 * `onCancel` runs once when the client disconnects. A client that stops
 * reading cannot make the queue grow without bound: past `maxQueuedBytes`
 * unread the stream is torn down and `onOverflow` runs once.
 */
export class SseWriter {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private done = false;
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  private readonly onOverflow: (() => void) | undefined;
  private readonly maxQueued: number;

  constructor(opts: { onCancel(): void; onOverflow?(): void; keepAliveMs?: number; maxQueuedBytes?: number }) {
    this.onOverflow = opts.onOverflow;
    this.maxQueued = opts.maxQueuedBytes ?? SSE_MAX_QUEUED_BYTES;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        cancel: () => {
          if (this.done) return;
          this.stop();
          opts.onCancel();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: opts.maxQueuedBytes ?? SSE_MAX_QUEUED_BYTES }),
    );
    this.keepAlive = setInterval(() => this.write(SSE_KEEPALIVE), opts.keepAliveMs ?? SSE_KEEPALIVE_MS);
  }

  get closed(): boolean {
    return this.done;
  }

  send(payload: unknown): void {
    this.write(sseData(payload));
  }

  end(): void {
    if (this.done) return;
    this.stop();
    try {
      this.controller.close();
    } catch {
      // already closed by the client
    }
  }

  private write(s: string): void {
    if (this.done) return;
    try {
      this.controller.enqueue(encoder.encode(s));
    } catch {
      this.stop();
      return;
    }
    // more than twice the high-water mark unread: the client is not reading
    const left = this.controller.desiredSize;
    if (left !== null && left < -this.maxQueued) this.overflow();
  }

  private overflow(): void {
    this.stop();
    try {
      this.controller.error(new Error("SSE client does not read"));
    } catch {
      // already gone
    }
    this.onOverflow?.();
  }

  private stop(): void {
    this.done = true;
    clearInterval(this.keepAlive);
  }
}
