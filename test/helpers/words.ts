/** Word timelines for tests of cue building and subtitle output. */
import type { Word } from "../../src/types.ts";
import { rng } from "./wav.ts";

/** Words laid out one after another: [text, duration, gap before]. */
export function lay(items: [string, number, number?][]): Word[] {
  let t = 0;
  return items.map(([word, dur, gap]) => {
    t += gap ?? 0.04;
    const w = { word, start: t, end: t + dur, confidence: 0.9 };
    t += dur;
    return w;
  });
}

/** Random speech-like words: Cyrillic, varying lengths, pauses and sentence ends. */
export function randomWords(seed: number, count: number): Word[] {
  const r = rng(seed);
  const letters = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя";
  const out: [string, number, number][] = [];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(r() * 12);
    let w = Array.from({ length: len }, () => letters[Math.floor(r() * letters.length)]).join("");
    const p = r();
    if (p < 0.08) w += ".";
    else if (p < 0.1) w += "?";
    else if (p < 0.12) w += ",";
    const gap = r() < 0.1 ? 0.3 + r() * 1.5 : Math.round(r() * 3) * 0.04;
    out.push([w, 0.08 + Math.round(r() * 15) * 0.04, gap]);
  }
  return lay(out);
}

