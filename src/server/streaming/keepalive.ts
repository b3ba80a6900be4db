/**
 * Server keepalive of a WebSocket session (Rust 2.15): a ping every `intervalMs` (30 s); any
 * frame or pong from the client answers it; after {@link MAX_MISSED_PONGS} pings in a row
 * without an answer `onDead` runs (the session closes 1001 "ping timeout"). It keeps
 * connections alive through idle-dropping proxies and finds half-open TCP sessions long
 * before the idle timeout.
 */
export const PING_INTERVAL_MS = 30_000;
export const MAX_MISSED_PONGS = 2;

export class Keepalive {
  private timer: ReturnType<typeof setInterval> | undefined;
  private unanswered = 0;

  /** `ping` throws when the socket is gone (the close handler then tears down) */
  constructor(private readonly ping: () => void, private readonly onDead: (missed: number) => void) {}

  start(intervalMs: number = PING_INTERVAL_MS): void {
    if (intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  /** the client sent something (a frame or a pong) */
  answered(): void {
    this.unanswered = 0;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (this.unanswered >= MAX_MISSED_PONGS) {
      this.stop();
      this.onDead(this.unanswered);
      return;
    }
    try {
      this.ping();
    } catch {
      return;
    }
    this.unanswered++;
  }
}
