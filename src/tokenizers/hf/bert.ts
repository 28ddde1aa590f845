/**
 * HF `BertNormalizer` and `BertPreTokenizer`, exactly as `tokenizers` (Rust) runs them.
 *
 * The character classes are explicit tables, not JS `\p{…}`: `tokenizers` takes "control",
 * "punctuation" and "non-spacing mark" from the `unicode_categories` crate, whose tables are
 * Unicode 8.0, and NFD / lowercase from Rust's own (older than Node's ICU) tables. Every table here
 * was measured against the reference, code point by code point (test/tokenizers/wordpiece.test.ts
 * re-checks all 1.1M of them), so a newer Node with a newer ICU cannot change the output.
 */
import type { Normalizer, PreTokenizer } from "./components.js";
import { wellFormed } from "../utf8.js";

/** Hex code-point ranges, "a-b c d-e", as `[start, end]` pairs. */
function parseRanges(spec: string): Array<[number, number]> {
  return spec.split(" ").map((r) => {
    const [a, b] = r.split("-");
    const start = parseInt(a!, 16);
    return [start, b === undefined ? start : parseInt(b, 16)];
  });
}

/** A `u`-flag character class source for the ranges. */
function charClass(spec: string): string {
  return parseRanges(spec)
    .map(([a, b]) => (a === b ? `\\u{${a.toString(16)}}` : `\\u{${a.toString(16)}}-\\u{${b.toString(16)}}`))
    .join("");
}

/**
 * What `clean_text` deletes: NUL, U+FFFD and HF's `is_control` (Cc, Cf, Co of Unicode 8.0 but not
 * \t \n \r). Unassigned code points are kept (the crate's "not assigned" class is never consulted).
 */
const REMOVED =
  "0-8 b-c e-1f 7f-9f ad 600-605 61c 6dd 70f 180e 200b-200f 202a-202e 2060-2064 2066-206f e000-f8ff feff " +
  "fff9-fffb fffd 110bd 1bca0-1bca3 1d173-1d17a e0001 e0020-e007f f0000-ffffd 100000-10fffd";

/** Rust `char::is_whitespace` (Unicode White_Space). JS `\s` differs: it has U+FEFF and lacks U+0085. */
const WHITESPACE = "9-d 20 85 a0 1680 2000-200a 2028-2029 202f 205f 3000";

/** HF `is_chinese_char`. Note 2B920 (not BERT's 2B820) and the merged 2A700–2B81F, as in the Rust source. */
const CJK = "3400-4dbf 4e00-9fff f900-faff 20000-2a6df 2a700-2b81f 2b920-2ceaf 2f800-2fa1f";

/** HF `is_bert_punc`: ASCII punctuation plus Unicode 8.0's P* (so U+166D and U+111C9 are in, U+2E43 is out). */
const PUNCTUATION =
  "21-2f 3a-40 5b-60 7b-7e a1 a7 ab b6-b7 bb bf 37e 387 55a-55f 589-58a 5be 5c0 5c3 5c6 5f3-5f4 609-60a 60c-60d " +
  "61b 61e-61f 66a-66d 6d4 700-70d 7f7-7f9 830-83e 85e 964-965 970 af0 df4 e4f e5a-e5b f04-f12 f14 f3a-f3d f85 " +
  "fd0-fd4 fd9-fda 104a-104f 10fb 1360-1368 1400 166d-166e 169b-169c 16eb-16ed 1735-1736 17d4-17d6 17d8-17da " +
  "1800-180a 1944-1945 1a1e-1a1f 1aa0-1aa6 1aa8-1aad 1b5a-1b60 1bfc-1bff 1c3b-1c3f 1c7e-1c7f 1cc0-1cc7 1cd3 " +
  "2010-2027 2030-2043 2045-2051 2053-205e 207d-207e 208d-208e 2308-230b 2329-232a 2768-2775 27c5-27c6 " +
  "27e6-27ef 2983-2998 29d8-29db 29fc-29fd 2cf9-2cfc 2cfe-2cff 2d70 2e00-2e2e 2e30-2e42 3001-3003 3008-3011 " +
  "3014-301f 3030 303d 30a0 30fb a4fe-a4ff a60d-a60f a673 a67e a6f2-a6f7 a874-a877 a8ce-a8cf a8f8-a8fa a8fc " +
  "a92e-a92f a95f a9c1-a9cd a9de-a9df aa5c-aa5f aade-aadf aaf0-aaf1 abeb fd3e-fd3f fe10-fe19 fe30-fe52 " +
  "fe54-fe61 fe63 fe68 fe6a-fe6b ff01-ff03 ff05-ff0a ff0c-ff0f ff1a-ff1b ff1f-ff20 ff3b-ff3d ff3f ff5b ff5d " +
  "ff5f-ff65 10100-10102 1039f 103d0 1056f 10857 1091f 1093f 10a50-10a58 10a7f 10af0-10af6 10b39-10b3f " +
  "10b99-10b9c 11047-1104d 110bb-110bc 110be-110c1 11140-11143 11174-11175 111c5-111c9 111cd 111db " +
  "111dd-111df 11238-1123d 112a9 114c6 115c1-115d7 11641-11643 1173c-1173e 12470-12474 16a6e-16a6f 16af5 " +
  "16b37-16b3b 16b44 1bc9f 1da87-1da8b";

