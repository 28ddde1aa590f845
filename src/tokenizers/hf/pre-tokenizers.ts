/**
 * HF pre-tokenizers: `ByteLevel`, `Split`, `Sequence`, `Metaspace`, `Whitespace`,
 * `WhitespaceSplit`, `Digits`, `Punctuation`, `BertPreTokenizer`.
 *
 * `ByteLevel` here only splits (GPT-2 pattern) and adds the prefix space: the byte → unicode
 * remapping HF does is undone by loading the vocab as bytes, so the model encodes raw UTF-8.
 */
import { VocabFormatError } from "../../errors.js";
import { bertPreTokenizer } from "./bert.js";
import type { PreTokenizer } from "./components.js";
import { patternOf, type HfPattern } from "./patterns.js";
import { compileSplitPattern, WHITE_SPACE } from "../regex.js";
import { codePointUnits, pieceEndFor, type PieceEnd } from "../split.js";
import { GPT2_PATTERN, gpt2PieceEnd } from "../ascii-split.js";

export type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

interface PreTokenizerJson {
  type: string;
  pretokenizers?: PreTokenizerJson[];
  add_prefix_space?: boolean;
  use_regex?: boolean;
  pattern?: HfPattern;
  behavior?: SplitBehavior;
  invert?: boolean;
  replacement?: string;
  prepend_scheme?: "always" | "first" | "never";
  split?: boolean;
  individual_digits?: boolean;
  [k: string]: unknown;
}

/** A pre-tokenizer that also tells whether the model must work on bytes (ByteLevel present). */
export interface BuiltPreTokenizer extends PreTokenizer {
  readonly byteLevel: boolean;
  /**
   * Set when the whole pre-tokenizer is one split by this global regex that keeps the gaps between
   * matches as pieces (`Isolated`: Llama-3, Qwen, GPT-2) or drops them (`Removed` + `invert`: the
   * gpt-3.5 / gpt-4o files): the tokenizer then walks the pieces by offset (`forEachSplit`) instead
   * of making a string per piece.
   */
  readonly offsetSplit?: { re: RegExp; gaps: boolean; scan?: PieceEnd };
  /** Set when the pre-tokenizer returns its input unchanged (ByteLevel without regex or prefix space). */
  readonly identity?: boolean;
}

/** `{ scan }`: the hand-written matcher of a `Regex` pattern, where tokpack has one (`pieceEndFor`). */
function scanOf(pattern: HfPattern | undefined): { scan?: PieceEnd } {
  const scan = pattern !== undefined && typeof pattern !== "string" && "Regex" in pattern ? pieceEndFor(pattern.Regex) : undefined;
  return scan !== undefined ? { scan } : {};
}

/**
 * Splits `text` at the matches of `re` according to HF's SplitDelimiterBehavior; pushes the
 * non-empty pieces to `out`. An empty match is a zero-length delimiter (it splits the text there)
 * and the search goes on one code point further, as the Oniguruma iteration `tokenizers` uses does.
 */
export function splitByPattern(text: string, re: RegExp, behavior: SplitBehavior, invert: boolean, out: string[]): void {
  // Collect (start, end, isMatch) spans covering the whole text.
  const spans: number[] = [];
  let last = 0;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const s = m.index;
    const e = s + m[0].length;
    if (s > last) spans.push(last, s, 0);
    spans.push(s, e, 1);
    last = e;
    if (e === s) {
      if (s >= text.length) break;
      re.lastIndex = s + codePointUnits(text, s);
    }
  }
  if (last < text.length) spans.push(last, text.length, 0);
  if (invert) for (let i = 2; i < spans.length; i += 3) spans[i] = spans[i] === 1 ? 0 : 1;
  const first = out.length;
  let pending = -1; // start of a piece waiting to be merged with the next one
  for (let i = 0; i < spans.length; i += 3) {
    const s = spans[i]!;
    const e = spans[i + 1]!;
    const isMatch = spans[i + 2] === 1;
    switch (behavior) {
      case "Removed":
        if (!isMatch) out.push(text.slice(s, e));
        break;
      case "Isolated":
        out.push(text.slice(s, e));
        break;
      // Consecutive delimiters stay separate pieces: "▁▁x" → "▁", "▁x" (as `tokenizers` splits them).
      case "MergedWithPrevious":
        if (isMatch && i > 0 && spans[i - 1] === 0) out[out.length - 1] += text.slice(s, e);
        else out.push(text.slice(s, e));
        break;
      case "MergedWithNext":
        if (isMatch) {
          if (pending >= 0) out.push(text.slice(pending, s));
          pending = s;
        } else {
          out.push(text.slice(pending >= 0 ? pending : s, e));
          pending = -1;
        }
        break;
      case "Contiguous": {
        const prevMatch = i > 0 && spans[i - 1] === 1;
        if (isMatch && prevMatch && out.length > 0) out[out.length - 1] += text.slice(s, e);
        else out.push(text.slice(s, e));
        break;
      }
    }
  }
  if (pending >= 0) out.push(text.slice(pending));
  // zero-length matches leave empty pieces; `tokenizers` drops empty splits
  let w = first;
  for (let r = first; r < out.length; r++) if (out[r] !== "") out[w++] = out[r]!;
  out.length = w;
}

