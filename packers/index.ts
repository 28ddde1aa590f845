// packers/: tokenized documents (typed arrays) → fixed-size batches. No tokenizer, no tensors.
export type { TokenizedDoc, PackAlgorithm, OverlongPolicy, PackOptions, BatchStats, PackStats, PackedBatch } from "./types.js";
export { Packer, packDocuments, packDocumentsSync, DEFAULT_WINDOW } from "./packer.js";
export { IGNORE_INDEX, batchArrays, batchBytes, type BatchArrays } from "./batch-writer.js";
export { BufferPool } from "./pool.js";
export { SNAPSHOT_VERSION, type PackerSnapshot, type SnapshotOptions, type SnapshotDoc, type SnapshotPiece } from "./snapshot.js";
