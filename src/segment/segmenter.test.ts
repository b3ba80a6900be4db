import { describe, expect, test } from "bun:test";
import { GigasttError } from "../errors.ts";
import { type Segment, Segmenter, type SegmenterOptions } from "./segmenter.ts";
import { concat, rng } from "../../test/helpers/wav.ts";

const SR = 16000;
const sec = (s: number) => Math.round(s * SR);


type Part = { kind: "tone"; s: number; amp?: number; hz?: number } | { kind: "silence"; s: number } | { kind: "noise"; s: number; amp: number };

function render(parts: readonly Part[], seed = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(parts.reduce((a, p) => a + sec(p.s), 0));
  let o = 0;
  for (const p of parts) {
    const n = sec(p.s);
    for (let i = 0; i < n; i++) {
      if (p.kind === "tone") out[o + i] = (p.amp ?? 0.3) * Math.sin((2 * Math.PI * (p.hz ?? 440) * i) / SR);
      else if (p.kind === "noise") out[o + i] = (2 * r() - 1) * p.amp;
    }
    o += n;
  }
  return out;
}

function run(x: Float32Array, opts: SegmenterOptions = {}, chunks?: () => number): Segment[] {
  const seg = new Segmenter(opts);
  const out: Segment[] = [];
  if (!chunks) out.push(...seg.push(x));
  else for (let i = 0; i < x.length; ) {
    const n = Math.min(x.length - i, chunks());
    out.push(...seg.push(x.subarray(i, i + n)));
    i += n;
  }
  out.push(...seg.flush());
  return out;
}

/** segments tile the stream: each starts where the previous ended, minus its overlap, and carries the source samples */
function expectTiling(segs: readonly Segment[], x: Float32Array, maxSamples = sec(20)): void {
  let end = 0;
  for (const s of segs) {
    expect(s.samples.length).toBeLessThanOrEqual(maxSamples);
    expect(s.samples.length).toBeGreaterThan(s.overlap);
    expect(s.start).toBe(end - s.overlap);
    expect(s.samples).toEqual(x.subarray(s.start, s.start + s.samples.length));
    end = s.start + s.samples.length;
  }
  expect(end).toBe(x.length);
}

const cuts = (segs: readonly Segment[]) => segs.slice(1).map((s) => s.start + s.overlap);

