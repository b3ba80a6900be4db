/**
 * Download progress on stderr. On a TTY: one live line per file, redrawn in place
 * (bytes, %, speed, ETA). Otherwise: a plain line every ~5 % with the same numbers.
 * `quiet` prints nothing. {@link createLogProgress}: structured log lines instead
 * (`serve`'s JSON logs), at most one per 10 s or 25 %.
 */

export interface ProgressSink {
  /** a file starts (or resumes at `offset`); total may be unknown */
  start(name: string, total: number | undefined, offset: number): void;
  /** bytes of the file now on disk */
  update(received: number): void;
  /** the file is verified and installed */
  done(): void;
  /** the transfer stopped (error/retry); the live line is ended */
  interrupt(): void;
}

export interface ProgressOptions {
  readonly write: (s: string) => void;
  readonly tty: boolean;
  readonly quiet?: boolean;
  readonly now?: () => number;
  /** TTY redraw interval (ms) */
  readonly redrawMs?: number;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(r).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "45.0%  400.1 MB / 885.1 MB  12.3 MB/s  ETA 00:39" */
export function progressText(received: number, total: number | undefined, bytesPerSec: number): string {
  const speed = `${formatBytes(Math.round(bytesPerSec))}/s`;
  if (total === undefined || total <= 0) return `${formatBytes(received)}  ${speed}`;
  const pct = Math.min(100, (received / total) * 100);
  const eta = bytesPerSec > 0 ? (total - received) / bytesPerSec : Number.POSITIVE_INFINITY;
  return `${pct.toFixed(1).padStart(5)}%  ${formatBytes(received)} / ${formatBytes(total)}  ${speed}  ETA ${formatDuration(eta)}`;
}

function bar(received: number, total: number | undefined, width = 24): string {
  if (!total) return "";
  const filled = Math.min(width, Math.floor((received / total) * width));
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] `;
}

export function createProgress(opts: ProgressOptions): ProgressSink {
  if (opts.quiet) return { start() {}, update() {}, done() {}, interrupt() {} };
  const now = opts.now ?? Date.now;
  const redrawMs = opts.redrawMs ?? 100;
  let name = "";
  let total: number | undefined;
  let t0 = 0;
  let base = 0;
  let received = 0;
  let lastDraw = 0;
  let lastStep = -1;
  let live = false;

  const speed = () => {
    const dt = (now() - t0) / 1000;
    return dt > 0 ? (received - base) / dt : 0;
  };
  const draw = () => {
    opts.write(`\r\x1b[2K${name}  ${bar(received, total)}${progressText(received, total, speed())}`);
    live = true;
    lastDraw = now();
  };
  const line = () => opts.write(`downloading ${name}: ${progressText(received, total, speed())}\n`);

  return {
    start(n, t, offset) {
      name = n;
      total = t;
      base = offset;
      received = offset;
      t0 = now();
      lastStep = total ? Math.floor((offset / total) * 20) : -1;
      if (opts.tty) draw();
      else opts.write(`downloading ${name}${total !== undefined ? ` (${formatBytes(total)})` : ""}${offset > 0 ? `, resuming at ${formatBytes(offset)}` : ""}\n`);
    },
    update(r) {
      received = r;
      if (opts.tty) {
        if (now() - lastDraw >= redrawMs) draw();
        return;
      }
      // every ~5 %; without a known total, every 50 MB
      const step = total ? Math.floor((received / total) * 20) : Math.floor(received / 50_000_000);
      if (step > lastStep) {
        lastStep = step;
        if (!total || received < total) line();
      }
    },
    done() {
      if (opts.tty) {
        draw();
        opts.write("\n");
        live = false;
      } else line();
    },
    interrupt() {
      if (opts.tty && live) {
        opts.write("\n");
        live = false;
      }
    },
  };
}

/** where structured progress goes: a logger's info */
export interface ProgressLog {
  info(msg: string, fields: Record<string, unknown>): void;
}

/**
 * Progress as log events `{"msg":"download","file","bytes","total","pct"}` (one JSON
 * object per line in JSON mode): when a file starts, then whenever `everyMs` have
 * passed or another `everyPct` percent arrived since the last line, and when it is done.
 */
export function createLogProgress(log: ProgressLog, opts: { now?: () => number; everyMs?: number; everyPct?: number } = {}): ProgressSink {
  const now = opts.now ?? Date.now;
  const everyMs = opts.everyMs ?? 10_000;
  const everyPct = opts.everyPct ?? 25;
  let file = "";
  let total: number | undefined;
  let received = 0;
  let lastAt = 0;
  let lastStep = 0;
  const pct = () => (total ? Math.round(Math.min(100, (received / total) * 100) * 10) / 10 : null);
  const emit = (extra: Record<string, unknown> = {}) => {
    log.info("download", { file, bytes: received, total: total ?? null, pct: pct(), ...extra });
    lastAt = now();
    lastStep = total ? Math.floor((received / total) * (100 / everyPct)) : 0;
  };
  return {
    start(name, t, offset) {
      file = name;
      total = t;
      received = offset;
      emit(offset > 0 ? { resumed_at: offset } : {});
    },
    update(r) {
      received = r;
      const step = total ? Math.floor((received / total) * (100 / everyPct)) : 0;
      if ((total && received >= total) || (step <= lastStep && now() - lastAt < everyMs)) return;
      emit();
    },
    done() {
      if (total) received = total;
      emit({ done: true });
    },
    interrupt() {},
  };
}

/**
 * `download --progress json` (the Rust gigastt's NDJSON contract): one
 * `{"phase":"download","file","bytes_done","bytes_total"}` line when a file's first bytes arrive,
 * then at most one per `everyMs` (200 ms), and exactly one at 100 % (or at the end when the size
 * is unknown, `bytes_total` 0).
 */
export function createNdjsonProgress(write: (line: string) => void, opts: { now?: () => number; everyMs?: number } = {}): ProgressSink {
  const now = opts.now ?? Date.now;
  const everyMs = opts.everyMs ?? 200;
  let file = "";
  let total = 0;
  let received = 0;
  let last = Number.NEGATIVE_INFINITY;
  let final = false;
  const emit = () => {
    write(`${JSON.stringify({ phase: "download", file, bytes_done: received, bytes_total: total })}\n`);
    last = now();
  };
  return {
    start(name, t, offset) {
      file = name;
      total = t ?? 0;
      received = offset;
      last = Number.NEGATIVE_INFINITY;
      final = false;
    },
    update(r) {
      received = r;
      if (total > 0 && r >= total) {
        if (!final) (final = true), emit();
        return;
      }
      if (now() - last >= everyMs) emit();
    },
    done() {
      if (total) received = Math.max(received, total);
      if (!final) (final = true), emit();
    },
    interrupt() {},
  };
}
