/**
 * Open-addressing hash table from a pair of token ids (left, right) to the merge it makes:
 * its priority (lower merges first) and the id of the merged token. One interleaved Int32Array
 * (left, right, priority, merged per slot) so a probe touches one cache line, not four; no
 * per-entry objects, so a lookup in the merge loop allocates nothing.
 */
import { sharedCopy } from "./shared-array.js";

export const NO_MERGE = 0xffffffff;

/** Pairs of ids below this go to a dense table: every byte-level piece starts with byte-pair lookups. */
const DENSE = 256;

/** A pair table's arrays and entry count, as `sharedData()` hands them out. */
export interface PairTableData {
  slots: Int32Array;
  dense: Int32Array;
  sides: Uint8Array;
  count: number;
}

export class PairTable {
  /** Slot i holds [left, right, priority, merged] at 4i; left = -1 marks an empty slot. */
  private readonly slots: Int32Array;
  /** [priority, merged] for a, b < DENSE at 2 * (a * DENSE + b); priority -1 = no merge. */
  private readonly dense: Int32Array;
  /**
   * Bit 1: the id is the left side of some merge; bit 2: the right side. Most lookups that fail
   * (every pair left when a piece is done) are answered here, in a small array, without hashing.
   */
  private sides: Uint8Array;
  private readonly mask: number;
  private count = 0;

  /** An empty table sized for `expected` entries, or one over the arrays of `sharedData()` (used in place, not copied). */
  constructor(expected: number | PairTableData) {
    if (typeof expected !== "number") {
      this.slots = expected.slots;
      this.dense = expected.dense;
      this.sides = expected.sides;
      this.mask = expected.slots.length / 4 - 1;
      this.count = expected.count;
      return;
    }
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap * 4).fill(-1);
    this.dense = new Int32Array(DENSE * DENSE * 2).fill(-1);
    this.sides = new Uint8Array(1024);
    this.mask = cap - 1;
  }

  /** The table's arrays copied onto SharedArrayBuffers, for `new PairTable(data)` in another thread (which must not `set`). */
  sharedData(): PairTableData {
    return { slots: sharedCopy(this.slots), dense: sharedCopy(this.dense), sides: sharedCopy(this.sides), count: this.count };
  }

  get size(): number {
    return this.count;
  }

  /** Adds a merge; an existing pair keeps its lower priority (first listed wins, as in HF). */
  set(a: number, b: number, priority: number, merged: number): void {
    if (this.count * 2 >= this.mask + 1) throw new Error("PairTable over capacity");
    const top = Math.max(a, b);
    if (top >= this.sides.length) {
      const bigger = new Uint8Array(Math.max(top + 1, this.sides.length * 2));
      bigger.set(this.sides);
      this.sides = bigger;
    }
    this.sides[a]! |= 1;
    this.sides[b]! |= 2;
    if (a < DENSE && b < DENSE) {
      const at = 2 * (a * DENSE + b);
      const old = this.dense[at]!;
      if (old === -1 || priority >>> 0 < old >>> 0) {
        this.dense[at] = priority;
        this.dense[at + 1] = merged;
      }
    }
    const slots = this.slots;
    let slot = hashPair(a, b) & this.mask;
    for (;;) {
      const at = slot * 4;
      const k = slots[at]!;
      if (k === -1) {
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = priority;
        slots[at + 3] = merged;
        this.count++;
        return;
      }
      if (k === a && slots[at + 1] === b) {
        if (priority >>> 0 < slots[at + 2]! >>> 0) {
          slots[at + 2] = priority;
          slots[at + 3] = merged;
        }
        return;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** Index into the slot array of the pair, or -1. */
  find(a: number, b: number): number {
    const slots = this.slots;
    let slot = hashPair(a, b) & this.mask;
    for (;;) {
      const at = slot * 4;
      const k = slots[at]!;
      if (k === a && slots[at + 1] === b) return at;
      if (k === -1) return -1;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Merged id found by the last `lookup` that returned a priority. */
  lastMerged = 0;

  /**
   * Priority of merging (a, b), or NO_MERGE; on a hit also leaves the merged id in `lastMerged`, so
   * the merge loop gets both from one probe instead of two.
   */
  lookup(a: number, b: number): number {
    if (a < DENSE && b < DENSE) {
      const at = 2 * (a * DENSE + b);
      this.lastMerged = this.dense[at + 1]! >>> 0;
      return this.dense[at]! >>> 0;
    }
    const sides = this.sides;
    if (((sides[a] ?? 0) & 1) === 0 || ((sides[b] ?? 0) & 2) === 0) return NO_MERGE;
    const found = this.find(a, b);
    if (found < 0) return NO_MERGE;
    this.lastMerged = this.slots[found + 3]! >>> 0;
    return this.slots[found + 2]! >>> 0;
  }

  /** Priority of merging (a, b), or NO_MERGE. */
  priorityOf(a: number, b: number): number {
    if (a < DENSE && b < DENSE) return this.dense[2 * (a * DENSE + b)]! >>> 0;
    const sides = this.sides;
    if (((sides[a] ?? 0) & 1) === 0 || ((sides[b] ?? 0) & 2) === 0) return NO_MERGE;
    const found = this.find(a, b);
    return found < 0 ? NO_MERGE : this.slots[found + 2]! >>> 0;
  }

}

function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}