describe("Segmenter", () => {
  test("cuts at the centre of the latest pause before 20 s", () => {
    // 3 s tone, 0.5 s pause, repeated: pauses at [3.5k + 3, 3.5k + 3.5)
    const parts: Part[] = [];
    for (let k = 0; k < 20; k++) parts.push({ kind: "tone", s: 3, hz: 300 + 50 * k }, { kind: "silence", s: 0.5 });
    const x = render(parts);
    const segs = run(x);
    expectTiling(segs, x);
    // independent expectation: from each start, the latest pause centre that keeps the segment ≤ 20 s
    const centres = Array.from({ length: 20 }, (_, k) => sec(3.5 * k + 3.25));
    const want: number[] = [];
    for (let start = 0; ; ) {
      const c = centres.filter((c) => c > start && c + sec(0.25) <= start + sec(20)).at(-1);
      if (c === undefined || start + sec(20) >= x.length) break;
      want.push(c);
      start = c;
    }
    expect(cuts(segs)).toEqual(want);
    expect(want[0]).toBe(sec(17.25));
    expect(segs.every((s) => s.overlap === 0 && s.voiced)).toBe(true);
  });

  test("pauses of low noise count like silence; short gaps do not", () => {
    const x = render([
      { kind: "tone", s: 8 },
      { kind: "noise", s: 0.4, amp: 0.001 },
      { kind: "tone", s: 6 },
      { kind: "silence", s: 0.25 }, // shorter than 300 ms: not a pause
      { kind: "tone", s: 10 },
    ]);
    const segs = run(x);
    expectTiling(segs, x);
    expect(cuts(segs)).toEqual([sec(8.2)]);
  });

  test("a pause in a steady background noise is found", () => {
    const parts: Part[] = [{ kind: "noise", s: 1, amp: 0.01 }];
    for (let k = 0; k < 6; k++) parts.push({ kind: "tone", s: 4, amp: 0.4, hz: 500 + 20 * k }, { kind: "noise", s: 0.6, amp: 0.01 });
    const x = render(parts, 7);
    // tones ride on the same background
    const bg = render([{ kind: "noise", s: x.length / SR, amp: 0.01 }], 8);
    for (let i = 0; i < x.length; i++) x[i]! += bg[i]!;
    const segs = run(x);
    expectTiling(segs, x);
    // latest pause before 20 s is the 4th: [1 + 4.6·3 + 4, … + 0.6) → centre 19.1 s
    expect(cuts(segs)).toEqual([sec(19.1)]);
  });

  test("no pause: hard cut at 20 s with 1 s overlap", () => {
    const x = render([{ kind: "tone", s: 50 }]);
    const segs = run(x);
    expectTiling(segs, x);
    expect(segs.map((s) => [s.start, s.samples.length, s.overlap])).toEqual([
      [0, sec(20), 0],
      [sec(19), sec(20), sec(1)],
      [sec(38), sec(12), sec(1)],
    ]);
  });

  test("a stream ending inside the overlap emits nothing more", () => {
    const x = render([{ kind: "tone", s: 20 }]);
    const segs = run(x);
    expect(segs.map((s) => [s.start, s.samples.length])).toEqual([[0, sec(20)]]);
  });

  test("leading and long silences are not split again and again", () => {
    const x = render([{ kind: "silence", s: 5 }, { kind: "tone", s: 30 }, { kind: "silence", s: 45 }, { kind: "tone", s: 2 }]);
    const segs = run(x);
    expectTiling(segs, x);
    // leading silence: cut 150 ms before the tone; the tone needs a hard cut; the next segment is
    // cut at the centre of the part of the long pause it holds; the rest of the pause becomes
    // silent segments (voiced: false) each cut 150 ms before the end of what it holds
    expect(segs.map((s) => [s.start / SR, s.samples.length / SR, s.overlap / SR, s.voiced])).toEqual([
      [0, 4.85, 0, false],
      [4.85, 20, 0, true],
      [23.85, 15.575, 1, true], // limit 43.85: pause [35, 43.85) → centre 39.425
      [39.425, 19.845, 0, false], // limit 59.425 → frames end 59.42 → cut 59.27
      [59.27, 19.85, 0, false],
      [79.12, 2.88, 0, true],
    ]);
  });

  test("every segment ≤ maxSeconds and the segments tile the stream (random signals, options)", () => {
    for (let seed = 0; seed < 12; seed++) {
      const r = rng(seed);
      const parts: Part[] = [];
      for (let total = 0; total < 90; ) {
        const s = Math.round((0.05 + r() * (r() < 0.2 ? 30 : 4)) * 100) / 100;
        const k = r();
        parts.push(k < 0.5 ? { kind: "tone", s, hz: 200 + r() * 3000, amp: 0.05 + r() * 0.5 } : k < 0.8 ? { kind: "silence", s } : { kind: "noise", s, amp: 0.001 });
        total += s;
      }
      const x = render(parts, seed);
      const opts: SegmenterOptions = [{}, { maxSeconds: 7, minPauseMs: 500, overlapSeconds: 0.5 }, { endpoint: true, minPauseMs: 500 }][seed % 3]!;
      const segs = run(x, opts);
      expectTiling(segs, x, sec(opts.maxSeconds ?? 20));
    }
  });

  test("cut positions are identical whatever chunk sizes are pushed", () => {
    for (let seed = 0; seed < 6; seed++) {
      const r = rng(100 + seed);
      const parts: Part[] = [];
      for (let total = 0; total < 70; ) {
        const s = 0.01 + r() * (r() < 0.2 ? 25 : 3);
        parts.push(r() < 0.5 ? { kind: "tone", s, hz: 100 + r() * 4000, amp: 0.05 + r() * 0.4 } : { kind: "noise", s, amp: r() < 0.5 ? 0.001 : 0.005 });
        total += s;
      }
      const x = render(parts, seed);
      const opts: SegmenterOptions = seed % 2 ? { endpoint: true, minPauseMs: 500 } : {};
      const whole = run(x, opts);
      const shape = (segs: Segment[]) => segs.map((s) => [s.start, s.samples.length, s.overlap, s.voiced]);
      for (const sizes of [() => 1 + Math.floor(r() * 50), () => 1 + Math.floor(r() * 5000), () => 1 + Math.floor(r() * 700000)]) {
        const chunked = run(x, opts, sizes);
        expect(shape(chunked)).toEqual(shape(whole));
        expectTiling(chunked, x, sec(20));
      }
    }
  });

  test("endpoint mode cuts as soon as a pause follows sound, once per pause", () => {
    const x = render([
      { kind: "silence", s: 1 },
      { kind: "tone", s: 1.2 },
      { kind: "silence", s: 0.4 }, // < 500 ms: no endpoint
      { kind: "tone", s: 1 },
      { kind: "silence", s: 3 },
      { kind: "tone", s: 0.5 },
      { kind: "silence", s: 0.6 },
    ]);
    const seg = new Segmenter({ endpoint: true, minPauseMs: 500 });
    // decided 500 ms into the pause, without waiting for more audio
    expect(seg.push(x.subarray(0, sec(4.1) - 1))).toEqual([]);
    const first = seg.push(x.subarray(sec(4.1) - 1, sec(4.1)));
    expect(first.map((s) => [s.start, s.samples.length])).toEqual([[0, sec(3.85)]]);
    const rest = [...seg.push(x.subarray(sec(4.1))), ...seg.flush()];
    expect(rest.map((s) => [s.start / SR, s.samples.length / SR, s.voiced])).toEqual([
      [3.85, 3.5, true],
      [7.35, 0.35, false],
    ]);
  });

  test("pending() is the open audio and never exceeds maxSeconds plus two frames", () => {
    const x = render([{ kind: "tone", s: 30 }, { kind: "silence", s: 1 }, { kind: "tone", s: 30 }]);
    const seg = new Segmenter();
    let open = seg.pending();
    expect(open.start).toBe(0);
    expect(open.samples.length).toBe(0);
    const r = rng(3);
    for (let i = 0; i < x.length; ) {
      const n = Math.min(x.length - i, 1 + Math.floor(r() * 9000));
      seg.push(x.subarray(i, i + n));
      i += n;
      open = seg.pending();
      expect(open.start + open.samples.length).toBe(i);
      expect(open.samples).toEqual(x.subarray(open.start, i));
      expect(open.samples.length).toBeLessThanOrEqual(sec(20) + 320);
      expect(seg.position).toBe(i);
    }
  });

  test("flush ends the stream; later audio keeps absolute positions", () => {
    const seg = new Segmenter();
    const a = render([{ kind: "tone", s: 2 }]);
    const [s1] = seg.flush().concat(seg.push(a), seg.flush());
    expect(s1!.start).toBe(0);
    const out = [...seg.push(render([{ kind: "tone", s: 25 }])), ...seg.flush()];
    expect(out.map((s) => [s.start, s.samples.length, s.overlap])).toEqual([
      [sec(2), sec(20), 0],
      [sec(21), sec(6), sec(1)],
    ]);
    expect(seg.flush()).toEqual([]);
  });

  test("a 1-hour stream becomes a stream of segments with bounded memory", () => {
    // 0.1 s blocks: 500 Hz tone (exactly 50 periods per block) or silence
    const BLOCK = 1600;
    const toneBlock = Float32Array.from({ length: BLOCK }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 500 * i) / SR));
    const silentBlock = new Float32Array(BLOCK);
    const blocks = 36000;
    // every 10 minutes a 50 s stretch without pauses (hard cuts); otherwise 6.5 s tone + 0.5 s pause
    const isTone = (b: number) => b % 6000 < 500 || b % 70 < 65;
    const seg = new Segmenter();
    Bun.gc(true);
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let end = 0;
    let count = 0;
    let hard = 0;
    const check = (segs: Segment[]) => {
      for (const s of segs) {
        expect(s.samples.length).toBeLessThanOrEqual(sec(20));
        expect(s.start).toBe(end - s.overlap);
        if (s.overlap > 0) hard++;
        else if (count > 0) expect(isTone(Math.floor(s.start / BLOCK))).toBe(false); // pause cuts land in silence
        end = s.start + s.samples.length;
        count++;
      }
    };
    for (let b = 0; b < blocks; b++) {
      check(seg.push(isTone(b) ? toneBlock : silentBlock));
      if (b % 3000 === 2999) {
        Bun.gc(true);
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
        expect(seg.pending().samples.length).toBeLessThanOrEqual(sec(20) + 320);
      }
    }
    check(seg.flush());
    expect(end).toBe(blocks * BLOCK);
    expect(count).toBeGreaterThan(180);
    expect(hard).toBeGreaterThanOrEqual(12);
    // the hour itself is 230 MB of float32; the segmenter keeps ~1.3 MB
    expect(peak).toBeLessThan(32 * 1024 * 1024);
  });

  test("other sample rates and options", () => {
    const x = render([{ kind: "tone", s: 12 }]);
    const segs = run(x, { sampleRate: 8000, maxSeconds: 10, overlapSeconds: 0 });
    expect(segs.map((s) => [s.start, s.samples.length, s.overlap])).toEqual([
      [0, 80000, 0],
      [80000, 80000, 0],
      [160000, 32000, 0],
    ]);
  });

  test("invalid options are invalid_config", () => {
    for (const o of [{ sampleRate: 0 }, { sampleRate: 16000.5 }, { maxSeconds: 0.5 }, { minPauseMs: 0 }, { overlapSeconds: 11 }, { maxSeconds: Number.NaN }, { overlapSeconds: -1 }]) {
      let err: unknown;
      try {
        new Segmenter(o);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GigasttError);
      expect((err as GigasttError).code).toBe("invalid_config");
    }
  });
});

