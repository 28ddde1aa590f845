/**
 * A hash table keyed by a span of UTF-16 units — `(units, start, end)`, the units of a document
 * (`TextUnits`) — so pieces are looked up where they lie in the document, without slicing a
 * substring first. Short keys are stored in their slot, longer ones as UTF-16 units in one arena;
 * values are int32. Used for the whole-piece vocabulary lookup and the piece cache.
 *
 * Performance notes: a `Map<string, number>` needs `text.slice()` per piece (an allocation, then
 * V8 hashes the fresh string) and its 200k-entry backing store is pointer-chasing; measured on
 * o200k/multi, the slice + Map lookups were ~22% of encode time, the largest single cost.
 */
import { sharedCopy } from "./shared-array.js";
import { TextUnits } from "./text-units.js";

/** A table's arrays and entry count, as `sharedData()` hands them out (keys trimmed to the units used). */
export interface Utf16TableData {
  slots: Int32Array;
  keys: Uint16Array;
  count: number;
}

/** Int32s per slot: hash, value, key length (0 = empty), then the key inline or its arena offset. */
const STRIDE = 8;
/** Keys of up to this many UTF-16 units are stored in their slot, two units per int32. */
const INLINE_UNITS = (STRIDE - 3) * 2;
/** Length of the scratch {@link hashUnitsPacked} fills: a short key's slot words. */
export const PACKED_WORDS = STRIDE - 3;

export class Utf16Table {
  /**
   * Per slot of {@link STRIDE} int32s: key hash, value, key length (0 = empty slot: keys are never
   * empty, and a fresh array then needs no clearing, so its pages are not touched until used), then
   * either the key itself (up to INLINE_UNITS units, two per int32, low half first) or its offset in
   * `keys`. A slot is 32 bytes, half a cache line: a lookup of a short key reads one line, where a
   * key in the arena costs a second one. Measured with cl100k on 100k English documents (warm
   * passes): 2.30–2.36 s with keys inline, 2.44–2.72 s with 16-byte slots and every key in the arena.
   */
  private slots: Int32Array;
  private mask: number;
  /** Keys longer than INLINE_UNITS. */
  private keys: Uint16Array;
  private used = 0;
  private count = 0;
  /** `hashUnitsPacked`'s words, and the key's units, for `get` and `set`. */
  private readonly scratch = new Int32Array(PACKED_WORDS);
  private readonly keyUnitsOf = new TextUnits();

  /** An empty table sized for `expected` entries, or one over the arrays of `sharedData()` (used in place, not copied). */
  constructor(expected: number | Utf16TableData = 1024, expectedKeyUnits = typeof expected === "number" ? expected : 0) {
    if (typeof expected !== "number") {
      this.slots = expected.slots;
      this.mask = expected.slots.length / STRIDE - 1;
      this.keys = expected.keys;
      this.used = expected.keys.length;
      this.count = expected.count;
      return;
    }
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap * STRIDE);
    this.mask = cap - 1;
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

  /** Key units stored in the arena, i.e. of keys longer than the inline limit (for bounding a cache). */
  get keyUnits(): number {
    return this.used;
  }

  /** Removes every entry; memory is kept for reuse. */
  clear(): void {
    this.slots.fill(0);
    this.used = 0;
    this.count = 0;
  }

  /** The value stored for `text`, or -1. Values must be non-negative. */
  get(text: string): number {
    const units = this.keyUnitsOf.of(text);
    const packed = this.scratch;
    return this.getHashed(units, 0, units.length, hashUnitsPacked(units, 0, units.length, packed), packed);
  }

