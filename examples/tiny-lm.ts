/**
 * A small causal transformer LM written with TensorFlow.js ops, for packed batches: token and position
 * embeddings, pre-norm blocks of multi-head self-attention under the block-diagonal causal mask built by
 * `buildAttentionMask(segmentIds)`, and a GELU MLP.
 *
 * Performance notes (cpu backend, 2 cores):
 * - Embeddings are one-hot × matrix products, not `tf.gather`/`tf.layers.embedding`: the gather gradient
 *   is UnsortedSegmentSum, ~7× slower than the matmul here, and the wasm backend has no kernel for it.
 * - A one-hot over a 50k–200k tokenizer vocabulary would be rows × vocab floats, so the model works on a
 *   compact vocabulary: the ids that occur in the training data (most frequent first, capped), everything
 *   else mapped to one "other" id. The mapping is a lookup on the backend (`tf.gather` of an int table,
 *   no gradient), so batches stay the packer's int32 arrays.
 */
import type { PackedBatch } from "../packers/index.js";
import { buildAttentionMask, tensorBatches, tf, type Tensor, type Tensor2D, type TensorBatch, type Variable } from "../src/tfjs/index.js";

/** Model sizes. */
export interface TinyLMConfig {
  /** Compact vocabulary size (including the "other" id, which is the last). */
  vocab: number;
  /** Longest position (the packer's seqLen). */
  maxLen: number;
  /** Model width. @default 64 */
  dim?: number;
  /** Attention heads. @default 4 */
  heads?: number;
  /** Transformer blocks. @default 2 */
  layers?: number;
  /** Seed of the weight initialiser. @default 0 */
  seed?: number;
}

/** Forward-pass switches, for the leakage test and ablations. */
export interface ForwardOptions {
  /**
   * Isolate packed documents: block-diagonal mask from segmentIds and per-document positionIds. `false`
   * uses a plain causal mask over the whole row and positions 0..L-1 (what naive packing does).
   * @default true
   */
  isolateDocuments?: boolean;
}

/** Host-side token map from tokenizer ids to the model's compact ids. */
export function buildVocabMap(docs: Iterable<Uint32Array>, tokenizerVocab: number, maxVocab: number): { table: Int32Array; vocab: number } {
  const counts = new Map<number, number>();
  for (const ids of docs) for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const keep = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, maxVocab - 1);
  const other = keep.length;
  const table = new Int32Array(tokenizerVocab).fill(other);
  keep.forEach(([id], i) => (table[id] = i));
  return { table, vocab: other + 1 };
}

export class TinyLM {
  readonly config: Required<TinyLMConfig>;
  private readonly vars = new Map<string, Variable>();
  private vocabTable: Tensor | undefined;

  constructor(config: TinyLMConfig) {
    this.config = { dim: 64, heads: 4, layers: 2, seed: 0, ...config };
    const { vocab, maxLen, dim, layers } = this.config;
    let seed = this.config.seed;
    const init = (name: string, shape: number[], scale = 0.02): void => {
      this.vars.set(name, tf.variable(tf.randomNormal(shape, 0, scale, "float32", seed++), true, name));
    };
    const constant = (name: string, shape: number[], value: number): void => {
      this.vars.set(name, tf.variable(tf.fill(shape, value), true, name));
    };
    init("wte", [vocab, dim]);
    init("wpe", [maxLen, dim], 0.01);
    for (let l = 0; l < layers; l++) {
      constant(`ln1g${l}`, [dim], 1);
      constant(`ln1b${l}`, [dim], 0);
      init(`wqkv${l}`, [dim, 3 * dim]);
      init(`wo${l}`, [dim, dim], 0.02 / Math.sqrt(2 * layers));
      constant(`ln2g${l}`, [dim], 1);
      constant(`ln2b${l}`, [dim], 0);
      init(`w1${l}`, [dim, 4 * dim]);
      constant(`b1${l}`, [4 * dim], 0);
      init(`w2${l}`, [4 * dim, dim], 0.02 / Math.sqrt(2 * layers));
      constant(`b2${l}`, [dim], 0);
    }
    constant("lnfg", [dim], 1);
    constant("lnfb", [dim], 0);
  }

  /** Map tokenizer ids to compact ids on the backend (table from {@link buildVocabMap}). */
  setVocabTable(table: Int32Array): void {
    this.vocabTable?.dispose();
    this.vocabTable = tf.tensor1d(table, "int32");
  }

  /** Trainable variables. */
  get variables(): Variable[] {
    return [...this.vars.values()];
  }

  private v(name: string): Variable {
    const x = this.vars.get(name);
    if (x === undefined) throw new Error(`TinyLM: no variable ${name}`);
    return x;
  }

  private compact(ids: Tensor2D): Tensor2D {
    if (this.vocabTable === undefined) return ids;
    const safe = tf.maximum(ids, tf.scalar(0, "int32")); // -100 labels are masked out by the caller
    return tf.gather(this.vocabTable, safe) as Tensor2D;
  }

