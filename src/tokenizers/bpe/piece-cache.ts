/**
 * A bounded cache from piece text to its ids. Keys live in a Utf16Table (looked up in place in the
 * document's units, no substring), ids in one Uint32Array arena; the table holds `offset * 64 +
 * length`. When the table, its key arena or the id arena is full, everything is cleared: memory
 * stays flat and throughput stays steady over any run (an unbounded cache, as gpt-tokenizer's,
 * slows 1.5–3× once it holds millions of strings).
 *
 * Size: 64 Ki entries (4 MiB of slots, 2 MiB of ids, touched as they fill). At 32 Ki, a
 * tokenizer.json without `ignore_merges` (every piece goes through the cache, as gpt-3.5-turbo's)
 * took 4.55 s on the pipeline benchmark's 100k English documents: the distinct pieces of English
 * outgrew it, the cache was cleared over and over, and the merges ran again; at 64 Ki, 2.7 s (the
 * same at 128 Ki).
 */
import { Utf16Table } from "./utf16-table.js";

const MAX_IDS = 63;

export class PieceCache {
  private readonly table: Utf16Table;
  private readonly arena: Uint32Array;
  private used = 0;

  constructor(
    private readonly maxEntries = 1 << 16,
    arenaSize = 1 << 19,
  ) {
    // keys of up to 10 units are kept in the table's slots; its arena holds longer ones, and grows
    this.table = new Utf16Table(maxEntries, maxEntries);
    this.arena = new Uint32Array(arenaSize);
  }

  /**
   * Copies the cached ids of `units[start, end)` (whose `hashUnitsPacked` is `hash`, with the words
   * it filled in `key`) to `out[pos..]`; returns how many, or -1 on a miss / no room.
   */
  copyTo(units: Uint16Array, start: number, end: number, hash: number, key: Int32Array, out: Uint32Array, pos: number): number {
    const packed = this.table.getHashed(units, start, end, hash, key);
    if (packed < 0) return -1;
    const n = packed & 63;
    if (pos + n > out.length) return -1;
    const arena = this.arena;
    for (let i = 0, at = (packed - n) / 64; i < n; i++) out[pos + i] = arena[at + i]!;
    return n;
  }

  /** Remembers `ids[from, from + n)` for `units[start, end)` (ignored when n is larger than the cache keeps). */
  put(units: Uint16Array, start: number, end: number, ids: Uint32Array, from: number, n: number): void {
    if (n > MAX_IDS) return;
    if (this.table.size >= this.maxEntries || this.table.keyUnits > this.maxEntries * 8 || this.used + n > this.arena.length) {
      this.table.clear();
      this.used = 0;
    }
    const at = this.used;
    for (let i = 0; i < n; i++) this.arena[at + i] = ids[from + i]!;
    this.used += n;
    this.table.setUnits(units, start, end, at * 64 + n);
  }
}
