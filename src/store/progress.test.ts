import { describe, expect, test } from "bun:test";
import { createLogProgress, createProgress, formatBytes, formatDuration, progressText } from "./progress.ts";

describe("progress", () => {
  test("numbers: bytes, %, speed, ETA", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(885_084_534)).toBe("885.1 MB");
    expect(formatDuration(39)).toBe("00:39");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(progressText(442_542_267, 885_084_534, 10_000_000)).toBe(" 50.0%  442.5 MB / 885.1 MB  10.0 MB/s  ETA 00:44");
  });

  test("non-TTY: a plain line about every 5 %", () => {
    const out: string[] = [];
    let t = 0;
    const p = createProgress({ write: (s) => void out.push(s), tty: false, now: () => t });
    p.start("enc.onnx", 1000, 0);
    for (let r = 10; r <= 1000; r += 10) {
      t += 100;
      p.update(r);
    }
    p.done();
    const lines = out.join("").trim().split("\n");
    expect(lines[0]).toBe("downloading enc.onnx (1.00 kB)");
    expect(lines.length).toBe(1 + 19 + 1); // start, 5 %..95 %, done at 100 %
    expect(lines.every((l) => !l.includes("\r"))).toBe(true);
    expect(lines.at(-1)).toContain("100.0%  1.00 kB / 1.00 kB  100 B/s  ETA 00:00");
  });

  test("TTY: one live line redrawn in place, ended with a newline", () => {
    const out: string[] = [];
    let t = 0;
    const p = createProgress({ write: (s) => void out.push(s), tty: true, now: () => t, redrawMs: 100 });
    p.start("enc.onnx", 1000, 500);
    t = 1000;
    p.update(750);
    p.update(760); // within the redraw interval: not drawn
    t = 2000;
    p.update(1000);
    p.done();
    expect(out.every((s) => s === "\n" || s.startsWith("\r\x1b[2K"))).toBe(true);
    expect(out.length).toBe(5);
    expect(out[1]).toContain("[##################------]  75.0%");
    expect(out.at(-1)).toBe("\n");
  });

  test("quiet prints nothing", () => {
    const out: string[] = [];
    const p = createProgress({ write: (s) => void out.push(s), tty: false, quiet: true });
    p.start("a", 10, 0);
    p.update(10);
    p.done();
    expect(out).toEqual([]);
  });
});

describe("createLogProgress (structured, for JSON logs)", () => {
  test("one event at the start, then at most every 25 % or 10 s, and at the end", () => {
    let t = 0;
    const events: Record<string, unknown>[] = [];
    const p = createLogProgress({ info: (msg, f) => void events.push({ msg, ...f }) }, { now: () => t });
    p.start("enc.onnx", 1000, 0);
    for (let r = 10; r <= 990; r += 10) {
      t += 100; // 0.1 s per 10 bytes: 9.9 s in all, so only the 25 % steps fire
      p.update(r);
    }
    p.done();
    expect(events.map((e) => e.pct)).toEqual([0, 25, 50, 75, 100]);
    expect(events[0]).toEqual({ msg: "download", file: "enc.onnx", bytes: 0, total: 1000, pct: 0 });
    expect(events.at(-1)).toMatchObject({ msg: "download", file: "enc.onnx", bytes: 1000, total: 1000, pct: 100, done: true });
  });

  test("a slow download still reports every 10 s; an unknown total reports bytes with pct null", () => {
    let t = 0;
    const events: Record<string, unknown>[] = [];
    const p = createLogProgress({ info: (msg, f) => void events.push({ msg, ...f }) }, { now: () => t });
    p.start("big.onnx", undefined, 500);
    for (let i = 1; i <= 25; i++) {
      t += 1000;
      p.update(500 + i * 10);
    }
    expect(events.map((e) => e.bytes)).toEqual([500, 600, 700]);
    expect(events[0]).toMatchObject({ pct: null, total: null, resumed_at: 500 });
  });
});
