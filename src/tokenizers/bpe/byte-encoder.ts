/**
 * Encodes one pre-tokenized piece with byte-level BPE, in tiktoken's order: whole-piece lookup
 * (when the model allows it), then a bounded cache of recent multi-token pieces, then the merge
 * over the piece's UTF-8 bytes.
 *
 * Performance notes: the cache is a Map cleared when it reaches CACHE_LIMIT entries. A bounded
 * cache keeps throughput and memory flat over long runs (an unbounded one, as gpt-tokenizer's,
 * slows 1.5–3× once it holds millions of strings); clearing costs one re-warm of common words.
 */
import { ByteVocab } from "./byte-vocab.js";
import { BpeMerger } from "./merge.js";
import type { PairTable } from "./pair-table.js";
import { utf8EncodeRange } from "../utf8.js";
import { OutOfSpace } from "../hf/components.js";

const CACHE_LIMIT = 1 << 15;

export class ByteBpeEncoder {
  readonly vocab: ByteVocab;
  private readonly merger: BpeMerger;
  private readonly wholePiece: boolean;
  private readonly cache = new Map<string, Uint32Array>();
  private bytes = new Uint8Array(1024);
  private scratch = new Uint32Array(1024);

  /**
   * @param wholePiece look a piece up as one token before merging (tiktoken; HF `ignore_merges`).
   */
  constructor(vocab: ByteVocab, pairs: PairTable, wholePiece: boolean) {
    this.vocab = vocab;
    this.merger = new BpeMerger(pairs);
    this.wholePiece = wholePiece;
  }

  /** Writes the ids of `text[start, end)` to `out` from `pos`; returns the new position. */
  encode(text: string, start: number, end: number, out: Uint32Array, pos: number): number {
    const piece = end - start === text.length ? text : text.slice(start, end);
    if (this.wholePiece) {
      const id = this.vocab.textToId.get(piece);
      if (id !== undefined) {
        if (pos >= out.length) throw new OutOfSpace();
        out[pos] = id;
        return pos + 1;
      }
    }
    const hit = this.cache.get(piece);
    if (hit !== undefined) {
      if (pos + hit.length > out.length) throw new OutOfSpace();
      out.set(hit, pos);
      return pos + hit.length;
    }
    const n = this.mergePiece(piece);
    const ids = this.scratch;
    if (pos + n > out.length) throw new OutOfSpace();
    out.set(ids.subarray(0, n), pos);
    if (n > 1 && piece.length < 256) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(piece, ids.slice(0, n));
    }
    return pos + n;
  }

  /** Runs the merge over the piece's bytes; the ids land in `this.scratch[0..n)`. */
  private mergePiece(piece: string): number {
    const need = piece.length * 3;
    if (this.bytes.length < need) this.bytes = new Uint8Array(need * 2);
    if (this.scratch.length < need) this.scratch = new Uint32Array(need * 2);
    const bytes = this.bytes;
    const nb = utf8EncodeRange(piece, 0, piece.length, bytes, 0);
    const sym = this.merger.symbols(nb);
    const byteIds = this.vocab.byteIds;
    for (let i = 0; i < nb; i++) sym[i] = byteIds[bytes[i]!]!;
    return this.merger.merge(nb, this.scratch, 0);
  }
}
