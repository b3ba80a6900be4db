/**
 * Tokens → words with SentencePiece semantics (docs/MODEL.md §5.2).
 *
 * - `▁` (U+2581) marks a word boundary: a piece starting with it starts a new word (a bare `▁`
 *   too); a `▁` inside a piece splits there as well.
 * - Pieces without `▁` (punctuation `,` `.` `?` included) glue to the current word; the very
 *   first piece starts a word whether or not it has the marker.
 * - Control pieces render as nothing and do not affect words, times or confidences.
 * - Byte-fallback pieces `<0xNN>` are collected and each run is UTF-8-decoded (invalid
 *   sequences become U+FFFD).
 * - start = first token frame × 0.04 + offset, end = (last token frame + 1) × 0.04 + offset,
 *   both rounded to the microsecond; confidence = mean token probability.
 */
import { FRAME_SECONDS, type Token, type Word } from "../types.ts";
import { PieceKind, type Vocab } from "./vocab.ts";

const MARK = "\u2581";
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Seconds rounded to 1e-6, so 3 × 0.04 reads 0.12 (ms rounding is the formatter's job). */
export function roundTime(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

/** Time of an encoder frame boundary: frame × 0.04 + offset, rounded. */
export function frameTime(frame: number, offsetSeconds = 0): number {
  return roundTime(frame * FRAME_SECONDS + offsetSeconds);
}

interface OpenWord {
  text: string;
  bytes: number[];
  firstFrame: number;
  lastFrame: number;
  probSum: number;
  count: number;
}

export function tokensToWords(tokens: readonly Token[], vocab: Vocab, offsetSeconds = 0): Word[] {
  const words: Word[] = [];
  let cur: OpenWord | null = null;

  const flushBytes = (w: OpenWord): void => {
    if (w.bytes.length === 0) return;
    w.text += utf8.decode(Uint8Array.from(w.bytes));
    w.bytes.length = 0;
  };
  const close = (w: OpenWord | null): void => {
    if (!w) return;
    flushBytes(w);
    if (w.text.length === 0) return;
    words.push({
      word: w.text,
      start: frameTime(w.firstFrame, offsetSeconds),
      end: frameTime(w.lastFrame + 1, offsetSeconds),
      confidence: w.probSum / w.count,
    });
  };
  const open = (t: Token): OpenWord => ({ text: "", bytes: [], firstFrame: t.frame, lastFrame: t.frame, probSum: 0, count: 0 });
  const addToken = (w: OpenWord, t: Token): void => {
    w.lastFrame = t.frame;
    w.probSum += t.prob;
    w.count += 1;
  };

  for (const t of tokens) {
    const kind = vocab.kind(t.id);
    if (kind === PieceKind.control) continue;
    if (kind === PieceKind.byte) {
      cur ??= open(t);
      cur.bytes.push(vocab.byteValue(t.id));
      addToken(cur, t);
      continue;
    }
    const parts = vocab.piece(t.id).split(MARK);
    // parts[0] glues to the current word; every later part starts a new word at this token
    if (parts[0]!.length > 0 || parts.length === 1) {
      cur ??= open(t);
      flushBytes(cur);
      cur.text += parts[0];
      addToken(cur, t);
    }
    for (let i = 1; i < parts.length; i++) {
      close(cur);
      cur = open(t);
      cur.text = parts[i]!;
      addToken(cur, t);
    }
  }
  close(cur);
  return words;
}

/** Words joined by single spaces. */
export function wordsToText(words: readonly Word[]): string {
  return words.map((w) => w.word).join(" ");
}
