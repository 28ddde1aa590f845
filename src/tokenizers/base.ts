/**
 * What every tokenizer family shares: the `encodeInto` contract (RangeError naming the needed size,
 * never truncation), `encode`/`countTokens` on a reused growable scratch buffer, and `decode` from
 * token bytes. Families implement `encodeCore` and `tokenBytes`.
 */
import { BufferTooSmallError } from "./grow.js";
import { OutOfSpace } from "./hf/components.js";
import type { DecodeOptions, EncodeOptions, SpecialTokenIds, Tokenizer } from "./types.js";
import { utf8DecodeLossy } from "./utf8.js";

export abstract class BaseTokenizer implements Tokenizer {
  abstract readonly name: string;
  abstract readonly vocabSize: number;
  abstract readonly special: SpecialTokenIds;
  abstract readonly specialTokens: ReadonlyMap<string, number>;
  abstract readonly lossless: boolean;
  private scratch = new Uint32Array(4096);

  /** Writes ids from `pos`, returns the end position; throws OutOfSpace when `out` is full. */
  protected abstract encodeCore(text: string, out: Uint32Array, pos: number, options: EncodeOptions | undefined): number;
  abstract tokenBytes(id: number): Uint8Array | undefined;
  abstract idToToken(id: number): string | undefined;
  abstract tokenToId(token: string): number | undefined;

  encodeInto(text: string, out: Uint32Array, offset = 0, options?: EncodeOptions): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > out.length) {
      throw new RangeError(`encodeInto: offset ${offset} is outside the buffer (length ${out.length})`);
    }
    try {
      return this.encodeCore(text, out, offset, options) - offset;
    } catch (err) {
      if (!(err instanceof OutOfSpace)) throw err;
      const need = this.countTokens(text, options);
      throw new BufferTooSmallError(
        `encodeInto: the text needs ${need} ids but the buffer has room for ${out.length - offset} ` +
          `(length ${out.length}, offset ${offset}); pass a buffer of at least ${offset + need}`,
        offset + need,
      );
    }
  }

  encode(text: string, options?: EncodeOptions): Uint32Array {
    return this.encodeScratch(text, options).slice();
  }

  countTokens(text: string, options?: EncodeOptions): number {
    return this.encodeScratch(text, options).length;
  }

  /** Encodes into the internal scratch (grown until it fits) and returns a view of the ids. */
  private encodeScratch(text: string, options: EncodeOptions | undefined): Uint32Array {
    for (;;) {
      try {
        const n = this.encodeCore(text, this.scratch, 0, options);
        return this.scratch.subarray(0, n);
      } catch (err) {
        if (!(err instanceof OutOfSpace)) throw err;
        this.scratch = new Uint32Array(Math.max(this.scratch.length * 2, text.length + 64));
      }
    }
  }

  /** The ids' bytes (`decodedLength` / `copyDecoded` per id), concatenated and decoded once, lossily. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    const skip = options?.skipSpecialTokens === true;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (skip && this.isSpecial(id)) continue;
      total += this.decodedLength(id);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (skip && this.isSpecial(id)) continue;
      at = this.copyDecoded(id, bytes, at);
    }
    return utf8DecodeLossy(bytes);
  }

  /** Bytes `decode` writes for `id` (0 for an unknown id). Families with their bytes in one arena override both hooks. */
  protected decodedLength(id: number): number {
    return this.tokenBytes(id)?.length ?? 0;
  }

  /** Writes `id`'s bytes for `decode` to `out` at `at`; returns the end. */
  protected copyDecoded(id: number, out: Uint8Array, at: number): number {
    const b = this.tokenBytes(id);
    if (b === undefined) return at;
    out.set(b, at);
    return at + b.length;
  }

  private specialIds: Set<number> | undefined;
  protected isSpecial(id: number): boolean {
    this.specialIds ??= new Set(this.specialTokens.values());
    return this.specialIds.has(id);
  }
}
