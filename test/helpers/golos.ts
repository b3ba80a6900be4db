/**
 * The Golos clips (16 kHz mono PCM16, real Russian speech): the five the tests use are committed
 * under test/fixtures/golos (see its README for their source and licence); `GIGASTT_GOLOS_DIR` or
 * the full set beside the checkout (`../shared/fixtures/golos`) also serve. A missing clip fails the
 * test that needs it, with the paths tried: these tests are never skipped.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { readAudio } from "../../src/audio/load.ts";

const ROOT = resolve(import.meta.dir, "..", "..");

export function golosDir(env: Record<string, string | undefined> = process.env): string {
  const tried = [env.GIGASTT_GOLOS_DIR, join(ROOT, "test", "fixtures", "golos"), join(ROOT, "..", "shared", "fixtures", "golos"), join(ROOT, "..", "..", "shared", "fixtures", "golos")].filter((p): p is string => !!p);
  const found = tried.find((p) => existsSync(join(p, "golos_00.wav")));
  if (!found) throw new Error(`the Golos clips are missing: tried ${tried.join(", ")}`);
  return found;
}

/** golos_NN.wav as 16 kHz samples */
export function golos(n: number): Promise<Float32Array> {
  return readAudio(join(golosDir(), `golos_${String(n).padStart(2, "0")}.wav`));
}

/** seeded white noise of amplitude `amp` (uniform in ±amp) */
export function whiteNoise(samples: number, amp: number, seed = 1): Float32Array {
  const y = new Float32Array(samples);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < samples; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    y[i] = (s / 2 ** 32 - 0.5) * 2 * amp;
  }
  return y;
}
