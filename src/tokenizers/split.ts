/**
 * Walks the pieces a split pattern finds, reporting (start, end) offsets instead of match objects.
 * Pieces are normally contiguous, so a sticky `test()` (which allocates nothing) finds each one;
 * where the pattern skips characters (Rust's `find_iter` drops them), a global `exec` finds the
 * next match.
 */
export function forEachPiece(
  sticky: RegExp,
  global: RegExp,
  text: string,
  piece: (start: number, end: number) => void,
): void {
  const len = text.length;
  let at = 0;
  while (at < len) {
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