describe("voiced: soft audio is decoded, only absolute silence is skipped", () => {
  test("a soft tone under a learnt noise floor still makes its segment voiced", () => {
    // steady noise at ±0.01 (≈ −45 dB) is learnt as the floor, so a 0.005 tone reads as quiet
    // relative to it; it is audible all the same and must not be dropped
    const x = render([{ kind: "noise", s: 25, amp: 0.01 }]);
    const tone = render([{ kind: "tone", s: 25, amp: 0.005 }]);
    for (let i = 0; i < x.length; i++) x[i]! += tone[i]!;
    const segs = run(x);
    expect(segs.length).toBeGreaterThan(1);
    expect(segs.every((s) => s.voiced)).toBe(true);
  });

  test("a low-gain recording (a voice at −65 dBFS, below every pause threshold) is still voiced", () => {
    // Golos has a sentence recorded at −55…−70 dBFS: it reads as one long pause, and must be decoded
    const segs = run(render([{ kind: "tone", s: 25, amp: 0.0008 }]));
    expect(segs.length).toBeGreaterThan(0);
    expect(segs.every((s) => s.voiced)).toBe(true);
  });

  test("digital silence and ±0.0001 noise (≈ −85 dB, a few LSB of 16-bit audio) are not voiced", () => {
    expect(run(render([{ kind: "silence", s: 25 }])).every((s) => !s.voiced)).toBe(true);
    expect(run(render([{ kind: "noise", s: 25, amp: 0.0001 }])).every((s) => !s.voiced)).toBe(true);
  });
});

