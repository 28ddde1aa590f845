import { snappyCompress, snappyUncompress } from "hysnappy";
import { describe, expect, it } from "vitest";
import { PREFAULT_MIN_BYTES, prefaultIdle } from "../../loaders/prefault.js";
import { snappyLength, snappyPages } from "../../loaders/snappy.js";
import { hasShared, sharedPath } from "../shared.js";
import { patternBytes } from "./helpers.js";
import { readFileSync } from "node:fs";

describe("snappy pages in hysnappy's WebAssembly memory", () => {
  it("finds hysnappy's decoder module (the fast path is active)", () => {
    expect(snappyPages()).toBeDefined();
  });

  it("decodes like hysnappy's own API: text, noise, empty, one byte, large", () => {
    const pages = snappyPages()!;
    const inputs = [patternBytes(0, 1, true), patternBytes(1, 2, false), patternBytes(100, 3, true), patternBytes(70_000, 4, false), patternBytes(3_000_000, 5, true), patternBytes(1_000_000, 6, false)];
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
    const raws = [patternBytes(200_000, 7, true), patternBytes(50_000, 8, false), patternBytes(400_000, 9, true)];
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
    const raw = patternBytes(PREFAULT_MIN_BYTES + 3_000_017, 12, true);
    const c = snappyCompress(raw);
    pages.reset(raw.length + c.length, raw.length); // new memory: handed to the helper now
    const out = pages.decompress(c, raw.length);
    expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
    await prefaultIdle();
    expect(Buffer.from(out).equals(raw)).toBe(true);
  });

  it("rejects corrupt pages with an error, never a crash or a write past the page", () => {
    const pages = snappyPages()!;
    const raw = patternBytes(10_000, 10, true);
    const c = snappyCompress(raw);
    pages.reset(1 << 20);
    expect(() => pages.decompress(c, raw.length - 1)).toThrow(/declares 10000 bytes, expected 9999/);
    expect(() => pages.decompress(c.subarray(0, c.length >> 1), raw.length)).toThrow(Error);
    expect(() => pages.decompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 5)).toThrow(/invalid snappy length header/);
    const garbage = patternBytes(5000, 11, false);
    garbage.set([0x80, 0x28], 0); // declares 5120 bytes
    expect(() => pages.decompress(garbage, 5120)).toThrow(Error);
    // and it still works afterwards
    expect(Buffer.from(pages.decompress(c, raw.length)).equals(Buffer.from(raw))).toBe(true);
  });
});
