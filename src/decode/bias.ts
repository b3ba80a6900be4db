/**
 * Contextual biasing for the greedy RNN-T loop: hotwords compiled against the model's vocabulary
 * into a prefix tree of piece sequences with Aho–Corasick fall-back links.
 *
 * - Split: each word of a phrase becomes `▁word`, cut into pieces by greedy longest match over
 *   the vocabulary's text pieces (deterministic; characters no piece covers use the `<0xNN>` byte
 *   pieces, else the phrase is dropped). Each phrase is also added with its first letter
 *   capitalised (the e2e model writes names and sentence starts that way).
 * - State: the trie node of the longest hotword prefix the emitted pieces end with (the root
 *   when none). Blank leaves it as it is (a hotword's pieces may sit frames apart).
 * - Boost: on each joint row where the model's own choice is a piece, every piece that extends
 *   the state (directly, or after falling back to a shorter prefix, down to a hotword's first
 *   piece at the root) competes with `logp + boost·weight`. Blank is never boosted, and a row the
 *   model calls blank stays blank: biasing changes which piece is emitted, never whether one is,
 *   so it cannot insert a hotword into silence nor repeat a piece on a frame that already emitted
 *   it (a boosted start could otherwise re-win the same frame up to the symbol cap). The cost: a
 *   hotword the model drops entirely is not restored (that needs a beam search). The token
 *   reports the model's own probability.
 * - Break: a piece that extends nothing sends the state back to the longest suffix that is
 *   still a prefix (usually the root). Greedy decoding keeps no running score, so nothing else
 *   is left to take back: a half-matched hotword biases no later choice.
 */
import type { Vocab } from "./vocab.ts";
import { PieceKind } from "./vocab.ts";
import type { HotwordList } from "./hotwords.ts";

/** One candidate of a state: `token` leads to node `next` with `boost` added to its logp. */
interface Entry {
  readonly token: number;
  readonly next: number;
  readonly boost: number;
}

/** The compiled form of a {@link HotwordList} for one vocabulary; immutable, shared by decodes. */
export class ContextBias {
  /** per node: every token that leads somewhere other than the root */
  readonly #entries: readonly (readonly Entry[])[];
  /** per node: tokens of its entries and their boosts (parallel arrays for the hot loop) */
  readonly #tokens: readonly Int32Array[];
  readonly #boosts: readonly Float32Array[];
  /** phrase variants compiled (after dropping the unrepresentable) */
  readonly sequences: number;
  /** phrases none of whose variants could be split into pieces */
  readonly dropped: readonly string[];

  private constructor(entries: Entry[][], sequences: number, dropped: string[]) {
    this.#entries = entries;
    this.#tokens = entries.map((e) => Int32Array.from(e, (x) => x.token));
    this.#boosts = entries.map((e) => Float32Array.from(e, (x) => x.boost));
    this.sequences = sequences;
    this.dropped = Object.freeze(dropped);
  }

  /** Compiles piece-id sequences (`weight` scales `boost` per sequence); blank ids are refused. */
  static fromSequences(seqs: readonly { ids: readonly number[]; weight: number }[], boost: number, blankId: number, dropped: string[] = []): ContextBias | null {
    const children: Map<number, number>[] = [new Map()];
    const nodeBoost: number[] = [0];
    let count = 0;
    for (const { ids, weight } of seqs) {
      if (ids.length === 0 || ids.includes(blankId)) continue;
      count++;
      let n = 0;
      for (const id of ids) {
        let c = children[n]!.get(id);
        if (c === undefined) {
          c = children.length;
          children.push(new Map());
          nodeBoost.push(0);
          children[n]!.set(id, c);
        }
        nodeBoost[c] = Math.max(nodeBoost[c]!, boost * weight);
        n = c;
      }
    }
    if (count === 0) return null;
    // breadth-first: fall-back links, then each node's entries = its children ∪ its fall-back's entries
    const fail = new Array<number>(children.length).fill(0);
    const order: number[] = [];
    const queue: number[] = [0];
    while (queue.length > 0) {
      const n = queue.shift()!;
      order.push(n);
      for (const [tok, c] of children[n]!) {
        if (n !== 0) {
          let f = fail[n]!;
          while (f !== 0 && !children[f]!.has(tok)) f = fail[f]!;
          const g = children[f]!.get(tok);
          fail[c] = g !== undefined && g !== c ? g : 0;
        }
        queue.push(c);
      }
    }
    const entries: Entry[][] = new Array(children.length);
    for (const n of order) {
      const own: Entry[] = [...children[n]!].map(([token, next]) => ({ token, next, boost: nodeBoost[next]! }));
      const have = new Set(own.map((e) => e.token));
      const inherited = n === 0 ? [] : entries[fail[n]!]!.filter((e) => !have.has(e.token));
      entries[n] = own.concat(inherited);
    }
    return new ContextBias(entries, count, dropped);
  }

