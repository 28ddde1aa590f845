/**
 * Indexes over the open rows of a window that answer "which row takes a piece of n tokens" in
 * O(L/32) (best fit) or O(log rows) (first fit) instead of scanning every row: a window of 2048
 * pieces packs in well under a millisecond.
 */

/** Picks a row for a piece; returns -1 when no open row has room. */
export interface FitIndex {
  /** Forget every row (start of a window) with room for up to `maxRows` rows. */
  reset(maxRows: number): void;
  /** Row index that should take `n` tokens, or -1. Does not change the index. */
  find(n: number): number;
  /** Record that `row` now has `remaining` free tokens (a new row, or after placing into it). */
  update(row: number, previous: number, remaining: number): void;
}

/**
 * Best fit: the open row with the least room that still fits; ties go to the row placed into most
 * recently. Rows are bucketed by remaining capacity (a stack per capacity) and a bitset marks the
 * non-empty buckets, so a query scans at most L/32 words.
 */
export class BestFitIndex implements FitIndex {
  private readonly buckets: number[][] = [];
  private readonly bits: Uint32Array;

  constructor(seqLen: number) {
    for (let c = 0; c <= seqLen; c++) this.buckets.push([]);
    this.bits = new Uint32Array((seqLen >>> 5) + 1);
  }

  reset(_maxRows: number): void {
    for (const b of this.buckets) b.length = 0;
    this.bits.fill(0);
  }

  find(n: number): number {
    let w = n >>> 5;
    let word = (this.bits[w] ?? 0) & (~0 << (n & 31));
    while (word === 0) {
      w++;
      if (w >= this.bits.length) return -1;
      word = this.bits[w] ?? 0;
    }
    const cap = (w << 5) + (31 - Math.clz32(word & -word));
    const bucket = this.buckets[cap]!;
    return bucket[bucket.length - 1]!;
  }

  update(row: number, previous: number, remaining: number): void {
    if (previous > 0) {
      const b = this.buckets[previous]!;
      // The row being updated is always the one find() returned: the top of its bucket.
      b.pop();
      if (b.length === 0) this.bits[previous >>> 5]! &= ~(1 << (previous & 31));
    }
    if (remaining > 0) {
      this.buckets[remaining]!.push(row);
      this.bits[remaining >>> 5]! |= 1 << (remaining & 31);
    }
  }
}

/** First fit: the earliest-opened row with room. A max segment tree over rows' remaining capacity. */
export class FirstFitIndex implements FitIndex {
  private tree = new Int32Array(2);
  private size = 1;

  reset(maxRows: number): void {
    let size = 1;
    while (size < maxRows) size <<= 1;
    if (size * 2 > this.tree.length) this.tree = new Int32Array(size * 2);
    else this.tree.fill(0);
    this.size = size;
  }

  find(n: number): number {
    const t = this.tree;
    if ((t[1] ?? 0) < n) return -1;
    let i = 1;
    while (i < this.size) i = (t[2 * i] ?? 0) >= n ? 2 * i : 2 * i + 1;
    return i - this.size;
  }

  update(row: number, _previous: number, remaining: number): void {
    const t = this.tree;
    let i = row + this.size;
    t[i] = remaining;
    for (i >>= 1; i >= 1; i >>= 1) t[i] = Math.max(t[2 * i] ?? 0, t[2 * i + 1] ?? 0);
  }
}
