/**
 * Tokenizer tables shared with worker threads (`shareTables` → `tokenizerFromShared`): a worker
 * that builds nothing must encode exactly as the `tiktoken` package does, and so must the main
 * thread's tokenizer after it moved onto the shared copies.
 */
import { Worker } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { get_encoding, type TiktokenEncoding } from "tiktoken";
import { loadTokenizer, sharesTables } from "../../src/tokenizers/load.js";
import type { SharedTokenizer } from "../../src/tokenizers/types.js";
import { workerFile } from "../../src/pipeline/pool.js";
import { corpus, edgeCases, mismatches } from "./corpus.js";
import { hasShared } from "../shared.js";

/** The compiled `load.js` beside the compiled worker (workers run the built package, as the pipeline's do). */
const LOAD_JS = pathToFileURL(workerFile().replace(/pipeline[\\/]worker\.js$/, "tokenizers/load.js")).href;

/** Encodes `docs` in a fresh worker thread over `shared`; returns the ids and what the worker saw. */
function encodeInWorker(shared: SharedTokenizer, docs: string[]): Promise<{ ids: number[][]; sharedMemory: boolean }> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    import(workerData.loadJs).then(({ tokenizerFromShared }) => {
      const t = tokenizerFromShared(workerData.shared);
      const ids = workerData.docs.map((d) => Array.from(t.encode(d)));
      parentPort.postMessage({ ids, sharedMemory: workerData.shared.vocab.arena.buffer instanceof SharedArrayBuffer && workerData.shared.pairs.slots.buffer instanceof SharedArrayBuffer });
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { shared, docs, loadJs: LOAD_JS } });
    w.once("message", (m: { ids: number[][]; sharedMemory: boolean }) => {
      resolve(m);
      void w.terminate();
    });
    w.once("error", reject);
  });
}

describe.runIf(hasShared())("shared tokenizer tables", () => {
  const docs = [...corpus("en").slice(0, 40), ...corpus("code").slice(0, 40), ...corpus("multi").slice(0, 40), ...edgeCases(20_000)];

  for (const name of ["cl100k_base", "o200k_base"] as TiktokenEncoding[]) {
    it(`${name}: a worker over the main thread's tables encodes as tiktoken does, and so does the main thread`, async () => {
      expect(sharesTables(name)).toBe(true);
      const ours = await loadTokenizer(name);
      const shared = ours.shareTables!();
      expect(ours.shareTables!()).toBe(shared); // shared once
      for (const a of [shared.vocab.arena, shared.vocab.offsets, shared.vocab.index, shared.vocab.textIndex.slots, shared.vocab.textIndex.keys, shared.pairs.slots, shared.pairs.dense, shared.pairs.sides]) {
        expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
      }
      const ref = get_encoding(name);
      try {
        const expected = docs.map((d) => Array.from(ref.encode_ordinary(d)));
        const inWorker = await encodeInWorker(shared, docs);
        expect(inWorker.sharedMemory).toBe(true);
        let k = 0; // mismatches calls `ours` once per document, in order
        expect(mismatches(docs, () => inWorker.ids[k++]!, (_t, i) => expected[i]!)).toEqual([]);
        expect(mismatches(docs, (t) => ours.encode(t), (_t, i) => expected[i]!)).toEqual([]);
      } finally {
        ref.free();
      }
    });
  }

  it("HF tokenizer.json families do not share (each worker loads its own)", async () => {
    expect(sharesTables("gpt2")).toBe(false);
    expect((await loadTokenizer("gpt2")).shareTables).toBeUndefined();
  });
});
