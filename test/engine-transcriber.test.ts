/**
 * Transcriber end to end on the tone model: Workers, segmenting, stitching,
 * ordering, cancellation and a free event loop.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Transcriber, workerUrl } from "../src/engine/transcriber.ts";
import { GigasttError } from "../src/errors.ts";
import type { Word } from "../src/types.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeToneModelDir, phraseToAudio, piecesToText } from "./helpers/tone.ts";

let dir: string;
let tr: Transcriber;
beforeAll(async () => {
  dir = makeToneModelDir();
  tr = await Transcriber.load({ modelDir: dir, workers: 2 });
});
afterAll(() => tr.close());

const CYCLE = ["▁один", "▁два", "▁три", "▁да", "▁нет", "▁город", "▁голос"];
/** `n` pieces cycling through CYCLE (never the same piece twice in a row). */
const cycle = (n: number) => Array.from({ length: n }, (_, i) => CYCLE[i % CYCLE.length]!);

function* chunked(x: Float32Array, sizes: number[]): Generator<Float32Array> {
  let i = 0;
  for (let k = 0; i < x.length; k++) {
    const n = sizes[k % sizes.length]!;
    yield x.subarray(i, i + n);
    i += n;
  }
}

describe("Transcriber", () => {
  test("info describes the loaded model", () => {
    expect(tr.info).toMatchObject({ precision: "fp32", vocabSize: 20, workers: 2 });
    expect(tr.info.files.dir).toBe(dir);
  });

  test("transcribe: exact text, duration, word starts at the tone onsets, cues", async () => {
    const audio = phraseToAudio("привет мир, как дела? это тест.");
    const r = await tr.transcribe(audio.samples);
    expect(r.text).toBe("привет мир, как дела? это тест.");
    expect(r.duration).toBe(audio.samples.length / 16000);
    const wordOnsets = audio.onsets.filter((_, i) => audio.pieces[i]!.startsWith("▁"));
    expect(r.words.map((w) => w.word)).toEqual(["привет", "мир,", "как", "дела?", "это", "тест."]);
    r.words.forEach((w, i) => expect(Math.abs(w.start - wordOnsets[i]!)).toBeLessThanOrEqual(0.1));
    expect(r.segments.map((s) => s.text).join(" ")).toBe(r.text);
  });

  test("the caller's buffer is left intact", async () => {
    const audio = phraseToAudio(["▁да", "▁нет"]);
    const copy = audio.samples.slice();
    await tr.transcribe(audio.samples);
    await tr.decodeSegment(audio.samples, 0);
    expect(audio.samples).toEqual(copy);
  });

  test("decodeSegment shifts word times by the offset", async () => {
    const audio = phraseToAudio(["▁да", "▁нет"]);
    const at0 = await tr.decodeSegment(audio.samples, 0);
    const at100 = await tr.decodeSegment(audio.samples, 100);
    expect(at100.map((w) => w.word)).toEqual(["да", "нет"]);
    at100.forEach((w, i) => expect(w.start).toBeCloseTo(at0[i]!.start + 100, 6));
  });

  test("long audio with pauses: several segments, same result for any chunking, onSegment in order", async () => {
    // 6 phrases separated by 1 s pauses: ~50 s, cut at pauses into ≤ 20 s segments
    const parts = Array.from({ length: 6 }, (_, p) => phraseToAudio(cycle(12 + p).slice(p % 3), { tailSec: 1 }));
    const samples = new Float32Array(parts.reduce((n, p) => n + p.samples.length, 0));
    let at = 0;
    for (const p of parts) {
      samples.set(p.samples, at);
      at += p.samples.length;
    }
    const expected = parts.map((p) => piecesToText(p.pieces)).join(" ");
    const whole = await tr.transcribe(samples);
    expect(whole.text).toBe(expected);

    const spans: { start: number; end: number }[] = [];
    const seen: Word[] = [];
    const streamed = await tr.transcribeStream(chunked(samples, [1234, 16000, 333, 40000]), {
      onSegment: async (words, span) => {
        await Bun.sleep(1); // an async callback is awaited before the next one
        spans.push(span);
        seen.push(...words);
      },
    });
    expect(streamed).toEqual(whole);
    expect(spans.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end - 1);
    expect(spans.at(-1)!.end).toBe(samples.length / 16000);
    expect(seen).toEqual([...whole.words]);
  });

  test("continuous audio over the limit is hard-cut and stitched: no word lost or doubled", async () => {
    const pieces = cycle(170); // 170 × 0.3 s back to back = 51 s without a pause
    const audio = phraseToAudio(pieces, { gapSec: 0 });
    const seen: Word[] = [];
    const r = await tr.transcribeStream(chunked(audio.samples, [8000]), { onSegment: (w) => void seen.push(...w) });
    expect(r.text).toBe(piecesToText(pieces));
    expect(seen).toEqual([...r.words]);
    r.words.forEach((w, i) => expect(Math.abs(w.start - audio.onsets[i]!)).toBeLessThanOrEqual(0.1));
  });

  test("long streams are read only a bounded distance ahead of the decoded audio", async () => {
    // 6 minutes of speech-like tones (phrases with pauses), pulled lazily 1 s at a time
    const phrase = phraseToAudio(cycle(40), { tailSec: 0.6 }).samples;
    const total = 16000 * 360;
    let pulled = 0;
    const source = (function* () {
      while (pulled < total) {
        const n = Math.min(16000, total - pulled);
        const chunk = new Float32Array(n);
        for (let i = 0; i < n; i++) chunk[i] = phrase[(pulled + i) % phrase.length]!;
        pulled += n;
        yield chunk;
      }
    })();
    let maxAhead = 0;
    let segments = 0;
    const r = await tr.transcribeStream(source, {
      onSegment: (_w, span) => {
        segments++;
        maxAhead = Math.max(maxAhead, pulled / 16000 - span.end);
      },
    });
    expect(r.duration).toBe(360);
    expect(segments).toBeGreaterThanOrEqual(18);
    // in flight: workers + 1 segments of ≤ 20 s, plus the open one being filled
    expect(maxAhead).toBeLessThanOrEqual((tr.info.workers + 2) * 20 + 1);
  });

  test("silence gives an empty transcript with the right duration", async () => {
    const r = await tr.transcribe(new Float32Array(16000 * 3));
    expect(r).toEqual({ text: "", duration: 3, words: [], segments: [] });
  });

  test("an aborted stream rejects with the signal's reason and the transcriber stays usable", async () => {
    const ac = new AbortController();
    const audio = phraseToAudio(cycle(100), { gapSec: 0 });
    let n = 0;
    const stream = tr.transcribeStream(
      (async function* () {
        for (const c of chunked(audio.samples, [16000])) {
          if (++n === 25) ac.abort(new GigasttError("timeout"));
          yield c;
        }
      })(),
      { signal: ac.signal },
    );
    await expect(stream).rejects.toMatchObject({ code: "timeout" });
    expect((await tr.transcribe(phraseToAudio(["▁да"]).samples)).text).toBe("да");
  });

  test("an onSegment callback that throws ends the stream with its error", async () => {
    const audio = phraseToAudio(cycle(150), { gapSec: 0 }); // 45 s: three segments
    let calls = 0;
    const stream = tr.transcribeStream(chunked(audio.samples, [16000]), {
      onSegment: () => {
        calls++;
        throw new GigasttError("bad_message", "consumer gave up");
      },
    });
    await expect(stream).rejects.toMatchObject({ code: "bad_message" });
    expect(calls).toBe(1);
  });

  test("an error inside a chunk source rejects the stream", async () => {
    const bad = (async function* () {
      yield new Float32Array(16000);
      throw new GigasttError("invalid_audio", "broken upload");
    })();
    await expect(tr.transcribeStream(bad)).rejects.toMatchObject({ code: "invalid_audio" });
  });

  test("the caller's event loop keeps ticking during a long inference", async () => {
    // one long job (10 min in a single segment): seconds of work inside a Worker
    const audio = phraseToAudio(cycle(1500), { gapSec: 0.1 });
    const period = 5;
    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, period);
    const t0 = performance.now();
    const words = await tr.decodeSegment(audio.samples, 0);
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    expect(words.length).toBe(1500);
    // inference on this thread would leave no tick for the whole run
    expect(maxGap).toBeLessThan(elapsed / 2);
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / period / 4));
  });

  test("missing model → model_missing before any Worker starts", async () => {
    await expect(Transcriber.load({ modelDir: `${dir}-nope` })).rejects.toMatchObject({ code: "model_missing" });
  });
});