  private layerNorm(x: Tensor, g: string, b: string): Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).div(variance.add(1e-5).sqrt()).mul(this.v(g)).add(this.v(b));
  }

  /** Logits `[B, L, vocab]` for int32 `inputIds`, `positionIds`, `segmentIds` `[B, L]`. */
  logits(inputIds: Tensor2D, positionIds: Tensor2D, segmentIds: Tensor2D, options: ForwardOptions = {}): Tensor {
    const isolate = options.isolateDocuments ?? true;
    const { vocab, maxLen, dim, heads, layers } = this.config;
    const [B, L] = inputIds.shape;
    const dh = dim / heads;
    return tf.tidy(() => {
      const pos = isolate ? positionIds : tf.range(0, L, 1, "int32").expandDims(0).tile([B, 1]);
      const seg = isolate ? segmentIds : tf.onesLike(segmentIds);
      const mask = buildAttentionMask(seg as Tensor2D, { as: "additive" }); // [B, 1, L, L]
      const tok = tf.oneHot(this.compact(inputIds).reshape([-1]), vocab).matMul(this.v("wte"));
      const pe = tf.oneHot(pos.reshape([-1]) as Tensor, maxLen).matMul(this.v("wpe"));
      let x: Tensor = tok.add(pe); // [B*L, dim]
      for (let l = 0; l < layers; l++) {
        const h = this.layerNorm(x, `ln1g${l}`, `ln1b${l}`);
        const qkv = h.matMul(this.v(`wqkv${l}`)).reshape([B, L, 3, heads, dh]).transpose([2, 0, 3, 1, 4]); // [3, B, H, L, dh]
        const [q, k, v] = tf.unstack(qkv) as [Tensor, Tensor, Tensor];
        const scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(dh)).add(mask); // [B, H, L, L]
        const att = tf.matMul(tf.softmax(scores), v).transpose([0, 2, 1, 3]).reshape([B * L, dim]);
        x = x.add(att.matMul(this.v(`wo${l}`)));
        const h2 = this.layerNorm(x, `ln2g${l}`, `ln2b${l}`);
        const u = h2.matMul(this.v(`w1${l}`)).add(this.v(`b1${l}`));
        const gelu = u.mul(tf.sigmoid(u.mul(1.702))); // sigmoid approximation of GELU
        x = x.add(gelu.matMul(this.v(`w2${l}`)).add(this.v(`b2${l}`)));
      }
      const out = this.layerNorm(x, "lnfg", "lnfb").matMul(this.v("wte"), false, true); // tied output
      return out.reshape([B, L, vocab]);
    });
  }

  /** Mean cross-entropy over positions whose label is not -100 (labels are already next-token targets). */
  loss(batch: TensorBatch["tensors"], options: ForwardOptions = {}): tf.Scalar {
    const { inputIds, positionIds, segmentIds, labels } = batch;
    if (!inputIds || !positionIds || !segmentIds || !labels) throw new Error("TinyLM.loss needs inputIds, positionIds, segmentIds, labels");
    return tf.tidy(() => {
      const logits = this.logits(inputIds, positionIds, segmentIds, options).reshape([-1, this.config.vocab]);
      const flat = labels.reshape([-1]);
      const weight = tf.greaterEqual(flat, 0).toFloat();
      const target = tf.oneHot(this.compact(flat.expandDims(0) as Tensor2D).reshape([-1]), this.config.vocab);
      const nll = tf.neg(tf.sum(tf.logSoftmax(logits).mul(target), -1));
      return nll.mul(weight).sum().div(tf.maximum(weight.sum(), 1)) as tf.Scalar;
    });
  }

  /** Free every variable. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vocabTable?.dispose();
  }
}

/** Train `model` on `batches` for at most `steps` steps; returns the loss of each step and timing. */
export async function trainSteps(
  model: TinyLM,
  batches: Iterable<PackedBatch> | AsyncIterable<PackedBatch>,
  opts: { steps: number; learningRate: number; log?: (line: string) => void },
): Promise<{ losses: number[]; tokensPerSecond: number }> {
  const optimizer = tf.train.adam(opts.learningRate);
  const losses: number[] = [];
  let tokens = 0;
  let t0 = 0;
  for await (const { batch, tensors } of tensorBatches(batches)) {
    if (losses.length === 1) t0 = performance.now(); // the first step includes kernel warm-up
    const cost = optimizer.minimize(() => model.loss(tensors), true, model.variables);
    const loss = (await cost!.data())[0]!;
    cost!.dispose();
    losses.push(loss);
    if (losses.length > 1) tokens += batch.stats.tokens;
    const secs = (performance.now() - t0) / 1000;
    opts.log?.(`step ${losses.length}  loss ${loss.toFixed(4)}  fill ${(batch.stats.fillRatio * 100).toFixed(1)}%  ${losses.length > 1 ? `${Math.round(tokens / secs)} tok/s` : "(warm-up)"}`);
    if (losses.length >= opts.steps) break;
  }
  optimizer.dispose();
  const secs = (performance.now() - t0) / 1000;
  return { losses, tokensPerSecond: secs > 0 ? tokens / secs : 0 };
}
