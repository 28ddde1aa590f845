/**
 * The gzip and brotli page decoder (`zlib-steps.ts`) against node:zlib's one-call decoders: input
 * fed a window at a time (as a large page is read), several gzip members, and corrupt or cut streams,
 * which must be errors and never a hang or a short page.
 */
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ZlibSteps, type ZlibCodec } from "../../loaders/zlib-steps.js";
import { HUNGRY, wholeInput } from "../../loaders/page-steps.js";
import { patternBytes, windowed } from "./helpers.js";

/** Every step of the page concatenated, its input fed `window` bytes at a time (whole when undefined). */
async function decode(packed: Uint8Array, expected: number, window?: number, codec: ZlibCodec = "GZIP"): Promise<Buffer> {
  const input = window === undefined ? wholeInput(packed) : windowed(packed, window);
  const steps = new ZlibSteps(input, 0, expected, async () => (input as ReturnType<typeof windowed>).load(), codec);
  const parts: Uint8Array[] = [];
  try {
    for (let v = steps.next(); v !== undefined; v = steps.next()) {
      if (v === HUNGRY) await steps.whenHungry();
      else parts.push(v.slice());
    }
  } finally {
    steps.close();
  }
  return Buffer.concat(parts);
}

describe("ZlibSteps (gzip)", () => {
  const data = patternBytes(3_000_000, 1, true);
  const packed = gzipSync(data);

  it("decodes what gzip wrote, its input whole or fed in windows of 1,000 to 70,000 bytes", async () => {
    for (const window of [undefined, 1000, 70_000]) {
      expect((await decode(packed, data.byteLength, window)).equals(Buffer.from(data)), `window ${window}`).toBe(true);
    }
  });

  it("decodes several gzip members back to back, as gunzip does", async () => {
    const two = Buffer.concat([packed, gzipSync(patternBytes(1000, 2, true))]);
    const want = gunzipSync(two);
    expect((await decode(two, want.byteLength, 4096)).equals(want)).toBe(true);
  });

  it("a stream cut short, damaged bytes, or a size other than the header's are errors, not a hang", async () => {
    await expect(decode(packed.subarray(0, packed.byteLength - 5000), data.byteLength, 10_000)).rejects.toThrow(/corrupt|expected/);
    const bad = Buffer.from(packed);
    for (let i = 5000; i < 5064; i++) bad[i] = bad[i]! ^ 0x5a;
    await expect(decode(bad, data.byteLength, 10_000)).rejects.toThrow(/corrupt/);
    await expect(decode(packed, data.byteLength + 1)).rejects.toThrow(/decompressed to 3000000 bytes, expected 3000001/);
    await expect(decode(packed, data.byteLength - 1)).rejects.toThrow(/more than the 2999999 bytes expected/);
  });
});

describe("ZlibSteps (brotli)", () => {
  const data = patternBytes(3_000_000, 3, true);
  const packed = brotliCompressSync(data);

  it("decodes what brotli wrote, its input whole or fed in windows of 1,000 to 70,000 bytes", async () => {
    expect(brotliDecompressSync(packed).equals(Buffer.from(data))).toBe(true);
    for (const window of [undefined, 1000, 70_000]) {
      expect((await decode(packed, data.byteLength, window, "BROTLI")).equals(Buffer.from(data)), `window ${window}`).toBe(true);
    }
  });

  it("a stream cut short, damaged bytes, or a size other than the page header's are errors naming brotli, not a hang", async () => {
    await expect(decode(packed.subarray(0, packed.byteLength - 500), data.byteLength, 10_000, "BROTLI")).rejects.toThrow(/brotli page (is corrupt|decompressed to)/);
    const bad = Buffer.from(packed);
    for (let i = 200; i < 264; i++) bad[i] = bad[i]! ^ 0x5a;
    await expect(decode(bad, data.byteLength, 10_000, "BROTLI")).rejects.toThrow(/brotli page/);
    await expect(decode(packed, data.byteLength + 1, undefined, "BROTLI")).rejects.toThrow(/brotli page decompressed to 3000000 bytes, expected 3000001/);
  });
});