  /**
   * The value stored for `units[start, end)`, or -1, with the span's {@link hashUnitsPacked}
   * already computed (one hash serves several tables): `h` its hash, `packed` the words it filled.
   * A short key is compared as those words, without reading the units again.
   */
  getHashed(units: Uint16Array, start: number, end: number, h: number, packed: Int32Array): number {
    const len = end - start;
    const slots = this.slots;
    let slot = (h ^ (h >>> 16)) & this.mask;
    for (;;) {
      const at = slot * STRIDE;
      const klen = slots[at + 2]!;
      if (klen === 0) return -1;
      if (slots[at] === h && klen === len) {
        if (len <= INLINE_UNITS) {
          if (slots[at + 3] === packed[0] && slots[at + 4] === packed[1] && slots[at + 5] === packed[2] && slots[at + 6] === packed[3] && slots[at + 7] === packed[4]) return slots[at + 1]!;
        } else if (this.sameLongKey(slots[at + 3]!, units, start, len)) return slots[at + 1]!;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** Whether the arena key at `off` is `units[start, start + len)`. */
  private sameLongKey(off: number, units: Uint16Array, start: number, len: number): boolean {
    const keys = this.keys;
    let i = 0;
    while (i < len && keys[off + i] === units[start + i]) i++;
    return i === len;
  }

  /** Stores `value` for `text` (keeps the first value when the key is present). */
  set(text: string, value: number): void {
    const units = this.keyUnitsOf.of(text);
    this.setUnits(units, 0, units.length, value);
  }

  /** Stores `value` for `units[start, end)` (keeps the first value when the key is present; an empty key is not stored). */
  setUnits(units: Uint16Array, start: number, end: number, value: number): void {
    const len = end - start;
    if (len === 0) return;
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const packed = this.scratch;
    const h = hashUnitsPacked(units, start, end, packed);
    if (this.getHashed(units, start, end, h, packed) !== -1) return;
    const slots = this.slots;
    const at = this.freeSlot(h);
    slots[at] = h;
    slots[at + 1] = value;
    slots[at + 2] = len;
    if (len <= INLINE_UNITS) {
      for (let j = 0; j < PACKED_WORDS; j++) slots[at + 3 + j] = packed[j]!;
    } else {
      if (this.used + len > this.keys.length) {
        const bigger = new Uint16Array(Math.max(this.keys.length * 2, this.used + len));
        bigger.set(this.keys.subarray(0, this.used));
        this.keys = bigger;
      }
      const off = this.used;
      this.keys.set(units.subarray(start, end), off);
      this.used += len;
      slots[at + 3] = off;
    }
    this.count++;
  }

  /** Offset of the first empty slot on `h`'s probe sequence. */
  private freeSlot(h: number): number {
    const slots = this.slots;
    let slot = (h ^ (h >>> 16)) & this.mask;
    while (slots[slot * STRIDE + 2] !== 0) slot = (slot + 1) & this.mask;
    return slot * STRIDE;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    const slots = this.slots;
    for (let from = 0; from < old.length; from += STRIDE) {
      if (old[from + 2] === 0) continue;
      const to = this.freeSlot(old[from]!);
      for (let j = 0; j < STRIDE; j++) slots[to + j] = old[from + j]!;
    }
  }
}

/**
 * FNV-1a over `units[start, end)`, the hash every Utf16Table uses; in the same pass, the span's first
 * INLINE_UNITS units packed two per word into `packed` (PACKED_WORDS long; words past the span are
 * 0): what a short key's slot holds, so a lookup compares five words instead of the units again.
 */
export function hashUnitsPacked(units: Uint16Array, start: number, end: number, packed: Int32Array): number {
  let h = 0x811c9dc5;
  let w = 0;
  let i = start;
  const inlineEnd = Math.min(end, start + INLINE_UNITS);
  for (; i + 1 < inlineEnd; i += 2) {
    const lo = units[i]!;
    const hi = units[i + 1]!;
    h = Math.imul(Math.imul(h ^ lo, 0x01000193) ^ hi, 0x01000193);
    packed[w++] = lo | (hi << 16);
  }
  if (i < inlineEnd) {
    const lo = units[i++]!;
    h = Math.imul(h ^ lo, 0x01000193);
    packed[w++] = lo;
  }
  while (w < PACKED_WORDS) packed[w++] = 0;
  for (; i < end; i++) h = Math.imul(h ^ units[i]!, 0x01000193);
  return h;
}
