/**
 * A bounded cache from piece text to its ids. Ids live in one Uint32Array arena and the map holds
 * `offset * 64 + length` numbers, so a cached piece costs no typed-array object. When the arena or
 * the map is full, both are cleared: memory stays flat and throughput stays steady over any run.
 */
const MAX_IDS = 63;

export class PieceCache {
  private readonly map = new Map<string, number>();
  private readonly arena: Uint32Array;
  private used = 0;

  constructor(
    private readonly maxEntries = 1 << 15,
    arenaSize = 1 << 18,
  ) {
    this.arena = new Uint32Array(arenaSize);
  }

  /** Copies the cached ids of `piece` to `out[pos..]` and returns how many, or -1 on a miss / no room. */
  copyTo(piece: string, out: Uint32Array, pos: number): number {
    const packed = this.map.get(piece);
    if (packed === undefined) return -1;
    const n = packed & 63;
    if (pos + n > out.length) return -1;
    const arena = this.arena;
    for (let i = 0, at = (packed - n) / 64; i < n; i++) out[pos + i] = arena[at + i]!;
    return n;
  }

  /** Remembers `ids[from, from + n)` for `piece` (ignored when n is larger than the cache keeps). */
  put(piece: string, ids: Uint32Array, from: number, n: number): void {
    if (n > MAX_IDS) return;
    if (this.map.size >= this.maxEntries || this.used + n > this.arena.length) {
      this.map.clear();
      this.used = 0;
    }
    const at = this.used;
    for (let i = 0; i < n; i++) this.arena[at + i] = ids[from + i]!;
    this.used += n;
    this.map.set(piece, at * 64 + n);
  }
}
