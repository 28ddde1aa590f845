// TensorFlow.js handoff: backend choice, batch → tensors, prefetching iterators, attention masks.
export { tf, initBackend, type BackendChoice, type BackendOptions, type BackendInfo } from "./tf.js";
export type { Tensor, Tensor1D, Tensor2D, Tensor4D, Scalar, TensorContainer, Variable, Dataset } from "./tf.js";
export { toTensors, toAllTensors, disposeTensors, BATCH_FIELDS, type BatchField, type BatchTensors } from "./tensors.js";
export { tensorBatches, tfDataset, type BatchSource, type TensorBatch, type TensorBatchesOptions, type TfDatasetOptions } from "./dataset.js";
export { buildAttentionMask, type AttentionMaskOptions } from "./mask.js";
