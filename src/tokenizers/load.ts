import { TokenizerSpecError } from "../errors.js";
import type { Tokenizer } from "./types.js";

/**
 * Load a tokenizer from a built-in name (`cl100k_base`, `o200k_base`, `p50k_base`, `r50k_base`,
 * `gpt2`, `bert-base-uncased`), a `.tiktoken` rank file, or a HuggingFace `tokenizer.json`.
 */
export async function loadTokenizer(spec: string): Promise<Tokenizer> {
  throw new TokenizerSpecError(`not implemented yet: ${spec}`);
}
