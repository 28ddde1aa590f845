import { availableParallelism } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { PREFAULT_MIN_BYTES, prefaultedBytes, prefaultIdle, stopPrefaultHelper } from "../../loaders/prefault.js";

afterAll(() => stopPrefaultHelper());

describe("prefaulted page memory", () => {
  it("small blocks are plain memory; large ones are shared with the helper on a multi-core machine", () => {
    expect(prefaultedBytes(PREFAULT_MIN_BYTES - 1).buffer).toBeInstanceOf(ArrayBuffer);
    const big = prefaultedBytes(PREFAULT_MIN_BYTES);
    expect(big.byteLength).toBe(PREFAULT_MIN_BYTES);
    expect(big.buffer instanceof SharedArrayBuffer).toBe(availableParallelism() >= 2);
  });

  it("the helper never changes a byte, whether the reader wrote there before or after it", async () => {
    const n = 3 * PREFAULT_MIN_BYTES + 12345; // not a multiple of the page size
    const b = prefaultedBytes(n);
    // write a pattern over the first two thirds while the helper maps pages from the end
    const upTo = Math.floor((2 * n) / 3);
    for (let i = 0; i < upTo; i++) b[i] = (i * 31 + 7) & 0xff;
    await prefaultIdle();
    // and over the rest after it is done
    for (let i = upTo; i < n - 5000; i++) b[i] = (i * 31 + 7) & 0xff;
    let bad = -1;
    for (let i = 0; i < n - 5000 && bad < 0; i++) if (b[i] !== ((i * 31 + 7) & 0xff)) bad = i;
    expect(bad).toBe(-1);
    // the tail was never written: still zero
    expect(b.subarray(n - 5000).every((x) => x === 0)).toBe(true);
  });
});