/** What `strip_accents` drops after NFD: Unicode 8.0's Mn (marks added later, e.g. U+1DF6, are kept). */
const NONSPACING_MARKS =
  "300-33f 342 345-36f 483-487 591-5bd 5bf 5c1-5c2 5c4-5c5 5c7 610-61a 64b-65f 670 6d6-6dc 6df-6e4 6e7-6e8 " +
  "6ea-6ed 711 730-74a 7a6-7b0 7eb-7f3 816-819 81b-823 825-827 829-82d 859-85b 8e3-902 93a 93c 941-948 94d " +
  "951-957 962-963 981 9bc 9c1-9c4 9cd 9e2-9e3 a01-a02 a3c a41-a42 a47-a48 a4b-a4d a51 a70-a71 a75 a81-a82 abc " +
  "ac1-ac5 ac7-ac8 acd ae2-ae3 b01 b3c b3f b41-b44 b4d b56 b62-b63 b82 bc0 bcd c00 c3e-c40 c46-c47 c4a-c4d " +
  "c55-c56 c62-c63 c81 cbc cbf cc6 ccc-ccd ce2-ce3 d01 d41-d44 d4d d62-d63 dca dd2-dd4 dd6 e31 e34-e3a e47-e4e " +
  "eb1 eb4-eb9 ebb-ebc ec8-ecd f18-f19 f35 f37 f39 f71-f72 f74 f77 f79-f7e f80 f82-f84 f86-f87 f8d-f92 f94-f97 " +
  "f99-f9c f9e-fa1 fa3-fa6 fa8-fab fad-fb8 fba-fbc fc6 102d-1030 1032-1037 1039-103a 103d-103e 1058-1059 " +
  "105e-1060 1071-1074 1082 1085-1086 108d 109d 135d-135f 1712-1714 1732-1734 1752-1753 1772-1773 17b4-17b5 " +
  "17b7-17bd 17c6 17c9-17d3 17dd 180b-180d 18a9 1920-1922 1927-1928 1932 1939-193b 1a17-1a18 1a1b 1a56 " +
  "1a58-1a5e 1a60 1a62 1a65-1a6c 1a73-1a7c 1a7f 1ab0-1abd 1b00-1b03 1b34 1b36-1b3a 1b3c 1b42 1b6b-1b73 " +
  "1b80-1b81 1ba2-1ba5 1ba8-1ba9 1bab-1bad 1be6 1be8-1be9 1bed 1bef-1bf1 1c2c-1c33 1c36-1c37 1cd0-1cd2 " +
  "1cd4-1ce0 1ce2-1ce8 1ced 1cf4 1cf8-1cf9 1dc0-1df5 1dfc-1dff 20d0-20dc 20e1 20e5-20f0 2cef-2cf1 2d7f " +
  "2de0-2dff 302a-302d 3099-309a a66f a674-a67d a69e-a69f a6f0-a6f1 a802 a806 a80b a825-a826 a8c4 a8e0-a8f1 " +
  "a926-a92d a947-a951 a980-a982 a9b3 a9b6-a9b9 a9bc a9e5 aa29-aa2e aa31-aa32 aa35-aa36 aa43 aa4c aa7c aab0 " +
  "aab2-aab4 aab7-aab8 aabe-aabf aac1 aaec-aaed aaf6 abe5 abe8 abed fb1e fe00-fe0f fe20-fe2f 101fd 102e0 " +
  "10376-1037a 10a01-10a03 10a05-10a06 10a0c-10a0f 10a38-10a3a 10a3f 10ae5-10ae6 11001 11038-11046 " +
  "1107f-11081 110b3-110b6 110b9-110ba 11100-11102 11127-1112b 1112d 11130-11134 11173 11180-11181 " +
  "111b6-111be 111ca-111cc 1122f-11231 11234 11236-11237 112df 112e3-112ea 11300-11301 1133c 11340 " +
  "11366-1136c 11370-11374 114b3-114b8 114ba 114bf-114c0 114c2-114c3 115b2-115b5 115bc-115bd 115bf-115c0 " +
  "115dc-115dd 11633-1163a 1163d 1163f-11640 116ab 116ad 116b0-116b5 116b7 1171d-1171f 11722-11725 " +
  "11727-1172b 16af0-16af4 16b30-16b36 16f8f-16f92 1bc9d-1bc9e 1d167-1d169 1d17b-1d182 1d185-1d18b " +
  "1d1aa-1d1ad 1d242-1d244 1da00-1da36 1da3b-1da6c 1da75 1da84 1da9b-1da9f 1daa1-1daaf 1e8d0-1e8d6 e0100-e01ef";

