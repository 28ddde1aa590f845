/**
 * The split patterns of cl100k_base (also Llama-3's), Qwen2, o200k_base and GPT-2 (r50k_base,
 * p50k_base, HF's ByteLevel pre-tokenizer), run by hand over ASCII text: what the regex would match at a
 * position, found with a table lookup per character instead of a call into the regex engine.
 * Entering the engine cost ~50 ns a piece here, half of all encoding time on English; most pieces
 * are a few ASCII characters.
 *
 * The scanner answers only when every character it had to look at is ASCII (the piece, and the
 * character after it where the pattern looks that far). Otherwise it returns -1 and the caller asks
 * the regex, so non-ASCII text is split exactly as before: `\p{L}`, `\p{N}` and `\s` reach beyond
 * ASCII, and a piece's end can depend on the character after it.
 *
 * cl100k's pattern, alternatives in the order they are tried:
 *   1. `(?i:'s|'t|'re|'ve|'m|'ll|'d)`
 *   2. `[^\r\n\p{L}\p{N}]?\p{L}+`
 *   3. `\p{N}{1,3}`
 *   4. ` ?[^\s\p{L}\p{N}]+[\r\n]*`
 *   5. `\s*[\r\n]+`
 *   6. `\s+(?!\S)`
 *   7. `\s+`
 */

/** The patterns as tiktoken's encodings and tokenizer.json files (Llama-3's: cl100k's) spell them. */
export const CL100K_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Qwen2's (and Qwen2.5's, Qwen3's) tokenizer.json: cl100k's with digits one at a time. */
export const QWEN2_PATTERN = CL100K_PATTERN.replace("\\p{N}{1,3}", "\\p{N}");
/** GPT-2's, which HF's ByteLevel pre-tokenizer also applies when `use_regex` is true. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
export const O200K_PATTERN =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Character classes. */
const LETTER = 1;
const DIGIT = 2;
/** `\s` other than CR and LF: tab, VT, FF, space. */
const SPACE = 3;
/** CR or LF (also `\s`). */
const NEWLINE = 4;
/** Neither `\s`, `\p{L}` nor `\p{N}`: punctuation, symbols, other controls. */
const OTHER = 5;
/** Not ASCII: the scanner cannot classify it. */
const WIDE = 6;
/** Past the end of the text. */
const END = 0;

/** Class of every UTF-16 unit (64 KiB, so a lookup needs no range check). */
const CLASS = (() => {
  const t = new Uint8Array(0x10000).fill(WIDE);
  t.fill(OTHER, 0, 128);
  t.fill(LETTER, 0x41, 0x5b);
  t.fill(LETTER, 0x61, 0x7b);
  t.fill(DIGIT, 0x30, 0x3a);
  for (const c of [0x09, 0x0b, 0x0c, 0x20]) t[c] = SPACE;
  t[0x0a] = NEWLINE;
  t[0x0d] = NEWLINE;
  return t;
})();

/** Whether `c` is the ASCII letter `lower` in either case. */
const isLetter = (c: number, lower: number): boolean => (c | 0x20) === lower;

/** End of the run of `cls` characters from `i`. */
function runEnd(u: Uint16Array, i: number, len: number, cls: number): number {
  while (i < len && CLASS[u[i]!] === cls) i++;
  return i;
}

/** The run's end, or -1 when the character after it is not ASCII (it might continue the run). */
function asciiRunEnd(u: Uint16Array, i: number, len: number, cls: number): number {
  i = runEnd(u, i, len, cls);
  return i < len && CLASS[u[i]!] === WIDE ? -1 : i;
}

/**
 * End of the piece cl100k's pattern matches at `at` in the units `u` (`at < len`), or -1 when that
 * depends on a non-ASCII character (ask the regex).
 */
export function cl100kPieceEnd(u: Uint16Array, at: number, len: number): number {
  return cl100kLikePieceEnd(u, at, len, 3);
}

/** `cl100kPieceEnd` for Qwen2's pattern, whose 3. takes one digit. */
export function qwen2PieceEnd(u: Uint16Array, at: number, len: number): number {
  return cl100kLikePieceEnd(u, at, len, 1);
}