function eachPiece(fn: (piece: string, index: number, out: string[]) => void): PreTokenizer["split"] {
  return (pieces) => {
    const out: string[] = [];
    for (let i = 0; i < pieces.length; i++) fn(pieces[i]!, i, out);
    return out;
  };
}

/** Builds the pre-tokenizer a tokenizer.json describes (undefined → the whole segment is one piece). */
export function createPreTokenizer(json: PreTokenizerJson | null | undefined, file: string): BuiltPreTokenizer | undefined {
  if (json === null || json === undefined) return undefined;
  switch (json.type) {
    case "Sequence": {
      const parts = (json.pretokenizers ?? []).map((p) => createPreTokenizer(p, file)).filter((p) => p !== undefined);
      const acting = parts.filter((p) => p.identity !== true);
      const offsetSplit = acting.length === 1 ? acting[0]!.offsetSplit : undefined;
      return {
        byteLevel: parts.some((p) => p.byteLevel),
        split: (pieces) => parts.reduce((acc, p) => p.split(acc), pieces),
        ...(offsetSplit !== undefined ? { offsetSplit } : {}),
        ...(acting.length === 0 ? { identity: true } : {}),
      };
    }
    case "ByteLevel": {
      const prefix = json.add_prefix_space === true;
      const re = json.use_regex === false ? undefined : compileSplitPattern(GPT2_PATTERN, file);
      return {
        byteLevel: true,
        split: eachPiece((piece, _i, out) => {
          if (prefix && !piece.startsWith(" ")) piece = " " + piece;
          if (re) splitByPattern(piece, re, "Isolated", false, out);
          else out.push(piece);
        }),
        ...(!prefix && re !== undefined ? { offsetSplit: { re, gaps: true, scan: gpt2PieceEnd } } : {}),
        ...(!prefix && re === undefined ? { identity: true } : {}),
      };
    }
    case "Split": {
      const re = patternOf(json.pattern, file);
      const behavior = json.behavior ?? "Isolated";
      const invert = json.invert === true;
      return {
        byteLevel: false,
        split: eachPiece((piece, _i, out) => splitByPattern(piece, re, behavior, invert, out)),
        ...(behavior === "Isolated" && !invert ? { offsetSplit: { re, gaps: true, ...scanOf(json.pattern) } } : {}),
        ...(behavior === "Removed" && invert ? { offsetSplit: { re, gaps: false, ...scanOf(json.pattern) } } : {}),
      };
    }
    case "Metaspace": {
      const repl = json.replacement ?? "\u2581";
      const scheme = json.prepend_scheme ?? (json.add_prefix_space === false ? "never" : "always");
      const doSplit = json.split !== false;
      const re = new RegExp(repl.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
      return {
        byteLevel: false,
        split: eachPiece((piece, i, out) => {
          piece = piece.replaceAll(" ", repl);
          if ((scheme === "always" || (scheme === "first" && i === 0)) && !piece.startsWith(repl)) piece = repl + piece;
          if (doSplit) splitByPattern(piece, re, "MergedWithNext", false, out);
          else out.push(piece);
        }),
      };
    }
    case "Whitespace": {
      // HF's `\w+|[^\w\s]+` with Rust's Unicode \w and \s (JS's \w is ASCII-only, its \s has U+FEFF).
      const word = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
      const re = new RegExp(`[${word}]+|[^${word}${WHITE_SPACE}]+`, "gu");
      return { byteLevel: false, split: eachPiece((piece, _i, out) => splitByPattern(piece, re, "Removed", true, out)) };
    }
    case "WhitespaceSplit": {
      const re = new RegExp(`[${WHITE_SPACE}]+`, "gu");
      return { byteLevel: false, split: eachPiece((piece, _i, out) => splitByPattern(piece, re, "Removed", false, out)) };
    }
    case "Digits": {
      const re = json.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return { byteLevel: false, split: eachPiece((piece, _i, out) => splitByPattern(piece, re, "Isolated", false, out)) };
    }
    case "Punctuation": {
      const re = /[\p{P}!-\/:-@\[-`{-~]/gu;
      const behavior = json.behavior ?? "Isolated";
      return { byteLevel: false, split: eachPiece((piece, _i, out) => splitByPattern(piece, re, behavior, false, out)) };
    }
    case "BertPreTokenizer":
      return { byteLevel: false, split: (pieces) => bertPreTokenizer.split(pieces) };
    default:
      throw new VocabFormatError(`unsupported pre-tokenizer type "${json.type}"`, { file, field: "pre_tokenizer" });
  }
}
