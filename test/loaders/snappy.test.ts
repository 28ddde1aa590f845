import { snappyCompress, snappyUncompress } from "hysnappy";
import { describe, expect, it } from "vitest";
import { PREFAULT_MIN_BYTES, prefaultIdle } from "../../loaders/prefault.js";
import { snappyLength, snappyPages } from "../../loaders/snappy.js";
import { hasShared, sharedPath } from "../shared.js";
import { readFileSync } from "node:fs";

/** Deterministic bytes: text-like (compressible) or noise. */
function bytes(n: number, seed: number, text: boolean): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  const words = ["the ", "snappy ", "page ", "ü界", "😀 ", "row ", "group\n"].map((w) => Buffer.from(w));
  for (let i = 0; i < n; ) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    if (text) {
      const w = words[s % words.length]!;
      for (let j = 0; j < w.length && i < n; j++) out[i++] = w[j]!;
    } else out[i++] = s >>> 24;
  }
  return out;
}

describe("snappy pages in hysnappy's WebAssembly memory", () => {
  it("finds hysnappy's decoder module (the fast path is active)", () => {
    expect(snappyPages()).toBeDefined();
  });

  it("decodes like hysnappy's own API: text, noise, empty, one byte, large", () => {
    const pages = snappyPages()!;
    const inputs = [bytes(0, 1, true), bytes(1, 2, false), bytes(100, 3, true), bytes(70_000, 4, false), bytes(3_000_000, 5, true), bytes(1_000_000, 6, false)];
    for (const raw of inputs) {
      const c = snappyCompress(raw);
      expect(snappyLength(c)).toBe(raw.length);
      pages.reset(raw.length + c.length);
      const ours = pages.decompress(c, raw.length);
      expect(Buffer.from(ours).equals(Buffer.from(snappyUncompress(c, raw.length)))).toBe(true);
      expect(Buffer.from(ours).equals(Buffer.from(raw))).toBe(true);
    }
  });

  it.skipIf(!hasShared())("decodes the shared English text as hysnappy does", () => {
    const raw = readFileSync(sharedPath("data/text/en.jsonl"));
    const c = snappyCompress(raw);
    const pages = snappyPages()!;
    pages.reset(0); // too small on purpose: the first page grows the memory
    expect(Buffer.from(pages.decompress(c, raw.length)).equals(raw)).toBe(true);
  });

  it("keeps every page of one reset intact, also when a later page does not fit", () => {
    const pages = snappyPages()!;
    const raws = [bytes(200_000, 7, true), bytes(50_000, 8, false), bytes(400_000, 9, true)];
    const comp = raws.map((r) => snappyCompress(r));
    // room for the first two only: the third is decoded elsewhere and copied, the others stay put
    pages.reset(raws[0]!.length + raws[1]!.length + comp[1]!.length + 16);
    const views = raws.map((r, i) => pages.decompress(comp[i]!, r.length));
    views.forEach((v, i) => expect(Buffer.from(v).equals(Buffer.from(raws[i]!)), `page ${i}`).toBe(true));
    // after a reset the memory is reused from the start
    pages.reset(raws[2]!.length + comp[2]!.length);
    expect(Buffer.from(pages.decompress(comp[2]!, raws[2]!.length)).equals(Buffer.from(raws[2]!))).toBe(true);
  });

  it("runs on a shared memory, and a page large enough to be prefaulted decodes exactly while the helper maps it", async () => {
    const pages = snappyPages()!;
    const raw = bytes(PREFAULT_MIN_BYTES + 3_000_017, 12, true);
    const c = snappyCompress(raw);
    pages.reset(raw.length + c.length, raw.length); // new memory: handed to the helper now
    const out = pages.decompress(c, raw.length);
    expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
    await prefaultIdle();
    expect(Buffer.from(out).equals(raw)).toBe(true);
  });

  it("rejects corrupt pages with an error, never a crash or a write past the page", () => {
    const pages = snappyPages()!;
    const raw = bytes(10_000, 10, true);
    const c = snappyCompress(raw);
    pages.reset(1 << 20);
    expect(() => pages.decompress(c, raw.length - 1)).toThrow(/declares 10000 bytes, expected 9999/);
    expect(() => pages.decompress(c.subarray(0, c.length >> 1), raw.length)).toThrow(Error);
    expect(() => pages.decompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 5)).toThrow(/invalid snappy length header/);
    const garbage = bytes(5000, 11, false);
    garbage.set([0x80, 0x28], 0); // declares 5120 bytes
    expect(() => pages.decompress(garbage, 5120)).toThrow(Error);
    // and it still works afterwards
    expect(Buffer.from(pages.decompress(c, raw.length)).equals(Buffer.from(raw))).toBe(true);
  });
});