/** cl100k's pattern with `\p{N}{1,maxDigits}` as its 3. */
function cl100kLikePieceEnd(u: Uint16Array, at: number, len: number, maxDigits: number): number {
  const c0 = u[at]!;
  const k0 = CLASS[c0]!;
  // the commonest piece first: letters (2. with no leading character)
  if (k0 === LETTER) return asciiRunEnd(u, at + 1, len, LETTER);
  if (k0 === WIDE) return -1;
  const c1 = at + 1 < len ? u[at + 1]! : -1;
  const k1 = c1 < 0 ? END : CLASS[c1]!;
  if (k1 === WIDE) return -1;
  // 1. contractions
  if (c0 === 0x27 && k1 === LETTER) {
    const end = contractionEnd(u, at, len);
    if (end !== 0) return end;
  }
  // 2. a non-letter, non-digit, non-newline character, then letters
  if ((k0 === SPACE || k0 === OTHER) && k1 === LETTER) return asciiRunEnd(u, at + 2, len, LETTER);
  // 3. one to `maxDigits` digits (a non-ASCII digit would continue them)
  if (k0 === DIGIT) {
    let i = at + 1;
    for (; i < at + maxDigits && i < len; i++) {
      const k = CLASS[u[i]!];
      if (k === WIDE) return -1;
      if (k !== DIGIT) break;
    }
    return i;
  }
  // 4. an optional space, symbols (a non-ASCII one would continue them), then newlines
  if (k0 === OTHER || (c0 === 0x20 && k1 === OTHER)) {
    const i = asciiRunEnd(u, k0 === OTHER ? at + 1 : at + 2, len, OTHER);
    return i < 0 ? -1 : runEnd(u, i, len, NEWLINE);
  }
  // 5–7. whitespace (k0 is SPACE or NEWLINE): up to the run's last newline if it has one; else
  // the run, less its last character when the run is longer than one and something follows
  let lastNewline = k0 === NEWLINE ? at : -1;
  let i = at + 1;
  for (;;) {
    if (i >= len) return lastNewline >= 0 ? lastNewline + 1 : i;
    const k = CLASS[u[i]!];
    if (k === SPACE) i++;
    else if (k === NEWLINE) lastNewline = i++;
    else if (k === WIDE) return -1; // U+00A0, U+3000, … would continue the run
    else break;
  }
  if (lastNewline >= 0) return lastNewline + 1;
  return i - at > 1 ? i - 1 : i;
}

/**
 * End of the piece o200k's pattern matches at `at` (`at < len`), or -1 (ask the regex). Its
 * alternatives, for ASCII:
 *   A. `P? U* L+ C?` and B. `P? U+ L* C?`, where P is a character neither newline, letter nor
 *      digit, U an uppercase and L a lowercase letter, C a contraction (`'s`, `'RE`, …): after the
 *      optional P, the run of uppercase letters and the run of lowercase ones after it, then a
 *      contraction if one follows ("don't", "DON'T", "HTMLParser", but "camel" + "Case");
 *   then cl100k's 3–7, except that newlines or slashes, not only newlines, may end 4's symbols.
 */
export function o200kPieceEnd(u: Uint16Array, at: number, len: number): number {
  const k0 = CLASS[u[at]!]!;
  if (k0 === LETTER) return casedLettersEnd(u, at, len);
  if (k0 === WIDE) return -1;
  if ((k0 === SPACE || k0 === OTHER) && at + 1 < len) {
    const k1 = CLASS[u[at + 1]!];
    if (k1 === WIDE) return -1;
    if (k1 === LETTER) return casedLettersEnd(u, at + 1, len);
  }
  // 4. an optional space, symbols, then newlines and slashes (a slash can follow the newlines)
  const c1 = at + 1 < len ? u[at + 1]! : -1;
  if (k0 === OTHER || (u[at] === 0x20 && c1 >= 0 && CLASS[c1] === OTHER)) {
    let i = asciiRunEnd(u, k0 === OTHER ? at + 1 : at + 2, len, OTHER);
    if (i < 0) return -1;
    while (i < len && (CLASS[u[i]!] === NEWLINE || u[i] === 0x2f)) i++;
    return i;
  }
  // neither letters nor symbols start here: cl100k's code reaches only its 3, 5–7, which o200k shares
  return cl100kPieceEnd(u, at, len);
}