  /** Compiles `list` against `vocab` (see the module comment); null when nothing could be compiled. */
  static compile(list: HotwordList, vocab: Vocab): ContextBias | null {
    const split = new PieceSplitter(vocab);
    const seqs: { ids: number[]; weight: number }[] = [];
    const dropped: string[] = [];
    for (const p of list.phrases) {
      let any = false;
      for (const variant of variants(p.text)) {
        const ids = split.split(variant);
        if (ids) {
          seqs.push({ ids, weight: p.weight });
          any = true;
        }
      }
      if (!any) dropped.push(p.text);
    }
    return ContextBias.fromSequences(seqs, list.boost, vocab.blankId, dropped);
  }

  /** The state before any piece. */
  get root(): number {
    return 0;
  }

  /** The state after emitting `token` in `state`. */
  advance(state: number, token: number): number {
    for (const e of this.#entries[state]!) if (e.token === token) return e.next;
    return 0;
  }

  /**
   * The class greedy decoding takes from one joint row: the argmax of `logp` (first max wins;
   * `fallback` when no value is > −∞); when that is a piece, a candidate of `state` that beats it
   * with its boost (strictly) instead. `fallback` is the blank id.
   */
  pick(logp: Float32Array, off: number, n: number, fallback: number, state: number): number {
    let best = fallback;
    let bestVal = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = logp[off + i]!;
      if (v > bestVal) {
        bestVal = v;
        best = i;
      }
    }
    if (best === fallback) return best;
    const toks = this.#tokens[state]!;
    const boosts = this.#boosts[state]!;
    for (let j = 0; j < toks.length; j++) {
      const k = toks[j]!;
      if (k >= n) continue;
      const v = logp[off + k]! + boosts[j]!;
      if (v > bestVal) {
        bestVal = v;
        best = k;
      }
    }
    return best;
  }

  /** Tokens boosted in `state` with their boosts (tests, diagnostics). */
  candidates(state: number): Map<number, number> {
    const m = new Map<number, number>();
    for (const e of this.#entries[state]!) m.set(e.token, e.boost);
    return m;
  }
}

/** The phrase, and the phrase with its first letter capitalised when that differs. */
export function variants(text: string): string[] {
  const first = text.charAt(0);
  const upper = first.toLocaleUpperCase("ru");
  return upper === first ? [text] : [text, upper + text.slice(1)];
}

const WORD_START = "\u2581";

/** Greedy longest-match split of text into the vocabulary's pieces. */
export class PieceSplitter {
  readonly #ids = new Map<string, number>();
  readonly #bytes = new Map<number, number>();
  readonly #maxLen: number;

  constructor(vocab: Vocab) {
    let maxLen = 1;
    for (let id = 0; id < vocab.size; id++) {
      const kind = vocab.kind(id);
      if (kind === PieceKind.byte) this.#bytes.set(vocab.byteValue(id), id);
      if (kind !== PieceKind.text) continue;
      const p = vocab.piece(id);
      if (!this.#ids.has(p)) this.#ids.set(p, id);
      maxLen = Math.max(maxLen, p.length);
    }
    this.#maxLen = maxLen;
  }

  /** `▁word` per word, each cut greedily; null when some character has neither a piece nor byte pieces. */
  split(text: string): number[] | null {
    const out: number[] = [];
    for (const word of text.split(" ")) {
      if (word === "" || !this.#word(WORD_START + word, out)) return null;
    }
    return out;
  }

  #word(s: string, out: number[]): boolean {
    let i = 0;
    while (i < s.length) {
      let took = 0;
      for (let len = Math.min(this.#maxLen, s.length - i); len >= 1; len--) {
        const id = this.#ids.get(s.slice(i, i + len));
        if (id !== undefined) {
          out.push(id);
          took = len;
          break;
        }
      }
      if (took > 0) {
        i += took;
        continue;
      }
      // no piece starts here: the code point as byte pieces (a lone ▁ is dropped when uncovered)
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      i += ch.length;
      if (ch === WORD_START) continue;
      for (const b of new TextEncoder().encode(ch)) {
        const id = this.#bytes.get(b);
        if (id === undefined) return false;
        out.push(id);
      }
    }
    return true;
  }
}
