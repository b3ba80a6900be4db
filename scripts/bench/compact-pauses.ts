/**
 * The measured effect of `--compact-pauses` on the one offline pipeline: the same file through
 * `Transcriber.transcribe` with compaction on and off (wall time of the median of `runs`, words).
 * Usage: bun scripts/bench/compact-pauses.ts [MODEL_DIR] [SECONDS] [RUNS]
 * Without MODEL_DIR a tiny benchmark stand-in (random weights) is written to a temp folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { selectModelFiles } from "../../src/model/files.ts";
import { writeStandIn } from "../make-bench-model.ts";
import { speechLikeClip } from "./clip.ts";

const [dirArg0, secondsArg, runsArg] = process.argv.slice(2);
const dirArg = dirArg0 || undefined;
const seconds = Number(secondsArg ?? 60);
const runs = Number(runsArg ?? 3);
const tmp = dirArg ? null : mkdtempSync(join(tmpdir(), "gigastt-compact-bench-"));
const dir = dirArg ?? join(tmp!, "standin");
if (tmp) await writeStandIn(dir, { layers: 1, dFf: 64, seed: 5 });
const clip = speechLikeClip(seconds, 11).samples;
for (const compactPauses of [false, true]) {
  const t = await Transcriber.fromFiles(selectModelFiles(dir, "fp32"), { workers: 1, compactPauses });
  await t.transcribe(clip.subarray(0, 16000 * 2)); // warm-up
  const times: number[] = [];
  let words = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    words = (await t.transcribe(clip)).words.length;
    times.push(performance.now() - t0);
  }
  await t.close();
  times.sort((a, b) => a - b);
  console.log(`compact-pauses=${compactPauses ? "on" : "off"}: ${Math.round(times[Math.floor(times.length / 2)]!)} ms median of ${runs} for ${seconds} s, ${words} words`);
}
if (tmp) rmSync(tmp, { recursive: true, force: true });