describe("provisionalCut: the endpoint's cut, known before it is confirmed", () => {
  const EP: SegmenterOptions = { endpoint: true, minPauseMs: 500 };
  /** pushes x in chunks; records provisional() after each push and every segment emitted */
  function watch(x: Float32Array, opts: SegmenterOptions, chunks: () => number) {
    const seg = new Segmenter(opts);
    const seen: Array<{ at: number; prov: Segment | null; cut: number | null }> = [];
    const emitted: Array<{ at: number; seg: Segment }> = [];
    for (let i = 0; i < x.length; ) {
      const n = Math.min(x.length - i, chunks());
      for (const s of seg.push(x.subarray(i, i + n))) emitted.push({ at: i + n, seg: s });
      i += n;
      seen.push({ at: i, prov: seg.provisional(), cut: seg.provisionalCut() });
    }
    for (const s of seg.flush()) emitted.push({ at: x.length + 1, seg: s }); // after the last push
    return { seen, emitted };
  }

  test("half a pause after sound: the cut at the centre of the pause, then exactly that segment", () => {
    const x = render([{ kind: "tone", s: 1 }, { kind: "silence", s: 0.7 }]);
    const seg = new Segmenter(EP);
    expect(seg.provisionalCut()).toBeNull();
    seg.push(x.subarray(0, sec(1.24)));
    expect(seg.provisionalCut()).toBeNull(); // 240 ms of pause: the cut (1.25 s) is not all analysed
    seg.push(x.subarray(sec(1.24), sec(1.25)));
    expect(seg.provisionalCut()).toBe(sec(1.25));
    const prov = seg.provisional()!;
    expect([prov.start, prov.samples.length, prov.overlap, prov.voiced]).toEqual([0, sec(1.25), 0, true]);
    expect(prov.samples).toEqual(x.subarray(0, sec(1.25)));
    expect(seg.push(x.subarray(sec(1.25), sec(1.49)))).toEqual([]);
    expect(seg.provisionalCut()).toBe(sec(1.25)); // stable while the pause lasts
    const [cut] = seg.push(x.subarray(sec(1.49), sec(1.5)));
    expect(cut).toEqual(prov);
    expect(seg.provisionalCut()).toBeNull(); // the rest of the pause opens the next segment
  });

  test("speech resuming before the pause is complete withdraws it", () => {
    const x = render([{ kind: "tone", s: 1 }, { kind: "silence", s: 0.3 }, { kind: "tone", s: 1, hz: 600 }]);
    const seg = new Segmenter(EP);
    seg.push(x.subarray(0, sec(1.3)));
    expect(seg.provisionalCut()).toBe(sec(1.25));
    seg.push(x.subarray(sec(1.3), sec(1.31)));
    expect(seg.provisionalCut()).toBeNull();
    expect(seg.provisional()).toBeNull();
    expect(seg.push(x.subarray(sec(1.31)))).toEqual([]);
  });

  test("no provisional cut without endpointing, in leading silence, or after a cut's own pause", () => {
    const x = render([{ kind: "silence", s: 2 }, { kind: "tone", s: 1 }, { kind: "silence", s: 2 }]);
    const plain = watch(x, {}, () => 160);
    expect(plain.seen.every((s) => s.cut === null)).toBe(true);
    const ep = watch(x, EP, () => 160);
    const announced = ep.seen.filter((s) => s.cut !== null);
    // only from 250 ms into the pause after the tone until the endpoint fires at 500 ms
    expect(announced.map((s) => s.at)).toEqual(Array.from({ length: 25 }, (_, k) => sec(3.25) + 160 * k));
    expect(announced.every((s) => s.cut === sec(3.25))).toBe(true);
  });

  test("the 20 s limit: announced only if the endpoint fires no later than the limit would", () => {
    // the endpoint fires when frame runStart + 49 is analysed; the limit when a frame ends at 20 s
    for (const [toneSec, endpointWins] of [[19.5, true], [19.51, false]] as const) {
      const x = render([{ kind: "tone", s: toneSec }, { kind: "silence", s: 1 }]);
      const { seen, emitted } = watch(x, EP, () => 160);
      const first = emitted[0]!.seg;
      if (endpointWins) {
        expect(seen.some((s) => s.cut === sec(toneSec + 0.25))).toBe(true);
        expect([first.start, first.samples.length, first.overlap]).toEqual([0, sec(toneSec + 0.25), 0]);
      } else {
        expect(seen.filter((s) => s.at < emitted[0]!.at).every((s) => s.cut === null)).toBe(true);
        expect([first.start, first.samples.length, first.overlap]).toEqual([0, sec(20), 0]); // hard cut
      }
    }
  });

  test("every announced segment is the one emitted, or no segment ends there (random signals and chunks)", () => {
    for (let seed = 0; seed < 8; seed++) {
      const r = rng(500 + seed);
      const parts: Part[] = [];
      for (let total = 0; total < 80; ) {
        // pauses around the 500 ms threshold, sometimes long stretches (hard cuts, overlap segments)
        const speech = Math.round((0.05 + r() * (r() < 0.1 ? 26 : 3)) * 100) / 100;
        const pause = Math.round((0.05 + r() * 0.9) * 100) / 100;
        parts.push({ kind: "tone", s: speech, hz: 200 + r() * 2000, amp: 0.05 + r() * 0.4 });
        parts.push(r() < 0.7 ? { kind: "silence", s: pause } : { kind: "noise", s: pause, amp: 0.001 });
        total += speech + pause;
      }
      const x = render(parts, seed);
      const sizes = seed % 2 ? () => 1 + Math.floor(r() * 2400) : () => 1 + Math.floor(r() * 40000);
      const { seen, emitted } = watch(x, EP, sizes);
      expect(emitted.map((e) => e.seg)).toEqual(run(x, EP)); // watching changes nothing
      let confirmed = 0;
      for (const s of seen) {
        if (!s.prov) continue;
        expect(s.cut).toBe(s.prov.start + s.prov.samples.length);
        const out = emitted.find((e) => e.seg.start === s.prov!.start)!;
        expect(out.at).toBeGreaterThan(s.at); // announced before it is cut
        if (out.seg.samples.length === s.prov.samples.length) {
          expect(out.seg).toEqual(s.prov);
          confirmed++;
        }
      }
      expect(confirmed).toBeGreaterThan(0);
    }
  });

  test("with chunks of at most 150 ms, every endpoint cut is announced before it is confirmed", () => {
    for (let seed = 0; seed < 4; seed++) {
      const r = rng(700 + seed);
      // speech ≤ 3 s and a pause ≥ 600 ms at least every 4th gap: no segment reaches 20 s, so
      // every cut is an endpoint cut
      const parts: Part[] = [];
      for (let k = 0; k < 40; k++) {
        parts.push({ kind: "tone", s: Math.round((0.05 + r() * 2.95) * 100) / 100, hz: 200 + r() * 2000, amp: 0.05 + r() * 0.4 });
        parts.push({ kind: "silence", s: Math.round((k % 4 === 3 ? 0.6 + r() * 0.5 : 0.05 + r() * 0.9) * 100) / 100 });
      }
      const x = render(parts, seed);
      // the last 250 ms of a pause span 4000 samples: some push ends inside them
      const { seen, emitted } = watch(x, EP, () => 1 + Math.floor(r() * 2400));
      const cutsOnly = emitted.filter((e) => e.at <= x.length).map((e) => e.seg);
      expect(cutsOnly.length).toBeGreaterThan(10);
      for (const c of cutsOnly) expect(seen.some((s) => s.prov !== null && s.prov.start === c.start && s.prov.samples.length === c.samples.length)).toBe(true);
    }
  });
});

