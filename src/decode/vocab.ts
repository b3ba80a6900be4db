/**
 * The model's text vocabulary (`v3_e2e_rnnt_vocab.txt`): one `<piece> <id>` per line.
 *
 * Ids must be 0..n−1 in file order; the blank class is the id of `<blk>` (docs/MODEL.md §5.1).
 * Control pieces render as nothing; SentencePiece byte-fallback pieces `<0xNN>` carry one byte
 * each (runs of them are UTF-8-decoded by the detokenizer).
 */
import { GigasttError } from "../errors.ts";

/** What a piece contributes to text. */
export const PieceKind = { text: 0, control: 1, byte: 2 } as const;
export type PieceKind = (typeof PieceKind)[keyof typeof PieceKind];

/** Pieces that never render (SentencePiece specials and the RNN-T blank). */
export const CONTROL_PIECES: ReadonlySet<string> = new Set(["<unk>", "<s>", "</s>", "<pad>", "<blk>"]);

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
/** `<piece><space or tab><id>`; the piece is everything before the last separator run. */
const LINE = /^(.*?)[ \t]+(\d+)[ \t]*$/;

export class Vocab {
  readonly size: number;
  readonly blankId: number;
  readonly #pieces: readonly string[];
  readonly #kinds: Uint8Array;
  /** byte value for byte pieces, else -1 */
  readonly #bytes: Int16Array;

  private constructor(pieces: readonly string[], blankId: number) {
    this.#pieces = pieces;
    this.size = pieces.length;
    this.blankId = blankId;
    this.#kinds = new Uint8Array(pieces.length);
    this.#bytes = new Int16Array(pieces.length).fill(-1);
    pieces.forEach((p, id) => {
      const m = BYTE_PIECE.exec(p);
      if (m) {
        this.#kinds[id] = PieceKind.byte;
        this.#bytes[id] = Number.parseInt(m[1]!, 16);
      } else if (CONTROL_PIECES.has(p)) {
        this.#kinds[id] = PieceKind.control;
      }
    });
  }

  /** Parses the vocabulary text; throws `model_invalid` naming the offending line. */
  static parse(text: string): Vocab {
    const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    const lines = src.split("\n");
    const pieces: string[] = [];
    let blankId = -1;
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line.length === 0) continue;
      const lineNo = i + 1;
      const m = LINE.exec(line);
      if (!m || m[1]!.length === 0) {
        throw invalid(`vocabulary line ${lineNo} is not "<piece> <id>": ${JSON.stringify(clip(line))}`);
      }
      const piece = m[1]!;
      const id = Number(m[2]);
      if (id !== pieces.length) {
        throw invalid(`vocabulary line ${lineNo}: id ${m[2]} where ${pieces.length} was expected (ids must be 0..n-1 in order)`);
      }
      if (piece === "<blk>") {
        if (blankId >= 0) throw invalid(`vocabulary line ${lineNo}: second <blk> (first is id ${blankId})`);
        blankId = id;
      }
      pieces.push(piece);
    }
    if (pieces.length === 0) throw invalid("vocabulary is empty");
    if (blankId < 0) throw invalid("vocabulary has no <blk> piece");
    return new Vocab(pieces, blankId);
  }

  /** The raw piece text (with `▁` markers, `<0xNN>` and control pieces as written). */
  piece(id: number): string {
    const p = this.#pieces[id];
    if (p === undefined) throw new GigasttError("model_invalid", `token id ${id} is outside the vocabulary of ${this.size}`);
    return p;
  }

  /** How the piece renders: plain text, nothing (control) or one raw byte. */
  kind(id: number): PieceKind {
    this.piece(id); // range check
    return this.#kinds[id] as PieceKind;
  }

  /** The byte carried by a `<0xNN>` piece, or -1. */
  byteValue(id: number): number {
    this.piece(id);
    return this.#bytes[id]!;
  }
}

function invalid(message: string): GigasttError {
  return new GigasttError("model_invalid", message);
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
