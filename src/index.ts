// Public API, re-exported in pipeline order: loaders → tokenizers → packers → SFT.
// TensorFlow.js lives behind its own entry point, `tokpack/tfjs`, so importing tokpack never loads tfjs.
export * from "./errors.js";
export * from "../loaders/index.js";
export type { Tokenizer, EncodeOptions, DecodeOptions, SpecialTokenIds, SharedTokenizer } from "./tokenizers/types.js";
export { loadTokenizer, tokenizerFromShared } from "./tokenizers/load.js";
export { BufferTooSmallError, encodeIntoGrowable } from "./tokenizers/grow.js";
export { BUILTIN_NAMES } from "./tokenizers/builtins.js";
export * from "../packers/index.js";
export * from "./sft/index.js";
export * from "./pipeline/index.js";
export * from "./megatron/index.js";
