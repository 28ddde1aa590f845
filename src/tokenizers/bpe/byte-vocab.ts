/**
 * A byte-level vocabulary: the bytes of every token in one arena, the id of each single byte, and a
 * string → id map for the tokens whose bytes are valid UTF-8 (the whole-piece fast path: most
 * pre-tokenized pieces are one token, found without encoding the piece to bytes).
 */
import { PairTable } from "./pair-table.js";
import { utf8DecodeStrict } from "../utf8.js";

export class ByteVocab {
  /** Concatenated token bytes; token `id` is `arena[offsets[id], offsets[id + 1])`. */
  private readonly arena: Uint8Array;
  private readonly offsets: Uint32Array;
  /** Id of each single byte, -1 when a byte is not a token. */
  readonly byteIds = new Int32Array(256).fill(-1);
  /** Tokens whose bytes are valid UTF-8, keyed by that text. */
  readonly textToId = new Map<string, number>();
  /** Tokens keyed by their bytes as a latin1 string (load-time lookups). */
  private readonly binaryToId = new Map<string, number>();
  /** One more than the largest token id. */
  readonly size: number;

  /** `tokens[id]` is the token's bytes (undefined for ids the file leaves unused). */
  constructor(tokens: ReadonlyArray<Uint8Array | undefined>) {
    this.size = tokens.length;
    let total = 0;
    for (const t of tokens) total += t?.length ?? 0;
    this.arena = new Uint8Array(total);
    this.offsets = new Uint32Array(tokens.length + 1);
    let at = 0;
    for (let id = 0; id < tokens.length; id++) {
      this.offsets[id] = at;
      const t = tokens[id];
      if (!t) continue;
      this.arena.set(t, at);
      at += t.length;
      if (t.length === 1) this.byteIds[t[0]!] = id;
      const bin = Buffer.from(t.buffer, t.byteOffset, t.length).toString("latin1");
      if (!this.binaryToId.has(bin)) this.binaryToId.set(bin, id);
      const text = utf8DecodeStrict(t);
      if (text !== undefined && !this.textToId.has(text)) this.textToId.set(text, id);
    }
    this.offsets[tokens.length] = at;
  }

  /** A view of the token's bytes (empty for unused ids). */
  bytes(id: number): Uint8Array {
    return this.arena.subarray(this.offsets[id], this.offsets[id + 1]);
  }

  has(id: number): boolean {
    return id >= 0 && id < this.size && this.offsets[id + 1]! > this.offsets[id]!;
  }

  /** Id of a byte string given as latin1 text, or undefined. */
  idOfBinary(bin: string): number | undefined {
    return this.binaryToId.get(bin);
  }

  /**
   * tiktoken's merge rule: any two adjacent parts merge when their concatenation is a token, with
   * the merged token's rank as priority. Enumerating every split of every token gives exactly the
   * pairs that rule can ever merge.
   */
  pairsFromRanks(): PairTable {
    const splits: number[] = [];
    for (const [bin, id] of this.binaryToId) {
      for (let k = 1; k < bin.length; k++) {
        const a = this.binaryToId.get(bin.slice(0, k));
        if (a === undefined) continue;
        const b = this.binaryToId.get(bin.slice(k));
        if (b !== undefined) splits.push(a, b, id);
      }
    }
    const table = new PairTable(splits.length / 3);
    for (let i = 0; i < splits.length; i += 3) table.set(splits[i]!, splits[i + 1]!, splits[i + 2]!, splits[i + 2]!);
    return table;
  }
}