/** o200k's A/B from the letter at `p`: uppercase run, lowercase run, optional contraction. */
function casedLettersEnd(u: Uint16Array, p: number, len: number): number {
  let i = p;
  // ASCII letters: bit 0x20 set = lowercase
  while (i < len && CLASS[u[i]!] === LETTER && (u[i]! & 0x20) === 0) i++;
  while (i < len && CLASS[u[i]!] === LETTER && (u[i]! & 0x20) !== 0) i++;
  if (i >= len) return i;
  const k = CLASS[u[i]!];
  if (k === WIDE) return -1; // a non-ASCII letter or mark would continue a run
  if (u[i] !== 0x27) return i;
  const end = contractionEnd(u, i, len);
  return end === 0 ? i : end;
}

/**
 * `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at the apostrophe at `i`: its end, 0 when none matches, or -1
 * when a non-ASCII character decides (ſ, U+017F, folds to s).
 */
function contractionEnd(u: Uint16Array, i: number, len: number): number {
  if (i + 1 >= len) return 0;
  const c1 = u[i + 1]!;
  if (CLASS[c1] === WIDE) return -1;
  if (isLetter(c1, 0x73) || isLetter(c1, 0x74) || isLetter(c1, 0x6d) || isLetter(c1, 0x64)) return i + 2;
  if ((isLetter(c1, 0x72) || isLetter(c1, 0x76) || isLetter(c1, 0x6c)) && i + 2 < len) {
    const c2 = u[i + 2]!;
    if (CLASS[c2] === WIDE) return -1;
    if (isLetter(c1, 0x6c) ? isLetter(c2, 0x6c) : isLetter(c2, 0x65)) return i + 3;
  }
  return 0;
}

/**
 * End of the piece GPT-2's pattern (r50k_base, p50k_base, and HF's ByteLevel pre-tokenizer)
 * matches at `at` (`at < len`), or -1 (ask the regex). Its alternatives:
 *   1. `'s|'t|'re|'ve|'m|'ll|'d` (lowercase only)
 *   2. ` ?\p{L}+`  3. ` ?\p{N}+`  4. ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class
 *   5. `\s+(?!\S)`  6. `\s+`: as cl100k's 6–7, newlines being whitespace like any other
 */
export function gpt2PieceEnd(u: Uint16Array, at: number, len: number): number {
  const c0 = u[at]!;
  const k0 = CLASS[c0]!;
  if (k0 === LETTER || k0 === DIGIT || k0 === OTHER) {
    if (c0 === 0x27 && at + 1 < len) {
      const c1 = u[at + 1]!;
      if (c1 === 0x73 || c1 === 0x74 || c1 === 0x6d || c1 === 0x64) return at + 2;
      if (at + 2 < len && ((c1 === 0x72 && u[at + 2] === 0x65) || (c1 === 0x76 && u[at + 2] === 0x65) || (c1 === 0x6c && u[at + 2] === 0x6c))) return at + 3;
    }
    return asciiRunEnd(u, at + 1, len, k0);
  }
  if (k0 === WIDE) return -1;
  // whitespace; a space may start a run of letters, digits or symbols
  const k1 = at + 1 < len ? CLASS[u[at + 1]!]! : END;
  if (k1 === WIDE) return -1;
  if (c0 === 0x20 && (k1 === LETTER || k1 === DIGIT || k1 === OTHER)) return asciiRunEnd(u, at + 2, len, k1);
  let i = at + 1;
  for (;;) {
    if (i >= len) return i;
    const k = CLASS[u[i]!];
    if (k === SPACE || k === NEWLINE) i++;
    else if (k === WIDE) return -1;
    else break;
  }
  return i - at > 1 ? i - 1 : i;
}
