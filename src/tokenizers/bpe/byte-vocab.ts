/**
 * A byte-level vocabulary: the bytes of every token in one arena, the id of each single byte, a
 * string → id map for the tokens whose bytes are valid UTF-8 (the whole-piece fast path: most
 * pre-tokenized pieces are one token, found without encoding the piece to bytes), and a hash index
 * over raw bytes for load-time lookups.
 *
 * Load time matters (cold starts, worker threads): building o200k's pair table with latin1 string
 * slices took ~700 ms; the polynomial-hash index below does it in a fraction, with no strings.
 */
import { isUtf8 } from "node:buffer";
import { PairTable } from "./pair-table.js";
import { sharedCopy } from "./shared-array.js";
import { Utf16Table, type Utf16TableData } from "./utf16-table.js";

const HASH_BASE = 0x01000193;

function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = (Math.imul(h, HASH_BASE) + b[i]!) | 0;
  return h;
}

/** A vocabulary's arrays, as `sharedData()` hands them out. */
export interface ByteVocabData {
  arena: Uint8Array;
  offsets: Uint32Array;
  index: Int32Array;
  byteIds: Int32Array;
  textIndex: Utf16TableData;
  maxTextLength: number;
}

export class ByteVocab {
  /** Concatenated token bytes; token `id` is `arena[offsets[id], offsets[id + 1])`. */
  private readonly arena: Uint8Array;
  private readonly offsets: Uint32Array;
  /** Open-addressing index: byte hash → id + 1 (0 = empty). */
  private readonly index: Int32Array;
  private readonly indexMask: number;
  /** Id of each single byte, -1 when a byte is not a token. */
  readonly byteIds: Int32Array;
  /** Tokens whose bytes are valid UTF-8, keyed by that text (looked up in place in the document). */
  readonly textIndex: Utf16Table;
  /** Length (UTF-16 units) of the longest key of `textIndex`. */
  readonly maxTextLength: number = 0;
  /** One more than the largest token id. */
  readonly size: number;

  /**
   * `tokens[id]` is the token's bytes (undefined for ids the file leaves unused); or the arrays of
   * another vocabulary's `sharedData()`, used in place (a worker thread's copy of the tables).
   */
  constructor(tokens: ReadonlyArray<Uint8Array | undefined> | ByteVocabData) {
    if (!Array.isArray(tokens)) {
      const d = tokens as ByteVocabData;
      this.arena = d.arena;
      this.offsets = d.offsets;
      this.index = d.index;
      this.indexMask = d.index.length - 1;
      this.byteIds = d.byteIds;
      this.textIndex = new Utf16Table(d.textIndex);
      this.maxTextLength = d.maxTextLength;
      this.size = d.offsets.length - 1;
      return;
    }
    this.byteIds = new Int32Array(256).fill(-1);
    this.size = tokens.length;
    let total = 0;
    for (const t of tokens) total += t?.length ?? 0;
    this.arena = new Uint8Array(total);
    this.offsets = new Uint32Array(tokens.length + 1);
    let cap = 1024;
    while (cap < tokens.length * 2) cap *= 2;
    this.index = new Int32Array(cap);
    this.indexMask = cap - 1;
    this.textIndex = new Utf16Table(tokens.length, total);
    let at = 0;
    for (let id = 0; id < tokens.length; id++) {
      this.offsets[id] = at;
      const t = tokens[id];
      if (!t || t.length === 0) continue;
      this.arena.set(t, at);
      at += t.length;
      if (t.length === 1) this.byteIds[t[0]!] = id;
      const h = hashBytes(t, 0, t.length);
      if (this.find(t, 0, t.length, h) < 0) this.insert(h, id);
      if (isUtf8(t)) {
        const text = Buffer.from(t.buffer, t.byteOffset, t.length).toString("utf8");
        this.textIndex.set(text, id);
        if (text.length > this.maxTextLength) this.maxTextLength = text.length;
      }
    }
    this.offsets[tokens.length] = at;
  }

