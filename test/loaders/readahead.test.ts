import { describe, expect, it } from "vitest";
import { bufferSource } from "../../loaders/index.js";
import { ReadAhead } from "../../loaders/readahead.js";
import type { ByteSource } from "../../loaders/index.js";

describe("ReadAhead", () => {
  it("serves prefetched spans and their sub-ranges byte-exactly, and falls through on a miss", async () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7919) & 255);
    const calls: [number, number][] = [];
    const base = bufferSource("mem", bytes);
    const counting: ByteSource = { ...base, slice: (s: number, e?: number) => (calls.push([s, e ?? bytes.length]), base.slice(s, e)) };
    const ra = new ReadAhead(counting);
    ra.prefetch([[1000, 50_000]]);
    expect(calls).toEqual([[1000, 50_000]]);
    for (const [s, e] of [[1000, 50_000], [1000, 2000], [30_000, 50_000], [4321, 4322]] as const) {
      expect(new Uint8Array(await ra.slice(s, e))).toEqual(bytes.slice(s, e));
    }
    expect(calls.length).toBe(1);
    expect(new Uint8Array(await ra.slice(49_000, 60_000))).toEqual(bytes.slice(49_000, 60_000));
    expect(calls.length).toBe(2);
  });
});
