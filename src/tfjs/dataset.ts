/**
 * Packed batches → tensors for a training loop, one batch ahead: while the caller's step runs on
 * batch n, the next `PackedBatch` is already being pulled (loader I/O, tokenizing, packing) and its
 * tensors built. Ownership is explicit, so tensor counts stay flat:
 * - {@link tensorBatches} (custom loops): each yielded set is disposed when the next one is requested
 *   and when the loop ends (break/throw included); the prefetched set is disposed too.
 * - {@link tfDataset} (`model.fitDataset`): fitDataset disposes each element after its step.
 */
import type { PackedBatch } from "../../packers/types.js";
import { BATCH_FIELDS, disposeTensors, toTensors, type BatchField, type BatchTensors } from "./tensors.js";
import { tf, type Dataset, type Tensor2D, type TensorContainer } from "./tf.js";

/** Something that yields packed batches, or a factory of them (needed for more than one epoch). */
export type BatchSource = Iterable<PackedBatch> | AsyncIterable<PackedBatch> | (() => Iterable<PackedBatch> | AsyncIterable<PackedBatch>);

/** Options of {@link tensorBatches}. */
export interface TensorBatchesOptions {
  /** Fields to turn into tensors. @default all five grid fields */
  fields?: readonly BatchField[];
  /**
   * Dispose each yielded set when the next one is requested. Turn off only to keep tensors past a step,
   * and dispose them yourself.
   * @default true
   */
  autoDispose?: boolean;
  /**
   * Called with each batch once its tensors are disposed (with `autoDispose`), e.g. `(b) => pool.release(b)`
   * to recycle packer buffers.
   * @default undefined
   */
  release?: (batch: PackedBatch) => void;
}

/** The tensors of one batch plus the batch itself (for its stats, seqLens, cuSeqlens). */
export interface TensorBatch {
  batch: PackedBatch;
  tensors: Partial<BatchTensors>;
}

function open(source: BatchSource): AsyncIterator<PackedBatch> | Iterator<PackedBatch> {
  const it = typeof source === "function" ? source() : source;
  if (Symbol.asyncIterator in it) return (it as AsyncIterable<PackedBatch>)[Symbol.asyncIterator]();
  return (it as Iterable<PackedBatch>)[Symbol.iterator]();
}

/** Async iterator over tensor batches with one batch of prefetch and deterministic disposal. */
export async function* tensorBatches(source: BatchSource, options: TensorBatchesOptions = {}): AsyncGenerator<TensorBatch, void, undefined> {
  const fields = options.fields ?? BATCH_FIELDS;
  const autoDispose = options.autoDispose ?? true;
  const it = open(source);
  const pull = async (): Promise<TensorBatch | undefined> => {
    const r = await it.next();
    return r.done === true ? undefined : { batch: r.value, tensors: toTensors(r.value, fields) };
  };
  const done = (b: TensorBatch): void => {
    disposeTensors(b.tensors);
    options.release?.(b.batch);
  };
  let current: TensorBatch | undefined;
  let next: Promise<TensorBatch | undefined> = pull();
  try {
    for (;;) {
      current = await next;
      if (current === undefined) return;
      next = pull(); // prefetch while the caller trains on `current`
      yield current;
      if (autoDispose) done(current);
      current = undefined;
    }
  } finally {
    if (autoDispose && current !== undefined) done(current);
    const pending = await next.catch(() => undefined);
    if (pending !== undefined) done(pending);
    await it.return?.();
  }
}

/** Options of {@link tfDataset}. */
export interface TfDatasetOptions {
  /**
   * Batch fields fed to the model, keyed by model input name in `xs` (a single input is passed as the
   * tensor itself).
   * @default { input_ids: "inputIds", position_ids: "positionIds", segment_ids: "segmentIds", attention_mask: "attentionMask" }
   */
  inputs?: Readonly<Record<string, BatchField>>;
  /** Field used as `ys`. @default "labels" */
  target?: BatchField;
}

const DEFAULT_INPUTS: Readonly<Record<string, BatchField>> = {
  input_ids: "inputIds",
  position_ids: "positionIds",
  segment_ids: "segmentIds",
  attention_mask: "attentionMask",
};

/**
 * A `tf.data.Dataset` of `{ xs, ys }` elements for `model.fitDataset` / `forEachAsync`. Each element's
 * tensors belong to the consumer (fitDataset disposes them after the step); only the requested fields
 * become tensors. Pass a factory as `source` to iterate more than once (epochs).
 */
export function tfDataset(source: BatchSource, options: TfDatasetOptions = {}): Dataset<TensorContainer> {
  const inputs = options.inputs ?? DEFAULT_INPUTS;
  const target = options.target ?? "labels";
  const names = Object.keys(inputs);
  const fields = [...new Set<BatchField>([...names.map((n) => inputs[n]!), target])];
  async function* elements(): AsyncGenerator<TensorContainer> {
    for await (const { tensors } of tensorBatches(source, { fields, autoDispose: false })) {
      const xs: Record<string, Tensor2D> = {};
      for (const n of names) xs[n] = tensors[inputs[n]!]!;
      // A field used twice (input and target) is one tensor; fitDataset disposes it once per element.
      yield { xs: names.length === 1 ? xs[names[0]!]! : xs, ys: tensors[target]! };
    }
  }
  return tf.data.generator(elements as unknown as () => Iterator<TensorContainer>);
}