describe("workerUrl", () => {
  test("from source: the worker next to the transcriber module", () => {
    expect(workerUrl("file:///repo/src/engine/transcriber.ts")).toBe("file:///repo/src/engine/worker.ts");
  });
  test("in a compiled binary: engine/worker.ts under the embedded root", () => {
    expect(workerUrl("file:///$bunfs/root/gigastt")).toBe("file:///$bunfs/root/engine/worker.ts");
    expect(workerUrl("file:///B:/~BUN/root/gigastt.exe")).toBe("file:///B:/~BUN/root/engine/worker.ts");
  });
});

describe("runtime failures", () => {
  test("an encoder that fails while running → inference_error, and the Workers keep serving", async () => {
    // valid I/O contract, but the Reshape only fits exactly 100 mel frames
    const { DT, encodeModel, int64Tensor, node, valueInfo } = await import("../scripts/lib/onnx-writer.ts");
    const bad = makeToneModelDir();
    const encoder = encodeModel({
      name: "fragile_encoder",
      inputs: [valueInfo("audio_signal", DT.FLOAT, ["B", 64, "T"]), valueInfo("length", DT.INT64, ["B"])],
      outputs: [valueInfo("encoded", DT.FLOAT, ["B", 768, "T_out"]), valueInfo("encoded_len", DT.INT32, ["B"])],
      initializers: [int64Tensor("shape", [3], [1, 64, 100]), int64Tensor("pads", [6], [0, 0, 0, 0, 704, 0])],
      nodes: [
        node("Reshape", ["audio_signal", "shape"], ["fixed"]),
        node("Pad", ["fixed", "pads"], ["encoded"], { mode: "constant" }),
        node("Cast", ["length"], ["encoded_len"], { to: DT.INT32 }),
      ],
    });
    writeFileSync(join(bad, "v3_e2e_rnnt_encoder.onnx"), encoder);
    const t = await Transcriber.load({ modelDir: bad, workers: 1 });
    try {
      const err = await t.transcribe(phraseToAudio(["▁да", "▁нет"]).samples).catch((e) => e);
      expect(err).toBeInstanceOf(GigasttError);
      expect(err.code).toBe("inference_error");
      expect(err.message).toBe("Inference failed");
      // exactly 100 frames (16160 samples) runs fine on the same Worker
      expect(await t.decodeSegment(new Float32Array(16160), 0)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
