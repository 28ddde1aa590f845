/** Batch → tensors, attention masks on the backend, and flat tensor counts over many steps. */
import { beforeAll, describe, expect, it } from "vitest";
import { packDocumentsSync, type PackedBatch } from "../../packers/index.js";
import { buildAttentionMask, initBackend, tensorBatches, tf, tfDataset, toAllTensors, disposeTensors } from "../../src/tfjs/index.js";
import { makeDocs, rng } from "../packers/helpers.js";

/** Batches whose ids are small (0..vocab-1), for models with a small vocabulary. */
function smallBatches(count: number, L: number, B: number, vocab = 16, seed = 1): PackedBatch[] {
  const r = rng(seed);
  const docs = makeDocs(count, 1, L, seed).map((d) => ({ ids: d.ids.map(() => Math.floor(r() * vocab)) }));
  return [...packDocumentsSync(docs, { seqLen: L, batchSize: B, algorithm: "bfd", windowSize: 64 })];
}

beforeAll(async () => {
  const info = await initBackend({ log: null });
  expect(info.backend).toBe(tf.getBackend());
});

describe("toTensors", () => {
  it("wraps every grid array as an int32 [rows, L] tensor with the same values", () => {
    const [batch] = smallBatches(40, 32, 4);
    const t = toAllTensors(batch!);
    for (const f of ["inputIds", "labels", "positionIds", "segmentIds", "attentionMask"] as const) {
      expect(t[f].dtype).toBe("int32");
      expect(t[f].shape).toEqual([batch!.rows, 32]);
      expect(t[f].dataSync()).toEqual(batch![f]);
    }
    disposeTensors(t);
  });

  it("on the cpu backend, views the batch buffer itself (zero copy)", async () => {
    const previous = tf.getBackend();
    await tf.setBackend("cpu");
    try {
      const [batch] = smallBatches(40, 32, 4);
      const t = toAllTensors(batch!);
      const stored = (tf.backend() as unknown as { data: { get(id: object): { values: unknown } } }).data.get(t.inputIds.dataId).values;
      expect(stored).toBe(batch!.inputIds);
      disposeTensors(t);
    } finally {
      await tf.setBackend(previous);
    }
  });
});

describe("buildAttentionMask", () => {
  it("is block-diagonal and causal by segment, matching a host reference", () => {
    const batches = smallBatches(60, 24, 3);
    for (const batch of batches.slice(0, 3)) {
      const before = tf.memory().numTensors;
      const seg = tf.tensor2d(batch.segmentIds, [batch.rows, 24], "int32");
      const mask = buildAttentionMask(seg);
      const additive = buildAttentionMask(seg, { as: "additive" });
      const open = buildAttentionMask(seg, { causal: false });
      expect(tf.memory().numTensors).toBe(before + 4); // only the results survive
      expect(mask.shape).toEqual([batch.rows, 1, 24, 24]);
      expect(mask.dtype).toBe("bool");
      const m = mask.dataSync();
      const a = additive.dataSync();
      const o = open.dataSync();
      for (let b = 0; b < batch.rows; b++) {
        for (let i = 0; i < 24; i++) {
          for (let j = 0; j < 24; j++) {
            const si = batch.segmentIds[b * 24 + i]!;
            const sj = batch.segmentIds[b * 24 + j]!;
            const k = (b * 24 + i) * 24 + j;
            const want = si === sj && j <= i;
            expect(m[k] === 1).toBe(want);
            expect(a[k]).toBe(want ? 0 : -1e9);
            expect(o[k] === 1).toBe(si === sj);
          }
        }
      }
      tf.dispose([seg, mask, additive, open]);
    }
  });
});

describe("tensor lifetimes", () => {
  it("keeps tf.memory().numTensors flat over 100 training steps with prefetch", async () => {
    const batches = smallBatches(1200, 16, 2, 16, 3).slice(0, 100);
    expect(batches.length).toBe(100);
    const w = tf.variable(tf.zeros([16, 1]));
    const opt = tf.train.sgd(0.01);
    const base = tf.memory().numTensors;
    const counts: number[] = [];
    for await (const { tensors } of tensorBatches(batches)) {
      const cost = opt.minimize(() => {
        const x = tf.oneHot(tensors.inputIds!.reshape([-1]), 16);
        return tf.matMul(x, w).square().mean() as tf.Scalar;
      }, true);
      cost?.dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(counts.length).toBe(100);
    // steady state from the third step on (current + prefetched batch; the last step has no prefetch)
    expect(new Set(counts.slice(2, -1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(base);
    w.dispose();
  });

  it("disposes the current and the prefetched batch when the loop breaks", async () => {
    const batches = smallBatches(200, 16, 2);
    const base = tf.memory().numTensors;
    let n = 0;
    for await (const { tensors } of tensorBatches(batches)) {
      expect(tensors.inputIds!.isDisposed).toBe(false);
      if (++n === 3) break;
    }
    expect(tf.memory().numTensors).toBe(base);
  });

  it("prefetches: batch n+1 is already pulled and its tensors built while step n runs", async () => {
    const batches = smallBatches(100, 16, 2).slice(0, 6);
    let pulled = 0;
    async function* source(): AsyncGenerator<PackedBatch> {
      for (const b of batches) {
        pulled++;
        yield b;
      }
    }
    let step = 0;
    for await (const { batch } of tensorBatches(source())) {
      await new Promise((r) => setTimeout(r, 5)); // the "training step"
      expect(batch).toBe(batches[step]);
      expect(pulled).toBe(Math.min(step + 2, batches.length));
      step++;
    }
    expect(step).toBe(batches.length);
    // tfDataset: the same prefetching generator under tf.data
    pulled = 0;
    const seen: number[] = [];
    await tfDataset(source, { inputs: { input_ids: "inputIds" } }).forEachAsync((e) => {
      seen.push(pulled);
      tf.dispose(e);
    });
    expect(seen.length).toBe(batches.length);
    expect(seen.slice(0, -1).every((p, i) => p >= i + 2)).toBe(true);
  });

  it("hands each batch to release() only after its tensors are disposed", async () => {
    const batches = smallBatches(200, 16, 2);
    const live = new Map<PackedBatch, tf.Tensor>();
    const released: PackedBatch[] = [];
    const release = (b: PackedBatch): void => {
      expect(live.get(b)!.isDisposed).toBe(true);
      released.push(b);
    };
    for await (const { batch, tensors } of tensorBatches(batches, { release })) {
      live.set(batch, tensors.inputIds!);
    }
    expect(released).toEqual(batches);
  });

  it("feeds model.fitDataset and leaks nothing", async () => {
    const L = 8;
    const batches = smallBatches(400, L, 4, 16, 5);
    // dense layers only: tf.layers.embedding has no gradient kernel on wasm
    const input = tf.input({ shape: [L], dtype: "int32", name: "input_ids" });
    const out = tf.layers.dense({ units: L }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    model.compile({ optimizer: tf.train.sgd(0.001), loss: "meanSquaredError" });
    const ds = tfDataset(() => batches, { inputs: { input_ids: "inputIds" }, target: "positionIds" });
    await model.fitDataset(ds, { epochs: 1, verbose: 0 }); // warm-up: optimizer state
    const base = tf.memory().numTensors;
    const h = await model.fitDataset(ds, { epochs: 2, verbose: 0 });
    expect(h.history["loss"]!.length).toBe(2);
    expect(tf.memory().numTensors).toBe(base);
    model.dispose();
  });
});