  /** The vocabulary's arrays copied onto SharedArrayBuffers, for `new ByteVocab(data)` in another thread. */
  sharedData(): ByteVocabData {
    return {
      arena: sharedCopy(this.arena),
      offsets: sharedCopy(this.offsets),
      index: sharedCopy(this.index),
      byteIds: sharedCopy(this.byteIds),
      textIndex: this.textIndex.sharedData(),
      maxTextLength: this.maxTextLength,
    };
  }

  private insert(hash: number, id: number): void {
    let slot = hash & this.indexMask;
    while (this.index[slot] !== 0) slot = (slot + 1) & this.indexMask;
    this.index[slot] = id + 1;
  }

  /** Id of the token whose bytes are `b[start, end)`, or -1. */
  find(b: Uint8Array, start: number, end: number, hash = hashBytes(b, start, end)): number {
    const len = end - start;
    let slot = hash & this.indexMask;
    for (;;) {
      const entry = this.index[slot]!;
      if (entry === 0) return -1;
      const id = entry - 1;
      const off = this.offsets[id]!;
      if (this.offsets[id + 1]! - off === len) {
        let same = true;
        for (let i = 0; i < len; i++) {
          if (this.arena[off + i] !== b[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return id;
      }
      slot = (slot + 1) & this.indexMask;
    }
  }

  /** Id of the token whose bytes are the UTF-8 of `text`, or undefined. */
  idOfText(text: string): number | undefined {
    const id = this.textIndex.get(text);
    return id < 0 ? undefined : id;
  }

  /** A view of the token's bytes (empty for unused ids). */
  bytes(id: number): Uint8Array {
    return this.arena.subarray(this.offsets[id], this.offsets[id + 1]);
  }

  /** Length of the token's bytes (0 for unused ids); `id` must be below `size`. */
  byteLength(id: number): number {
    return this.offsets[id + 1]! - this.offsets[id]!;
  }

  /**
   * Copies the token's bytes to `out` at `at`; returns the end. A byte loop, no view: tokens are a
   * few bytes long, and a `subarray` per token made decoding ~4× slower than tiktoken's.
   */
  copyBytes(id: number, out: Uint8Array, at: number): number {
    const arena = this.arena;
    const end = this.offsets[id + 1]!;
    for (let i = this.offsets[id]!; i < end; i++) out[at++] = arena[i]!;
    return at;
  }

  has(id: number): boolean {
    return id >= 0 && id < this.size && this.offsets[id + 1]! > this.offsets[id]!;
  }

  /**
   * tiktoken's merge rule: any two adjacent parts merge when their concatenation is a token, with
   * the merged token's rank as priority. Enumerating every split of every token gives exactly the
   * pairs that rule can ever merge.
   */
  pairsFromRanks(): PairTable {
    const arena = this.arena;
    const found: number[] = [];
    const prefix = new Int32Array(1024);
    const power = new Int32Array(1024);
    power[0] = 1;
    for (let i = 1; i < power.length; i++) power[i] = Math.imul(power[i - 1]!, HASH_BASE);
    for (let id = 0; id < this.size; id++) {
      const start = this.offsets[id]!;
      const end = this.offsets[id + 1]!;
      const len = end - start;
      if (len < 2 || len > 1023) continue;
      let h = 0;
      for (let i = 0; i < len; i++) {
        h = (Math.imul(h, HASH_BASE) + arena[start + i]!) | 0;
        prefix[i + 1] = h;
      }
      if (this.find(arena, start, end, h) !== id) continue; // a duplicate of an earlier token
      for (let k = 1; k < len; k++) {
        const a = this.find(arena, start, start + k, prefix[k]!);
        if (a < 0) continue;
        const suffixHash = (h - Math.imul(prefix[k]!, power[len - k]!)) | 0;
        const b = this.find(arena, start + k, end, suffixHash);
        if (b >= 0) found.push(a, b, id);
      }
    }
    const table = new PairTable(found.length / 3);
    for (let i = 0; i < found.length; i += 3) table.set(found[i]!, found[i + 1]!, found[i + 2]!, found[i + 2]!);
    return table;
  }
}
