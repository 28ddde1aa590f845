/** Public tokenizer contract shared by every tokenizer family (tiktoken files, HF tokenizer.json). */
import type { SharedHfTokenizer } from "./hf/tokenizer.js";
import type { SharedTiktoken } from "./tiktoken/tokenizer.js";

/**
 * A tokenizer's read-only tables on SharedArrayBuffers, plus what rebuilds the tokenizer around them
 * (`tokenizerFromShared`): structured-cloneable, so worker threads share one copy of the tables.
 */
export type SharedTokenizer = SharedTiktoken | SharedHfTokenizer;

/** Options for one encode call. */
export interface EncodeOptions {
  /**
   * Add the post-processor's special tokens (`[CLS] … [SEP]`, `<s> …`) — HF `add_special_tokens`.
   * tiktoken encodings have no post-processor, so this has no effect there.
   * @default true
   */
  addSpecialTokens?: boolean;
  /**
   * Special-token strings recognised in the text. tiktoken encodings default to none
   * (`encode_ordinary`); `"all"` matches every special token (`encode(text, allowed_special="all")`).
   * HF tokenizers always recognise their added tokens, as `tokenizers` does, and ignore this.
   * @default "none" for tiktoken encodings
   */
  allowedSpecial?: "all" | "none" | readonly string[];
}

/** Ids of the special tokens a model defines; `undefined` where the model has none. */
export interface SpecialTokenIds {
  bos: number | undefined;
  eos: number | undefined;
  pad: number | undefined;
  unk: number | undefined;
}

export interface Tokenizer {
  /** The spec it was loaded from (built-in name or path). */
  readonly name: string;
  /** Number of ids: one more than the largest id, added tokens included. */
  readonly vocabSize: number;
  /** bos/eos/pad/unk ids where the model defines them. */
  readonly special: SpecialTokenIds;
  /** Every special-token string and its id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** True when `decode(encode(s)) === s` for every well-formed string. */
  readonly lossless: boolean;

  /**
   * Encode `text`, writing ids into `out` from `offset`; returns how many ids were written.
   * Throws a `RangeError` naming the required size when `out` is too small (nothing is truncated);
   * tokpack's tokenizers throw a `BufferTooSmallError`, whose `needed` is that size.
   */
  encodeInto(text: string, out: Uint32Array, offset?: number, options?: EncodeOptions): number;
  /** Encode `text` into a new `Uint32Array` the caller owns. */
  encode(text: string, options?: EncodeOptions): Uint32Array;
  /** Number of ids `encode(text, options)` would return. */
  countTokens(text: string, options?: EncodeOptions): number;
  /** Decode ids back to text (invalid UTF-8 byte sequences become U+FFFD, as the references do). */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** The vocabulary string of one id, in the file's own representation; undefined when out of range. */
  idToToken(id: number): string | undefined;
  /** The id of one vocabulary string (file representation), or undefined. */
  tokenToId(token: string): number | undefined;
  /** The UTF-8 bytes one id stands for (a view or a fresh array; do not mutate). */
  tokenBytes(id: number): Uint8Array | undefined;
  /**
   * Its tables for other threads (tiktoken encodings, and tokenizer.json files with a BPE or
   * WordPiece model; absent on another `Tokenizer` implementation).
   * The tokenizer keeps working, on the shared copies.
   */
  shareTables?(): SharedTokenizer;
}

export interface DecodeOptions {
  /**
   * Drop special tokens from the output (HF `skip_special_tokens`).
   * @default false
   */
  skipSpecialTokens?: boolean;
}
