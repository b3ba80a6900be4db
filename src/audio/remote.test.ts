import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type LoopLag, startLoopLag } from "../../test/helpers/loop-lag.ts";
import { isGigasttError } from "../errors.ts";
import { decodeAudioStream, readAudio } from "./load.ts";
import { audioWorkers, audioWorkerUrl, setAudioWorkerUrl, stopIdleAudioWorkers } from "./remote.ts";

const DIR = join(import.meta.dir, "..", "..", "test", "fixtures", "formats");
const file = (n: string) => new Uint8Array(readFileSync(join(DIR, n)));

/** chunks of `b`, `times` over, as an upload arrives */
async function* upload(b: Uint8Array, times: number, size = 16384): AsyncGenerator<Uint8Array> {
  for (let t = 0; t < times; t++) for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function samples(src: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const y of decodeAudioStream(src)) n += y.length;
  return n;
}

describe("decode Worker", () => {
  test("the worker URL: next to remote.ts from source, audio/worker.ts under a compiled binary's root", () => {
    expect(audioWorkerUrl("file:///x/src/audio/remote.ts")).toBe("file:///x/src/audio/worker.ts");
    expect(audioWorkerUrl("file:///$bunfs/root/gigastt")).toBe("file:///$bunfs/root/audio/worker.ts");
  });

  test("the event loop keeps ticking while a long MP3, an M4A and Ogg Vorbis streams decode (codec setup included)", async () => {
    stopIdleAudioWorkers(); // fresh Workers: WASM loading and Vorbis setup are part of what is measured
    const stop = startLoopLag();
    let lag: LoopLag;
    try {
      const [mp3, m4a, ...vorbis] = await Promise.all([
        samples(upload(file("long-cycle.mp3"), 4)), // 3 minutes
        samples(upload(file("aac-96k-faststart.m4a"), 1)),
        ...[0, 1, 2].map(() => samples(upload(file("vorbis-q4.ogg"), 1))),
      ]);
      expect(mp3).toBeGreaterThan(170 * 16000);
      expect(m4a).toBeGreaterThan(16000);
      for (const v of vorbis) expect(v).toBeGreaterThan(16000);
    } finally {
      lag = stop();
    }
    expect(audioWorkers()).toBeGreaterThan(0);
    if (process.env.LAG_DEBUG) console.log(lag);
    // p99 ≤ 20 ms (the bound the issue sets for decoding) of this thread's own busy time between timer ticks (other processes' load does not count;
    // a single collection of the whole test process's heap may stand out, so not the maximum):
    // in-process decoding held it 35–85 ms at a codec's first use and 40–100 ms per Vorbis stream
    // (p99 141 ms measured here with inProcess: true)
    expect(lag.cpuP99 ?? lag.wallP99).toBeLessThan(20);
  }, 30_000);

  test("a Worker that dies fails its own decode with invalid_audio; the next decode gets a fresh Worker", async () => {
    stopIdleAudioWorkers();
    setAudioWorkerUrl(new URL("../../test/fixtures/workers/crashing-decoder.ts", import.meta.url).href);
    let code = "";
    try {
      await readAudio(file("mp3-128k-mono.mp3"));
    } catch (e) {
      code = isGigasttError(e) ? e.code : String(e);
    } finally {
      setAudioWorkerUrl(audioWorkerUrl());
    }
    expect(code).toBe("invalid_audio");
    expect(audioWorkers()).toBe(0);
    expect((await readAudio(file("mp3-128k-mono.mp3"))).length).toBeGreaterThan(16000);
  }, 30_000);
});
