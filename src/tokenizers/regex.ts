/**
 * Translates the split patterns tokenizers ship (Rust `fancy-regex` for tiktoken, Oniguruma for HF
 * `tokenizers`) into JavaScript RegExps with the same matches:
 * - `\s` / `\S` become explicit Unicode White_Space classes: JS's `\s` also matches U+FEFF and
 *   misses U+0085, which the Rust and Oniguruma engines treat the other way round.
 * - `(?i:...)` (inline case-insensitive groups, unsupported by Node 20's RegExp) becomes a plain
 *   group with each ASCII letter expanded to its Unicode simple case folds (`s` → `[sSſ]`,
 *   `k` → `[kKK]`), which is what the Rust engines match.
 */
import { VocabFormatError } from "../errors.js";

/** Unicode White_Space, the definition Rust's regex and Oniguruma use for `\s`. */
export const WHITE_SPACE = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/** Letters whose simple case folding reaches beyond ASCII. */
const EXTRA_FOLDS: Record<string, string> = { s: "\u017f", k: "\u212a" };

function foldLetter(ch: string): string {
  const lower = ch.toLowerCase();
  return `[${lower}${lower.toUpperCase()}${EXTRA_FOLDS[lower] ?? ""}]`;
}

/** Rewrites a Rust/Oniguruma pattern into JavaScript `u`-mode syntax. */
export function translatePattern(pattern: string): string {
  let out = "";
  let inClass = false;
  // Depth of (?i: groups we are inside, tracked with a stack of group kinds.
  const groups: boolean[] = [];
  let caseless = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "\\") {
      const nx = pattern[i + 1] ?? "";
      if (nx === "s") out += inClass ? WHITE_SPACE : `[${WHITE_SPACE}]`;
      else if (nx === "S") {
        if (inClass) throw new Error("\\S inside a character class is not supported");
        out += `[^${WHITE_SPACE}]`;
      } else if (nx === "p" || nx === "P" || nx === "x" || nx === "u") {
        // Copy a property / hex escape whole: \p{L}, \x{...}, \u1234.
        let j = i + 2;
        if (pattern[j] === "{") j = pattern.indexOf("}", j) + 1;
        else if (nx === "x") j += 2;
        else if (nx === "u") j += 4;
        let esc = pattern.slice(i, j);
        if (nx === "x" && esc.startsWith("\\x{")) esc = `\\u{${esc.slice(3, -1)}}`;
        out += esc;
        i = j - 1;
        continue;
      } else out += ch + nx;
      i++;
      continue;
    }
    if (inClass) {
      if (ch === "]") inClass = false;
      out += ch;
      continue;
    }
    if (ch === "[") {
      inClass = true;
      out += ch;
      if (pattern[i + 1] === "^") {
        out += "^";
        i++;
      }
      continue;
    }
    if (ch === "(") {
      if (pattern.startsWith("(?i:", i)) {
        groups.push(true);
        caseless++;
        out += "(?:";
        i += 3;
        continue;
      }
      groups.push(false);
      out += ch;
      continue;
    }
    if (ch === ")") {
      if (groups.pop()) caseless--;
      out += ch;
      continue;
    }
    if (caseless > 0 && /[A-Za-z]/.test(ch)) {
      out += foldLetter(ch);
      continue;
    }
    out += ch;
  }
  return out;
}

/** Compiles a tokenizer's split pattern; `where` names the file for the error message. */
export function compileSplitPattern(pattern: string, where: string, flags = "gu"): RegExp {
  try {
    return new RegExp(translatePattern(pattern), flags);
  } catch (err) {
    throw new VocabFormatError(`unsupported split pattern ${JSON.stringify(pattern)}: ${(err as Error).message}`, {
      file: where,
    }, { cause: err });
  }
}
