// pipeline/: loaders → tokenizers (worker threads) → packers, as one resumable stream of batches.
export { createPipeline, Pipeline, type PipelineOptions, type PipelineState } from "./pipeline.js";
export { TokenizePool, defaultWorkers } from "./pool.js";
export { encodeChunk, decodeChunk, type EncodedChunk, type EncodeSpec, type TemplateSpec } from "./chunk.js";
