/**
 * The jobs' share of the inference Workers (`--batch-pool-size`): at most
 * `size` segment decodes of all jobs together are in the pool at once, so the
 * other Workers always stay free for live streams (WS, SSE, REST), which the
 * pool also interleaves fairly with the jobs' decodes.
 */
export class WorkerShare {
  readonly size: number;
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(size: number) {
    this.size = Math.max(1, size);
  }

  get inUse(): number {
    return this.used;
  }

  /** run `task` once a share is free (an aborted wait throws the signal's reason) */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.used--;
      this.waiters.shift()?.();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        this.used++;
        resolve();
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      this.waiters.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
