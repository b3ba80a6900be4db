/**
 * The live feed of each job's events (`/v1/jobs/{id}/events`): subscribers
 * per job, at most {@link MAX_EVENT_SUBSCRIBERS} (the oldest is dropped, so a
 * connect/disconnect flood cannot grow the list); a terminal event ends the
 * job's feed. Nothing here is durable: a client that reconnects gets the
 * job's state from the store first.
 */
import type { JobEvent } from "./types.ts";

export const MAX_EVENT_SUBSCRIBERS = 32;

export class JobEvents {
  private readonly subscribers = new Map<string, Set<(e: JobEvent) => void>>();
  private readonly onError: (id: string, e: unknown) => void;

  constructor(onError: (id: string, e: unknown) => void = () => {}) {
    this.onError = onError;
  }

  /** `cb` gets every later event of job `id`; the returned function unsubscribes */
  subscribe(id: string, cb: (e: JobEvent) => void): () => void {
    let set = this.subscribers.get(id);
    if (!set) this.subscribers.set(id, (set = new Set()));
    if (set.size >= MAX_EVENT_SUBSCRIBERS) {
      const oldest = set.values().next().value;
      if (oldest) set.delete(oldest);
    }
    set.add(cb);
    const mine = set;
    return () => {
      mine.delete(cb);
      if (mine.size === 0 && this.subscribers.get(id) === mine) this.subscribers.delete(id);
    };
  }

  emit(id: string, e: JobEvent): void {
    const set = this.subscribers.get(id);
    if (!set) return;
    for (const cb of [...set]) {
      try {
        cb(e);
      } catch (err) {
        this.onError(id, err);
      }
    }
    if (e.type !== "progress") this.subscribers.delete(id);
  }

  /** jobs with at least one subscriber */
  get size(): number {
    return this.subscribers.size;
  }
}
