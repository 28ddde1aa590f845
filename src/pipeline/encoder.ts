/**
 * One encoder per {@link EncodeSpec} per thread: the tokenizer and chat template are loaded once and
 * reused by every chunk (the main thread and each worker keep their own cache).
 */
import { loadTokenizer } from "../tokenizers/load.js";
import type { SftDocument } from "../sft/index.js";
import { ChunkBuilder, encodeChunk, resolveTemplate, type EncodeSpec } from "./chunk.js";

/** Encodes a chunk of documents into one buffer (see `chunk.ts`). */
export interface ChunkEncoder {
  /** Encode documents (an array, or read one at a time from a `DocWriter` buffer) into one chunk buffer. */
  (docs: Iterable<SftDocument>): ArrayBuffer;
  /** A builder to encode documents one at a time as they are read. */
  builder(): ChunkBuilder;
}

const cache = new Map<string, Promise<ChunkEncoder>>();

/** The cached encoder for `spec`. */
export function encoderFor(spec: EncodeSpec): Promise<ChunkEncoder> {
  const key = JSON.stringify(spec);
  let p = cache.get(key);
  if (p === undefined) {
    p = (async () => {
      const tokenizer = await loadTokenizer(spec.tokenizer);
      const template = spec.template === undefined ? undefined : await resolveTemplate(spec.template);
      const options = { ...spec.encode, ...(template !== undefined ? { template } : {}) };
      const encode = (docs: Iterable<SftDocument>): ArrayBuffer => encodeChunk(tokenizer, docs, options);
      return Object.assign(encode, { builder: () => new ChunkBuilder(tokenizer, options) });
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}
