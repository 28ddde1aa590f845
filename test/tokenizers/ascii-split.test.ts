/**
 * The hand-written splits of cl100k's and o200k's patterns (`ascii-split.ts`) against the patterns
 * themselves: the pieces `forEachPiece` finds with the scanner equal those the regex alone finds,
 * on every short string over an alphabet of the characters each alternative turns on (ASCII and the
 * non-ASCII ones that continue a run), and on long random strings; and the encodings' ids on such
 * strings equal the tiktoken package's.
 */
import { describe, expect, it } from "vitest";
import { get_encoding } from "tiktoken";
import { CL100K_PATTERN, GPT2_PATTERN, O200K_PATTERN, QWEN2_PATTERN } from "../../src/tokenizers/ascii-split.js";
import { TextUnits } from "../../src/tokenizers/bpe/text-units.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { compileSplitPattern } from "../../src/tokenizers/regex.js";
import { forEachPiece, pieceEndFor } from "../../src/tokenizers/split.js";

const units = new TextUnits();

/** The pieces of `text` under `pattern`: by the regex alone, or with the hand-written matcher first. */
function splitter(pattern: string): (text: string, withScan: boolean) => string[] {
  const sticky = compileSplitPattern(pattern, "test", "yu");
  const global = compileSplitPattern(pattern, "test", "gu");
  const scan = pieceEndFor(pattern)!;
  return (text, withScan) => {
    const out: string[] = [];
    forEachPiece(sticky, global, text, (s, e) => out.push(text.slice(s, e)), withScan ? scan : undefined, withScan ? units.of(text) : undefined);
    return out;
  };
}

/**
 * Letters (including those of the contractions), digits, each ASCII whitespace, symbols, a
 * control character, and non-ASCII characters that are letters (é, ſ which folds to s), digits
 * (٣), whitespace (U+0085, U+00A0, U+3000), symbols (—, ’) or neither (an emoji's surrogates).
 */
const ALPHABET = ["a", "Z", "s", "T", "r", "E", "l", "L", "v", "m", "d", "1", "0", " ", "\t", "\n", "\r", "\v", "\f", "'", ".", "/", "\u0001", "\u007f", "é", "É", "\u0301", "ſ", "٣", "\u0085", "\u00a0", "\u3000", "—", "’", "😀"];

describe.each([
  ["cl100k_base", CL100K_PATTERN],
  ["o200k_base", O200K_PATTERN],
  ["r50k_base", GPT2_PATTERN],
  ["qwen2", QWEN2_PATTERN],
] as const)("%s's hand-written split", (encoding, pattern) => {
  const pieces = splitter(pattern);

  it("is only used for that exact pattern", () => {
    expect(pieceEndFor(pattern)).toBeDefined();
    expect(pieceEndFor(pattern.replace("\\s+", "\\s*"))).toBeUndefined();
  });

  it("splits every string of up to 3 characters over the alphabet as the regex does", () => {
    const strings: string[] = [];
    let level = [""];
    for (let n = 0; n < 3; n++) {
      level = level.flatMap((s) => ALPHABET.map((c) => s + c));
      strings.push(...level);
    }
    let checked = 0;
    for (const s of strings) {
      // each also inside context that ends or continues a run
      for (const t of [s, `x${s}`, `${s}x`, ` ${s} `, `'${s}9`, `${s}\u00a0`]) {
        expect(pieces(t, true), JSON.stringify(t)).toEqual(pieces(t, false));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200_000);
  });

  it("splits long random strings as the regex does, and the encoding's ids equal tiktoken's", async () => {
    // Qwen2's pattern has no tiktoken encoding: its pieces are checked against the regex only
    const tiktoken = encoding === "qwen2" ? undefined : encoding;
    const tok = tiktoken === undefined ? undefined : await loadTokenizer(tiktoken);
    const ref = tiktoken === undefined ? undefined : get_encoding(tiktoken);
    try {
      let seed = 7;
      const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
      // weighted toward ASCII, as text is, so long ASCII runs meet the occasional wide character
      const pick = () => (next() % 4 === 0 ? ALPHABET[next() % ALPHABET.length]! : "aaaabcdefstAB   \n.,'1"[next() % 21]!);
      for (let k = 0; k < 3000; k++) {
        let t = "";
        const n = next() % 200;
        for (let i = 0; i < n; i++) t += pick();
        expect(pieces(t, true), JSON.stringify(t)).toEqual(pieces(t, false));
        if (tok !== undefined && ref !== undefined) expect([...tok.encode(t)], JSON.stringify(t)).toEqual([...ref.encode_ordinary(t)]);
      }
    } finally {
      ref?.free();
    }
  });
});
