/**
 * The example model on packed batches: training lowers the loss, and packed documents are isolated —
 * changing every token of document A leaves document B's logits unchanged (and changes them with the
 * isolation switched off), and B's logits in a packed row equal B's logits alone in a row.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { TinyLM, trainSteps } from "../../examples/tiny-lm.js";
import { packDocumentsSync, type PackedBatch, type TokenizedDoc } from "../../packers/index.js";
import { initBackend, tf, toAllTensors, disposeTensors } from "../../src/tfjs/index.js";
import { rng } from "../packers/helpers.js";

const V = 24;

/** Documents with learnable structure: each counts up from a random start with a random stride, mod V. */
function countingDocs(n: number, seed: number, minLen = 6, maxLen = 20): TokenizedDoc[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const len = minLen + Math.floor(r() * (maxLen - minLen + 1));
    const start = Math.floor(r() * V);
    const stride = 1 + Math.floor(r() * 2);
    return { ids: Uint32Array.from({ length: len }, (_, i) => (start + i * stride) % V) };
  });
}

beforeAll(async () => {
  await initBackend({ log: null });
});

describe("TinyLM on packed batches", () => {
  it("lowers the loss over a few training steps", async () => {
    const docs = countingDocs(400, 1);
    const batches = [...packDocumentsSync(docs, { seqLen: 32, batchSize: 8, algorithm: "bfd", windowSize: 128 })];
    const model = new TinyLM({ vocab: V, maxLen: 32, dim: 32, heads: 2, layers: 1, seed: 3 });
    const base = tf.memory().numTensors;
    const { losses } = await trainSteps(model, batches.slice(0, 20), { steps: 20, learningRate: 1e-2 });
    expect(losses.length).toBe(20);
    const first = (losses[0]! + losses[1]! + losses[2]!) / 3;
    const last = (losses[17]! + losses[18]! + losses[19]!) / 3;
    expect(first).toBeGreaterThan(Math.log(V) * 0.8); // starts near chance
    expect(last).toBeLessThan(first * 0.8);
    expect(tf.memory().numTensors).toBe(base);
    model.dispose();
  });

  it("never lets a packed document see another one", () => {
    const L = 40;
    const model = new TinyLM({ vocab: V, maxLen: L, dim: 32, heads: 4, layers: 2, seed: 7 });
    const docB: TokenizedDoc = { ids: Uint32Array.from([3, 9, 4, 1, 7, 7, 2, 11, 5, 0, 8, 13]) };
    const lenA = 17;
    const r = rng(1);
    const a1: TokenizedDoc = { ids: Uint32Array.from({ length: lenA }, () => Math.floor(r() * V)) };
    const a2: TokenizedDoc = { ids: a1.ids.map((x, i) => (x + 1 + (i % (V - 1))) % V) };
    expect(a1.ids.every((x, i) => x !== a2.ids[i])).toBe(true); // every token of A changed
    const row = (a: TokenizedDoc): PackedBatch => [...packDocumentsSync([a, docB], { seqLen: L, batchSize: 1, algorithm: "concat" })][0]!;
    const logitsOfB = (batch: PackedBatch, from: number, isolateDocuments: boolean): Float32Array => {
      const t = toAllTensors(batch);
      const out = tf.tidy(() => model.logits(t.inputIds, t.positionIds, t.segmentIds, { isolateDocuments }).slice([0, from, 0], [1, docB.ids.length, V]));
      disposeTensors(t);
      const data = out.dataSync() as Float32Array;
      out.dispose();
      return data;
    };
    const b1 = row(a1);
    const b2 = row(a2);
    expect(Array.from(b1.segmentIds.subarray(0, lenA + docB.ids.length))).toEqual([...Array(lenA).fill(1), ...Array(docB.ids.length).fill(2)]);
    const maxDiff = (x: Float32Array, y: Float32Array): number => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
    const on1 = logitsOfB(b1, lenA, true);
    const on2 = logitsOfB(b2, lenA, true);
    expect(maxDiff(on1, on2)).toBeLessThan(1e-5);
    const off1 = logitsOfB(b1, lenA, false);
    const off2 = logitsOfB(b2, lenA, false);
    expect(maxDiff(off1, off2)).toBeGreaterThan(1e-3);
    // and B packed after A computes exactly what B alone in its own row computes
    const alone = [...packDocumentsSync([docB], { seqLen: L, batchSize: 1, algorithm: "pad" })][0]!;
    expect(maxDiff(on1, logitsOfB(alone, 0, true))).toBeLessThan(1e-4);
    model.dispose();
  });
});
