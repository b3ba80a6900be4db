/**
 * The lifecycle every live connection shares, whatever its wire: a `done` promise the server's
 * drain waits for (tracked from the start), the drain subscription, and the idle timer
 * (`--idle-timeout-secs`, re-armed by `touch()`). `close()` settles it all once.
 */
import type { DrainPort } from "./ports.ts";

export interface ConnectionOptions {
  readonly lifecycle: DrainPort;
  /** seconds without `touch()` before `onIdle` (0 = never) */
  readonly idleTimeoutSecs: number;
  onIdle(): void;
  onDrain(): void;
}

export class Connection {
  private readonly o: ConnectionOptions;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribe: () => void = () => {};
  private closed = false;
  private resolveDone!: () => void;
  /** settles when `close()` ran */
  readonly done: Promise<void>;

  constructor(opts: ConnectionOptions) {
    this.o = opts;
    this.done = new Promise<void>((r) => (this.resolveDone = r));
  }

  /** tracks `done` and subscribes to drain; false when the server is already draining (refuse the connection) */
  start(): boolean {
    void this.o.lifecycle.track(this.done);
    if (this.o.lifecycle.draining) return false;
    this.unsubscribe = this.o.lifecycle.onDrain(() => {
      if (!this.closed) this.o.onDrain();
    });
    return true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** the client did something: restart the idle timer */
  touch(): void {
    if (this.closed) return;
    clearTimeout(this.idleTimer);
    const secs = this.o.idleTimeoutSecs;
    if (secs > 0) this.idleTimer = setTimeout(() => this.o.onIdle(), secs * 1000);
  }

  /** stop the idle timer until the next `touch()` (the server is busy, not the client silent) */
  pauseIdle(): void {
    clearTimeout(this.idleTimer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.unsubscribe();
    this.resolveDone();
  }
}
