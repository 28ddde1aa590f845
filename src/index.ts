// Public API, re-exported in pipeline order: loaders → tokenizers → packers → tfjs.
export * from "./errors.js";
export type { Tokenizer, EncodeOptions, DecodeOptions, SpecialTokenIds } from "./tokenizers/types.js";
