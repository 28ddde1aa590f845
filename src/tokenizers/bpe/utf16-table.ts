/**
 * A hash table keyed by a span of a JavaScript string — `(text, start, end)` — so pieces are looked
 * up where they lie in the document, without slicing a substring first. Keys are stored as UTF-16
 * units in one arena; values are int32. Used for the whole-piece vocabulary lookup and the piece cache.
 *
 * Performance notes: a `Map<string, number>` needs `text.slice()` per piece (an allocation, then
 * V8 hashes the fresh string) and its 200k-entry backing store is pointer-chasing; measured on
 * o200k/multi, the slice + Map lookups were ~22% of encode time, the largest single cost.
 */
import { sharedCopy } from "./shared-array.js";

/** A table's arrays and entry count, as `sharedData()` hands them out (keys trimmed to the units used). */
export interface Utf16TableData {
  slots: Int32Array;
  keys: Uint16Array;
  count: number;
}

export class Utf16Table {
  /** Per slot: key hash, value, key offset in the arena, key length; length -1 = empty slot. */
  private slots: Int32Array;
  private mask: number;
  private keys: Uint16Array;
  private used = 0;
  private count = 0;

  /** An empty table sized for `expected` entries, or one over the arrays of `sharedData()` (used in place, not copied). */
  constructor(expected: number | Utf16TableData = 1024, expectedKeyUnits = typeof expected === "number" ? expected * 4 : 0) {
    if (typeof expected !== "number") {
      this.slots = expected.slots;
      this.mask = expected.slots.length / 4 - 1;
      this.keys = expected.keys;
      this.used = expected.keys.length;
      this.count = expected.count;
      return;
    }
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap * 4);
    this.mask = cap - 1;
    this.clearSlots();
    this.keys = new Uint16Array(Math.max(1024, expectedKeyUnits));
  }

  /**
   * The table's arrays, copied onto SharedArrayBuffers, for `new Utf16Table(data)` in another
   * thread. A table built that way must not be written to (`set` would grow it apart from the
   * others, or write under their feet).
   */
  sharedData(): Utf16TableData {
    return { slots: sharedCopy(this.slots), keys: sharedCopy(this.keys.subarray(0, this.used)), count: this.count };
  }

  get size(): number {
    return this.count;
  }

  /** Key units stored (for bounding a cache). */
  get keyUnits(): number {
    return this.used;
  }

  private clearSlots(): void {
    const slots = this.slots;
    for (let i = 3; i < slots.length; i += 4) slots[i] = -1;
  }

  /** Removes every entry; memory is kept for reuse. */
  clear(): void {
    this.clearSlots();
    this.used = 0;
    this.count = 0;
  }

  /** The value stored for `text[start, end)`, or -1. Values must be non-negative. */
  get(text: string, start: number, end: number): number {
    return this.getHashed(text, start, end, hashSpan(text, start, end));
  }

  /** `get` with the span's `hashSpan` already computed (one hash serves several tables). */
  getHashed(text: string, start: number, end: number, h: number): number {
    const len = end - start;
    const slots = this.slots;
    const keys = this.keys;
    let slot = (h ^ (h >>> 16)) & this.mask;
    for (;;) {
      const at = slot * 4;
      const klen = slots[at + 3]!;
      if (klen === -1) return -1;
      if (slots[at] === h && klen === len) {
        const off = slots[at + 2]!;
        let i = 0;
        while (i < len && keys[off + i] === text.charCodeAt(start + i)) i++;
        if (i === len) return slots[at + 1]!;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** Stores `value` for `text[start, end)` (keeps the first value when the key is present). */
  set(text: string, start: number, end: number, value: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const len = end - start;
    if (this.used + len > this.keys.length) {
      const bigger = new Uint16Array(Math.max(this.keys.length * 2, this.used + len));
      bigger.set(this.keys.subarray(0, this.used));
      this.keys = bigger;
    }
    const h = hashSpan(text, start, end);
    if (this.getHashed(text, start, end, h) !== -1) return;
    const off = this.used;
    for (let i = 0; i < len; i++) this.keys[off + i] = text.charCodeAt(start + i);
    this.used += len;
    this.insertSlot(h, value, off, len);
    this.count++;
  }

  private insertSlot(h: number, value: number, off: number, len: number): void {
    const slots = this.slots;
    let slot = (h ^ (h >>> 16)) & this.mask;
    while (slots[slot * 4 + 3] !== -1) slot = (slot + 1) & this.mask;
    const at = slot * 4;
    slots[at] = h;
    slots[at + 1] = value;
    slots[at + 2] = off;
    slots[at + 3] = len;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    this.clearSlots();
    for (let at = 0; at < old.length; at += 4) {
      if (old[at + 3] !== -1) this.insertSlot(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!);
    }
  }
}

/** FNV-1a over the UTF-16 units of `text[start, end)`: the hash every Utf16Table uses. */
export function hashSpan(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}