/** Characters whose canonical decomposition is newer than the reference's NFD tables: it leaves them whole. */
const NFD_NEWER = "105c9 105e4 11383 11385 1138e 11391 113c5 113c7-113c8 11938 16121-16128 16d68-16d6a";

/** Characters whose lowercase mapping is newer than the reference's Rust: it leaves them unchanged. */
const LOWERCASE_NEWER = "1c89 a7cb-a7cc a7ce a7d2 a7d4 a7da a7dc 10d50-10d65 16ea0-16eb8";

const REMOVED_RE = new RegExp(`[${charClass(REMOVED)}]`, "gu");
/** White_Space other than ' ' (and the Cc ones clean_text has already removed). */
const MAPPED_SPACE_RE = new RegExp(`[${charClass(WHITESPACE.replace(" 20 ", " "))}]`, "gu");
const CJK_RE = new RegExp(`[${charClass(CJK)}]`, "gu");
const MARKS_RE = new RegExp(`[${charClass(NONSPACING_MARKS)}]`, "gu");
const NFD_NEWER_RE = new RegExp(`([${charClass(NFD_NEWER)}])`, "u");
const LOWERCASE_NEWER_RE = new RegExp(`([${charClass(LOWERCASE_NEWER)}])`, "u");
const NON_ASCII_RE = /[^\x00-\x7f]/;
const CAPITAL_SIGMA = "\u03a3";
const SMALL_SIGMA = "\u03c3";

/** NFD, except the few characters the reference cannot decompose yet. */
function nfd(text: string): string {
  if (!NFD_NEWER_RE.test(text)) return text.normalize("NFD");
  // split with a capture group keeps the separators at odd indexes.
  return text
    .split(NFD_NEWER_RE)
    .map((part, i) => (i % 2 === 1 ? part : part.normalize("NFD")))
    .join("");
}

/**
 * The reference's lowercasing: Rust's `char::to_lowercase`, code point by code point, with the
 * reference's Rust tables. Both HF users go through it — `BertNormalizer` (lowercase) and the
 * generic `Lowercase` normalizer — and the reference gives the same output for both on every code
 * point (test/tokenizers/lowercase.test.ts). JS lowercases Σ to ς at the end of a word (Final_Sigma,
 * its only context-dependent mapping); Rust always gives σ. So the text between Σs is lowercased by
 * JS and every Σ becomes σ. The two also differ on LOWERCASE_NEWER (55 code points under Node 20's
 * ICU, letters newer than the reference's Rust), which the reference leaves unchanged.
 */
