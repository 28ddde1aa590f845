/**
 * Encoding into a buffer that grows: the one place that reacts to `encodeInto`'s "buffer too small"
 * error, for callers that keep a reusable scratch (`tokpack encode`, the pipeline's chunk builder).
 */
import type { EncodeOptions, Tokenizer } from "./types.js";

/** `encodeInto` ran out of room; `needed` is the buffer length (offset included) that fits the text. */
export class BufferTooSmallError extends RangeError {
  constructor(
    message: string,
    readonly needed: number,
  ) {
    super(message);
    this.name = "RangeError";
  }
}

/**
 * Encode `text` into `buf` from `offset`. When `buf` is too small, a larger buffer (at least twice
 * as long) is made, `buf[0, offset)` copied into it, and the text encoded there. Returns the buffer
 * that holds the ids (`buf` or its replacement) and how many were written.
 */
export function encodeIntoGrowable<B extends Uint32Array>(tok: Tokenizer, text: string, buf: B, offset: number, options?: EncodeOptions): { buf: B | Uint32Array<ArrayBuffer>; count: number } {
  try {
    return { buf, count: tok.encodeInto(text, buf, offset, options) };
  } catch (err) {
    if (!(err instanceof RangeError) || offset > buf.length) throw err;
    // tokpack's tokenizers say how much room they need; another Tokenizer is asked to count
    const needed = err instanceof BufferTooSmallError ? err.needed : offset + tok.countTokens(text, options);
    if (needed <= buf.length) throw err;
    const grown = new Uint32Array(Math.max(needed, 2 * buf.length));
    grown.set(buf.subarray(0, offset));
    return { buf: grown, count: tok.encodeInto(text, grown, offset, options) };
  }
}
