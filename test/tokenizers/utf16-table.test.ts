/**
 * The hash tables under the tokenizers' lookups, against a JavaScript Map: `Utf16Table` (keys kept
 * in their slot up to 10 UTF-16 units, longer ones in an arena) and `PieceCache` (bounded, cleared
 * when full), on keys of every length around the inline limit, two-byte and astral text, spans
 * inside longer texts, growth, clearing and shared copies.
 */
import { describe, expect, it } from "vitest";
import { PieceCache } from "../../src/tokenizers/bpe/piece-cache.js";
import { TextUnits } from "../../src/tokenizers/bpe/text-units.js";
import { hashUnitsPacked, PACKED_WORDS, Utf16Table } from "../../src/tokenizers/bpe/utf16-table.js";

function randomKeys(n: number, seed: number): string[] {
  const chars = ["a", "b", "Z", " ", "é", "中", "\u0000", "\uffff", "😀", "\ud800"];
  const keys = new Set<string>();
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  while (keys.size < n) {
    const len = 1 + (next() % 24); // both sides of the 10-unit inline limit
    let k = "";
    while (k.length < len) k += chars[next() % chars.length]!;
    keys.add(k.slice(0, len)); // may cut a surrogate pair: lone surrogates are keys too
  }
  return [...keys];
}

/** Looks `key` up where it lies inside a longer text, as the encoders do. */
function lookupInContext(table: Utf16Table, key: string, units: TextUnits): number {
  const text = `«${key}»`;
  const u = units.of(text);
  const packed = new Int32Array(PACKED_WORDS);
  return table.getHashed(u, 1, 1 + key.length, hashUnitsPacked(u, 1, 1 + key.length, packed), packed);
}

describe("Utf16Table", () => {
  it("finds what a Map finds, for keys of 1–24 units, before and after growing, and in a shared copy", () => {
    const keys = randomKeys(5000, 3);
    const absent = randomKeys(7000, 99).filter((k) => !keys.includes(k));
    const table = new Utf16Table(16); // grows many times
    const ref = new Map<string, number>();
    keys.forEach((k, i) => {
      table.set(k, i);
      ref.set(k, i);
    });
    table.set(keys[0]!, 12345); // the first value is kept
    expect(table.size).toBe(keys.length);
    const units = new TextUnits();
    const shared = new Utf16Table(table.sharedData());
    for (const t of [table, shared]) {
      for (const k of keys) {
        expect(t.get(k)).toBe(ref.get(k));
        expect(lookupInContext(t, k, units)).toBe(ref.get(k));
      }
      for (const k of absent) expect(t.get(k)).toBe(-1);
    }
    expect(table.keyUnits).toBe(keys.filter((k) => k.length > 10).reduce((n, k) => n + k.length, 0));
  });

  it("differs from a key by one unit anywhere, or by length", () => {
    const table = new Utf16Table();
    const key = "abcdefghijklmnop"; // 16 units: inline prefix and arena both exercised by its cuts
    for (let n = 1; n <= key.length; n++) table.set(key.slice(0, n), n);
    for (let n = 1; n <= key.length; n++) {
      expect(table.get(key.slice(0, n))).toBe(n);
      for (let i = 0; i < n; i++) expect(table.get(key.slice(0, i) + "x" + key.slice(i + 1, n))).toBe(-1);
    }
    expect(table.get("")).toBe(-1);
  });

  it("compares every unit of a key whose hash matches, kept inline or in the arena", () => {
    // a lookup given the stored key's hash but another key's units: what a hash collision does
    const units = new TextUnits();
    const packed = new Int32Array(PACKED_WORDS);
    for (const len of [1, 2, 9, 10, 11, 16]) {
      const key = "abcdefghijklmnop".slice(0, len);
      const table = new Utf16Table();
      table.set(key, 7);
      const u = units.of(key);
      const h = hashUnitsPacked(u, 0, len, packed);
      expect(table.getHashed(u, 0, len, h, packed)).toBe(7);
      for (let i = 0; i < len; i++) {
        for (const c of ["x", "\u0161", "\uffff"]) {
          const other = units.of(key.slice(0, i) + c + key.slice(i + 1));
          hashUnitsPacked(other, 0, len, packed); // fills `packed` with the other key's units
          expect(table.getHashed(other, 0, len, h, packed), `${len} units, unit ${i} changed`).toBe(-1);
        }
      }
    }
  });

  it("is empty after clear, and refills", () => {
    const table = new Utf16Table(64);
    const keys = randomKeys(100, 5);
    keys.forEach((k, i) => table.set(k, i));
    table.clear();
    expect(table.size).toBe(0);
    for (const k of keys) expect(table.get(k)).toBe(-1);
    keys.forEach((k, i) => table.set(k, i + 1));
    keys.forEach((k, i) => expect(table.get(k)).toBe(i + 1));
  });
});

describe("PieceCache", () => {
  it("gives back the ids put for a piece until it is cleared for room, never another piece's", () => {
    const cache = new PieceCache(256, 4096);
    const units = new TextUnits();
    const keys = randomKeys(2000, 11);
    const out = new Uint32Array(64);
    const key = new Int32Array(PACKED_WORDS);
    const want = (i: number): number[] => Array.from({ length: 1 + (i % 5) }, (_, j) => i * 10 + j);
    const lookup = (i: number): number[] | undefined => {
      const u = units.of(keys[i]!);
      const n = cache.copyTo(u, 0, u.length, hashUnitsPacked(u, 0, u.length, key), key, out, 0);
      return n < 0 ? undefined : [...out.subarray(0, n)];
    };
    let recent = 0;
    keys.forEach((k, i) => {
      expect(lookup(i)).toBeUndefined(); // never put before
      const u = units.of(k);
      cache.put(u, 0, u.length, Uint32Array.from(want(i)), 0, want(i).length);
      expect(lookup(i)).toEqual(want(i));
      // the pieces put before it: each is there with its own ids, or gone
      for (let j = Math.max(0, i - 300); j < i; j++) {
        const got = lookup(j);
        if (got !== undefined) {
          expect(got).toEqual(want(j));
          if (j === i - 1) recent++;
        }
      }
    });
    // cleared only when full: the piece before is usually still there
    expect(recent).toBeGreaterThan(keys.length * 0.9);
  });
});

describe("TextUnits", () => {
  it("gives every UTF-16 unit of short and long, one- and two-byte texts, lone surrogates included", () => {
    const units = new TextUnits();
    const texts = ["", "a", "é\ud800x", "a".repeat(31) + "\udc00", "b".repeat(40), "中😀\ud83d".repeat(3000), "short again", "x".repeat(9000)];
    // each text after a shorter and after a longer one: the buffer grows and is reused
    for (const t of [...texts, ...[...texts].reverse()]) {
      expect(Array.from(units.of(t))).toEqual(Array.from({ length: t.length }, (_, i) => t.charCodeAt(i)));
    }
  });
});
