import { CL100K_PATTERN, cl100kPieceEnd, GPT2_PATTERN, gpt2PieceEnd, O200K_PATTERN, o200kPieceEnd, QWEN2_PATTERN, qwen2PieceEnd } from "./ascii-split.js";

/**
 * A hand-written matcher of one split pattern: the end of the piece the pattern matches at `at` of
 * a text's UTF-16 units `units` (`len` of them), or -1 where it cannot tell (the regex decides).
 */
export type PieceEnd = (units: Uint16Array, at: number, len: number) => number;

/** The hand-written matcher of `pattern` (as the tokenizer file spells it), if tokpack has one. */
export function pieceEndFor(pattern: string): PieceEnd | undefined {
  if (pattern === CL100K_PATTERN) return cl100kPieceEnd;
  if (pattern === O200K_PATTERN) return o200kPieceEnd;
  if (pattern === QWEN2_PATTERN) return qwen2PieceEnd;
  return pattern === GPT2_PATTERN ? gpt2PieceEnd : undefined;
}

/**
 * Walks the pieces a split pattern finds, reporting (start, end) offsets instead of match objects.
 * `scan`, the pattern's hand-written matcher where there is one, answers first, over `units` (the
 * text's UTF-16 units; required with `scan`). Pieces are normally contiguous, so a sticky `test()`
 * (which allocates nothing) finds each one; where the pattern skips characters (Rust's `find_iter`
 * drops them), a global `exec` finds the next match.
 */
export function forEachPiece(
  sticky: RegExp,
  global: RegExp,
  text: string,
  piece: (start: number, end: number) => void,
  scan?: PieceEnd,
  units?: Uint16Array,
): void {
  const len = text.length;
  let at = 0;
  while (at < len) {
    if (scan !== undefined) {
      const end = scan(units!, at, len);
      if (end > at) {
        piece(at, end);
        at = end;
        continue;
      }
    }
    sticky.lastIndex = at;
    if (sticky.test(text)) {
      const end = sticky.lastIndex;
      if (end === at) {
        // An empty match: step over one character, as the Rust engines do.
        at++;
        continue;
      }
      piece(at, end);
      at = end;
      continue;
    }
    global.lastIndex = at;
    const m = global.exec(text);
    if (m === null) return;
    if (m[0].length === 0) {
      at = m.index + 1;
      continue;
    }
    piece(m.index, m.index + m[0].length);
    at = m.index + m[0].length;
  }
}

/** UTF-16 units of the code point at `i` (2 for a surrogate pair). */
export function codePointUnits(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
}

/**
 * HF `Split` by offsets, for the two forms byte-level files use: `Isolated` (every match and every
 * gap between matches is a piece; `gaps` true) and `Removed` with `invert` (only the matches are;
 * `gaps` false). An empty match is a split point and the search goes on one code point further, as
 * the Oniguruma iteration `tokenizers` uses does: the same non-empty pieces `splitByPattern` makes,
 * without making them. `scan` and `units` as for `forEachPiece`. The sticky `test()` at the end of
 * the last piece finds contiguous pieces allocation-free.
 */
export function forEachSplit(
  sticky: RegExp,
  global: RegExp,
  text: string,
  gaps: boolean,
  piece: (start: number, end: number) => void,
  scan?: PieceEnd,
  units?: Uint16Array,
): void {
  const len = text.length;
  let last = 0; // end of the last piece (or gap)
  let from = 0; // where the next search starts (past `last` after an empty match)
  while (from < len) {
    if (from === last) {
      if (scan !== undefined) {
        const end = scan(units!, from, len);
        if (end > from) {
          piece(from, end);
          last = from = end;
          continue;
        }
      }
      sticky.lastIndex = from;
      if (sticky.test(text) && sticky.lastIndex > from) {
        const end = sticky.lastIndex;
        piece(from, end);
        last = from = end;
        continue;
      }
    }
    global.lastIndex = from;
    const m = global.exec(text);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    if (gaps && start > last) piece(last, start);
    if (end > start) {
      piece(start, end);
      last = from = end;
    } else {
      last = start;
      from = start + codePointUnits(text, start);
    }
  }
  if (gaps && last < len) piece(last, len);
}
