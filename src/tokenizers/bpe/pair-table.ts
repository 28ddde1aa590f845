/**
 * Open-addressing hash table from a pair of token ids (left, right) to the merge it makes:
 * its priority (lower merges first) and the id of the merged token. Flat typed arrays, no
 * per-entry objects, so a lookup in the merge loop allocates nothing.
 */
export const NO_MERGE = 0xffffffff;

export class PairTable {
  private readonly left: Int32Array;
  private readonly right: Uint32Array;
  /** Merge priority per slot (tiktoken: the merged token's rank; HF: the merges-list index). */
  readonly priority: Uint32Array;
  /** Merged token id per slot. */
  readonly merged: Uint32Array;
  private readonly mask: number;
  private count = 0;

  constructor(expectedEntries: number) {
    let cap = 1024;
    while (cap < expectedEntries * 2) cap *= 2;
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Uint32Array(cap);
    this.priority = new Uint32Array(cap);
    this.merged = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds a merge; an existing pair keeps its lower priority (first listed wins, as in HF). */
  set(a: number, b: number, priority: number, merged: number): void {
    if (this.count * 2 >= this.left.length) throw new Error("PairTable over capacity");
    let slot = hashPair(a, b) & this.mask;
    for (;;) {
      const k = this.left[slot]!;
      if (k === -1) {
        this.left[slot] = a;
        this.right[slot] = b;
        this.priority[slot] = priority;
        this.merged[slot] = merged;
        this.count++;
        return;
      }
      if (k === a && this.right[slot] === b) {
        if (priority < this.priority[slot]!) {
          this.priority[slot] = priority;
          this.merged[slot] = merged;
        }
        return;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** Slot of the pair, or -1 when the pair does not merge. */
  find(a: number, b: number): number {
    const left = this.left;
    let slot = hashPair(a, b) & this.mask;
    for (;;) {
      const k = left[slot]!;
      if (k === a && this.right[slot] === b) return slot;
      if (k === -1) return -1;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Priority of merging (a, b), or NO_MERGE. */
  priorityOf(a: number, b: number): number {
    const slot = this.find(a, b);
    return slot < 0 ? NO_MERGE : this.priority[slot]!;
  }
}

function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}
