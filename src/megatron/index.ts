// megatron/: packed outputs on disk — Megatron-Core indexed datasets, .npy packed rows, manifest.json.
export { DTYPE_CODES, dtypeForVocab, dtypeSize, type TokenDtype } from "./dtype.js";
export { IndexedDatasetWriter, openIndexedDataset, writeIdx, IDX_MAGIC, type IndexedDataset, type IndexedWriterPosition } from "./indexed.js";
export { PackedRowsWriter, openPacked, ROW_FILES, type PackedDataset, type PackedWriterPosition } from "./packed.js";
export { npyHeader, readNpyHeader, type NpyInfo } from "./npy.js";
export { MANIFEST_FILE, readManifest, writeManifest, sha256File, vocabSha256, type Manifest, type ManifestCounts, type ManifestSource } from "./manifest.js";
export { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint, removeCheckpoint, type PackCheckpoint } from "./checkpoint.js";
export { packToDisk, type PackToDiskOptions, type PackProgress, type PackResult } from "./pack.js";
export { mergeDatasets, expandOutputs, type MergeOptions } from "./merge.js";