describe("Segmenter with outside frame labels (a VAD)", () => {
  // steady loud noise: energy never finds a pause in it
  const noise = (n: number, seed: number) => {
    const y = new Float32Array(n);
    let s = seed;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      y[i] = (s / 2147483648 - 0.5) * 0.4;
    }
    return y;
  };
  const x = noise(16000 * 4, 3);
  /** "speech" in [0.5, 1.5) s and [2.5, 3.5) s */
  const labels = (a: number, b: number): 0 | 2 => {
    const t = (a + b) / 2 / 16000;
    return (t >= 0.5 && t < 1.5) || (t >= 2.5 && t < 3.5) ? 0 : 2;
  };

  test("endpointing follows the labels where energy sees no pause; a segment with no speech label is not voiced", () => {
    const energy = new Segmenter({ endpoint: true, minPauseMs: 500 });
    expect([...energy.push(x), ...energy.flush()]).toHaveLength(1);
    const vad = new Segmenter({ endpoint: true, minPauseMs: 500, labels });
    const segs = [...vad.push(x), ...vad.flush()];
    // cut at the centre of the first 500 ms of non-speech after each speech run: 1.75 s and 3.75 s
    expect(segs.map((s) => s.start / 16000)).toEqual([0, 1.75, 3.75]);
    expect(segs.map((s) => s.voiced)).toEqual([true, true, false]);
  });

  test("a null label leaves that frame to energy", () => {
    const s = new Segmenter({ endpoint: true, minPauseMs: 500, labels: () => null });
    const quiet = new Float32Array(16000);
    const segs = [...s.push(concat(x.subarray(0, 16000), quiet, x.subarray(0, 16000))), ...s.flush()];
    expect(segs).toHaveLength(2);
  });
});
