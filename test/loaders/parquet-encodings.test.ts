/**
 * The encoding decoders (`parquet-encodings.ts`) on the examples of the parquet format description
 * (Encodings.md) written out byte by byte; real delta-encoded pages (parquet-mr, arrow-rs, duckdb)
 * are checked against duckdb in parquet-text.test.ts.
 */
import { describe, expect, it } from "vitest";
import { DeltaValues, readDeltaBinaryPacked, readHybrid } from "../../loaders/parquet-encodings.js";

/** The format's first example, 1, 2, 3, 4, 5: every delta is the minimum, so no miniblock bytes. */
const ONE_TO_FIVE = [0x80, 0x01, 0x04, 0x05, 0x02, /* block: min delta 1 */ 0x02, 0, 0, 0, 0];
/**
 * The second, 7, 5, 3, 1, 2, 3, 4, 5: deltas -2 -2 -2 1 1 1 1, min delta -2, so 0 0 0 3 3 3 3 in
 * one 2-bit miniblock of 32 values (8 bytes, padded), least significant bits first.
 */
const SEVEN_DOWN_UP = [0x80, 0x01, 0x04, 0x08, 0x0e, /* min delta -2 */ 0x03, 2, 0, 0, 0, 0xc0, 0xff, 0, 0, 0, 0, 0, 0];

describe("readHybrid", () => {
  it("decodes the format's bit-packing example (0 to 7 in 3 bits) and a run, and returns the bytes read", () => {
    // header 0x03: one bit-packed group of 8 values; then a run header 0x0a: 5 × the 1-byte value 6
    const bytes = new Uint8Array([0x03, 0b10001000, 0b11000110, 0b11111010, 0x0a, 0x06, 0xee]);
    const out = new Int32Array(13);
    expect(readHybrid(bytes, 3, 13, out)).toBe(6);
    expect([...out]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 6, 6, 6, 6, 6]);
    expect(() => readHybrid(bytes.subarray(0, 3), 3, 8, out)).toThrow(/end early/);
  });
});

describe("readDeltaBinaryPacked", () => {
  it("decodes the format's examples and returns the position after them", () => {
    const out = new Int32Array(8);
    expect(readDeltaBinaryPacked(new Uint8Array(ONE_TO_FIVE), 0, 5, out)).toBe(ONE_TO_FIVE.length);
    expect([...out.subarray(0, 5)]).toEqual([1, 2, 3, 4, 5]);
    const bytes = new Uint8Array([0xaa, ...SEVEN_DOWN_UP, 0xbb]);
    expect(readDeltaBinaryPacked(bytes, 1, 8, out)).toBe(1 + SEVEN_DOWN_UP.length);
    expect([...out]).toEqual([7, 5, 3, 1, 2, 3, 4, 5]);
  });

  it("a block cut short, a count other than the page's, or a malformed header is an error", () => {
    const out = new Int32Array(8);
    expect(() => readDeltaBinaryPacked(new Uint8Array(SEVEN_DOWN_UP.slice(0, 12)), 0, 8, out)).toThrow(/end early/);
    expect(() => readDeltaBinaryPacked(new Uint8Array(ONE_TO_FIVE), 0, 4, out)).toThrow(/5 values where 4 are present/);
    expect(() => readDeltaBinaryPacked(new Uint8Array([0x64, 0x04, 0x05, 0x02]), 0, 5, out)).toThrow(/blocks of 100 values/);
  });
});

describe("DeltaValues", () => {
  it("DELTA_BYTE_ARRAY: the format's example, axis axle babble babyhood, rebuilt from shared prefixes", () => {
    // prefix lengths 0 2 0 3 (deltas 2 -2 3: min -2 → 4 0 5, 3 bits), suffix lengths 4 2 6 5 (deltas -2 4 -1: min -2 → 0 6 1, 3 bits)
    const prefixes = [0x80, 0x01, 0x04, 0x04, 0x00, 0x03, 3, 0, 0, 0, 0x44, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const lengths = [0x80, 0x01, 0x04, 0x04, 0x08, 0x03, 3, 0, 0, 0, 0x70, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const body = new Uint8Array([...prefixes, ...lengths, ...Buffer.from("axislebabbleyhood")]);
    const d = new DeltaValues();
    d.reset(body, "DELTA_BYTE_ARRAY", 4);
    const got = [0, 1, 2, 3].map(() => Buffer.from(d.value()).toString());
    expect(got).toEqual(["axis", "axle", "babble", "babyhood"]);
    expect(() => d.value()).toThrow(/more values/);
  });

  it("DELTA_LENGTH_BYTE_ARRAY: lengths then the values back to back; lengths past the page are an error", () => {
    const body = new Uint8Array([...ONE_TO_FIVE, ...Buffer.from("abbcccddddeeeee")]);
    const d = new DeltaValues();
    d.reset(body, "DELTA_LENGTH_BYTE_ARRAY", 5);
    expect([0, 1, 2, 3, 4].map(() => Buffer.from(d.value()).toString())).toEqual(["a", "bb", "ccc", "dddd", "eeeee"]);
    expect(() => d.reset(body.subarray(0, body.length - 1), "DELTA_LENGTH_BYTE_ARRAY", 5)).toThrow(/run past their page/);
  });
});
