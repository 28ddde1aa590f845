/**
 * Encodes one pre-tokenized piece with byte-level BPE, in tiktoken's order: whole-piece lookup
 * (when the model allows it), then a bounded cache of recent multi-token pieces, then the merge
 * over the piece's UTF-8 bytes.
 *
 * Performance notes: the cache is bounded (PieceCache) so throughput and memory stay flat over long
 * runs — an unbounded one, as gpt-tokenizer's, slows 1.5–3× once it holds millions of strings.
 */
import { ByteVocab } from "./byte-vocab.js";
import { BpeMerger } from "./merge.js";
import type { PairTable } from "./pair-table.js";
import { utf8EncodeRange } from "../utf8.js";
import { OutOfSpace } from "../hf/components.js";
import { PieceCache } from "./piece-cache.js";
import { TextUnits } from "./text-units.js";
import { hashUnitsPacked, PACKED_WORDS } from "./utf16-table.js";

/** Pieces longer than this (UTF-16 units) are neither looked up whole nor cached: hashing them costs more than it saves. */
const MAX_CACHED_PIECE = 48;

export class ByteBpeEncoder {
  readonly vocab: ByteVocab;
  private readonly merger: BpeMerger;
  private readonly wholePiece: boolean;
  private readonly cache = new PieceCache();
  private bytes = new Uint8Array(1024);
  /** The piece's packed key words (`hashUnitsPacked`), for the vocabulary and the cache. */
  private readonly key = new Int32Array(PACKED_WORDS);
  private readonly units = new TextUnits();

  /**
   * @param wholePiece look a piece up as one token before merging (tiktoken; HF `ignore_merges`).
   */
  constructor(vocab: ByteVocab, pairs: PairTable, wholePiece: boolean) {
    this.vocab = vocab;
    this.merger = new BpeMerger(pairs);
    this.wholePiece = wholePiece;
  }

  /**
   * Writes the ids of `text[start, end)` to `out` from `pos`; returns the new position. Calls for
   * pieces of one text share its units (`TextUnits` keeps the last text's).
   */
  encode(text: string, start: number, end: number, out: Uint32Array, pos: number): number {
    return this.encodeUnits(text, this.units.of(text), start, end, out, pos);
  }

  /** `encode`, given `text`'s UTF-16 units (`TextUnits.of(text)`). */
  encodeUnits(text: string, units: Uint16Array, start: number, end: number, out: Uint32Array, pos: number): number {
    const len = end - start;
    const short = len <= MAX_CACHED_PIECE;
    const key = this.key;
    const hash = short || len <= this.vocab.maxTextLength ? hashUnitsPacked(units, start, end, key) : 0;
    if (this.wholePiece && len <= this.vocab.maxTextLength) {
      const id = this.vocab.textIndex.getHashed(units, start, end, hash, key);
      if (id >= 0) {
        if (pos >= out.length) throw new OutOfSpace();
        out[pos] = id;
        return pos + 1;
      }
    }
    if (short) {
      const n = this.cache.copyTo(units, start, end, hash, key, out, pos);
      if (n >= 0) return pos + n;
    }
    const next = this.mergePiece(text, start, end, out, pos);
    if (short) this.cache.put(units, start, end, out, pos, next - pos);
    return next;
  }

  /** Runs the merge over the piece's UTF-8 bytes, writing ids to `out` from `pos`. */
  private mergePiece(text: string, start: number, end: number, out: Uint32Array, pos: number): number {
    const need = (end - start) * 3;
    if (this.bytes.length < need) this.bytes = new Uint8Array(need * 2);
    const bytes = this.bytes;
    const nb = utf8EncodeRange(text, start, end, bytes, 0);
    const sym = this.merger.symbols(nb);
    const byteIds = this.vocab.byteIds;
    for (let i = 0; i < nb; i++) sym[i] = byteIds[bytes[i]!]!;
    return this.merger.merge(nb, out, pos);
  }
}