export function rustLowercase(text: string): string {
  if (LOWERCASE_NEWER_RE.test(text)) {
    return text
      .split(LOWERCASE_NEWER_RE)
      .map((part, i) => (i % 2 === 1 ? part : rustLowercase(part)))
      .join("");
  }
  return text.includes(CAPITAL_SIGMA) ? text.split(CAPITAL_SIGMA).map(toLower).join(SMALL_SIGMA) : text.toLowerCase();
}

function toLower(s: string): string {
  return s.toLowerCase();
}

/** Config of HF `BertNormalizer` (tokenizer.json field names). */
export interface BertNormalizerConfig {
  /** Remove NUL, U+FFFD and control characters; map whitespace to ' '. @default true */
  clean_text?: boolean;
  /** Surround each CJK ideograph with spaces. @default true */
  handle_chinese_chars?: boolean;
  /** NFD, then drop non-spacing marks. `null`/absent: follows `lowercase`. @default null */
  strip_accents?: boolean | null;
  /** Lowercase per code point, as Rust. @default true */
  lowercase?: boolean;
}

/**
 * HF `BertNormalizer`: clean_text → CJK spacing → strip_accents → lowercase, in that order.
 * Lone surrogates become U+FFFD first: that is what the reference receives after the JS→UTF-8
 * boundary, and with clean_text they are then removed like any U+FFFD.
 */
export function createBertNormalizer(cfg: BertNormalizerConfig): Normalizer {
  const clean = cfg.clean_text !== false;
  const chinese = cfg.handle_chinese_chars !== false;
  const lower = cfg.lowercase !== false;
  const strip = cfg.strip_accents ?? lower;
  return {
    normalize(text: string): string {
      text = wellFormed(text);
      if (clean) text = text.replace(REMOVED_RE, "").replace(MAPPED_SPACE_RE, " ");
      // Every table below starts above U+007F: pure-ASCII text (most of en/code) skips them all.
      const ascii = !NON_ASCII_RE.test(text);
      if (chinese && !ascii) text = text.replace(CJK_RE, " $& ");
      if (strip && !ascii) text = nfd(text).replace(MARKS_RE, "");
      if (lower) text = ascii ? text.toLowerCase() : rustLowercase(text);
      return text;
    },
  };
}

/** Per BMP code unit: 1 = whitespace, 2 = punctuation (astral punctuation is looked up in ASTRAL_PUNCT). */
const BMP_CLASS = new Uint8Array(0x10000);
const ASTRAL_PUNCT: number[] = [];
for (const [a, b] of parseRanges(WHITESPACE)) BMP_CLASS.fill(1, a, b + 1);
for (const [a, b] of parseRanges(PUNCTUATION)) {
  if (a < 0x10000) BMP_CLASS.fill(2, a, b + 1);
  else ASTRAL_PUNCT.push(a, b);
}

function isAstralPunct(cp: number): boolean {
  for (let i = 0; i < ASTRAL_PUNCT.length; i += 2) {
    if (cp < ASTRAL_PUNCT[i]!) return false;
    if (cp <= ASTRAL_PUNCT[i + 1]!) return true;
  }
  return false;
}

/** Pushes the pieces of `text`: whitespace removed, each punctuation character its own piece. */
function splitBert(text: string, out: string[]): void {
  let start = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    let cls = BMP_CLASS[c]!;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        width = 2;
        cls = isAstralPunct(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)) ? 2 : 0;
      }
    }
    if (cls !== 0) {
      if (i > start) out.push(text.slice(start, i));
      if (cls === 2) out.push(text.slice(i, i + width));
      start = i + width;
    }
    i += width - 1;
  }
  if (n > start) out.push(text.slice(start));
}

/**
 * HF `BertPreTokenizer`: split on Rust `char::is_whitespace` (removed), then isolate every
 * punctuation character (ASCII punctuation or Unicode 8.0 P*). Empty pieces are never produced.
 */
export const bertPreTokenizer: PreTokenizer = {
  split(pieces: string[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < pieces.length; i++) splitBert(pieces[i]!, out);
    return out;
  },
};
