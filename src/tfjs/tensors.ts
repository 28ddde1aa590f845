/**
 * Packed batch → int32 tensors. `tf.tensor2d` is handed the batch's own `Int32Array` views, so there is
 * no `number[]` in between; the cpu backend keeps the view itself (zero copy), wasm/tensorflow copy it
 * once into their memory.
 */
import type { PackedBatch } from "../../packers/types.js";
import { tf, type Tensor2D } from "./tf.js";

/** The grid arrays of a batch that become tensors. */
export type BatchField = "inputIds" | "labels" | "positionIds" | "segmentIds" | "attentionMask";

/** All grid fields, in batch order. */
export const BATCH_FIELDS: readonly BatchField[] = ["inputIds", "labels", "positionIds", "segmentIds", "attentionMask"];

/** int32 `[rows, seqLen]` tensors for the requested fields of one batch. */
export type BatchTensors = { [K in BatchField]: Tensor2D };

/**
 * Wrap a batch's arrays as int32 `Tensor2D`s of shape `[rows, seqLen]`. The caller owns the tensors:
 * dispose them with {@link disposeTensors} (or `tf.dispose`). With the cpu backend the tensors read the
 * batch buffer directly, so do not reuse that buffer while they live.
 */
export function toTensors(batch: PackedBatch, fields: readonly BatchField[] = BATCH_FIELDS): Partial<BatchTensors> {
  const out: Partial<BatchTensors> = {};
  const shape: [number, number] = [batch.rows, batch.seqLen];
  for (const f of fields) out[f] = tf.tensor2d(batch[f], shape, "int32");
  return out;
}

/** Like {@link toTensors} with every field present. */
export function toAllTensors(batch: PackedBatch): BatchTensors {
  return toTensors(batch) as BatchTensors;
}

/** Dispose every tensor of a {@link toTensors} result. */
export function disposeTensors(tensors: Partial<BatchTensors>): void {
  for (const t of Object.values(tensors)) t?.dispose();
}
