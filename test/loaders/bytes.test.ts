import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileSource } from "../../loaders/bytes.js";
import { SourceError } from "../../src/errors.js";
import { tempDir } from "./helpers.js";

// one random file for every test here: large enough for parallel slices and many stream chunks
let tmp: ReturnType<typeof tempDir>;
let path: string;
let bytes: Buffer;
beforeAll(() => {
  tmp = tempDir();
  path = join(tmp.dir, "blob.bin");
  bytes = randomBytes(21 * 1024 * 1024 + 12345);
  writeFileSync(path, bytes);
});
afterAll(() => tmp.cleanup());

describe("fileSource.slice", () => {

  it("returns exactly the bytes of small and large ranges (large ones are read in parallel parts)", async () => {
    const src = await fileSource(path);
    try {
      for (const [a, b] of [[0, 10], [5, 8 << 20], [3, (8 << 20) + 7], [12345, bytes.length], [0, bytes.length], [bytes.length - 1, bytes.length]] as const) {
        const got = Buffer.from(await src.slice(a, b));
        expect(got.length, `${a}..${b}`).toBe(b - a);
        expect(got.equals(bytes.subarray(a, b)), `${a}..${b}`).toBe(true);
      }
      // past the end is clamped, as for an ArrayBuffer
      expect((await src.slice(bytes.length - 4, bytes.length + 100)).byteLength).toBe(4);
    } finally {
      await src.close?.();
    }
  });

  it.skipIf(!existsSync("/proc/self/fd"))("reads started at once share one file handle, which close() closes", async () => {
    const open = (): number => readdirSync("/proc/self/fd").length;
    const before = open();
    const src = await fileSource(path);
    // a read-ahead beside the reader's own read, both the source's first: each used to open a handle
    const got = await Promise.all([src.slice(0, 100), src.slice(1000, 2000), src.slice(5000, 9000)]);
    expect(got.map((b) => b.byteLength)).toEqual([100, 1000, 4000]);
    expect(open()).toBe(before + 1);
    await src.close?.();
    expect(open()).toBe(before);
  });

  it("a file that shrinks under a large read fails with a SourceError naming the file and offset", async () => {
    const p = join(tmp.dir, "shrinks.bin");
    writeFileSync(p, bytes);
    const src = await fileSource(p);
    try {
      truncateSync(p, 10 << 20);
      const err = (await src.slice(0, bytes.length).catch((e: unknown) => e)) as SourceError;
      expect(err).toBeInstanceOf(SourceError);
      expect(err.context.file).toBe(p);
      expect(err.context.offset).toBeGreaterThanOrEqual(10 << 20);
      expect(readFileSync(p).length).toBe(10 << 20);
    } finally {
      await src.close?.();
    }
  });
});

describe("fileSource.stream with reuseChunks", () => {

  it("yields exactly the range's bytes when each chunk is consumed before the next is asked for", async () => {
    const src = await fileSource(path);
    try {
      for (const [a, b] of [[0, bytes.length], [1, (1 << 20) + 1], [12345, bytes.length - 3], [7, 9]] as const) {
        const parts: Buffer[] = [];
        const seen = new Set<ArrayBufferLike>();
        for await (const c of src.stream!(a, b, { reuseChunks: true })) {
          parts.push(Buffer.from(c)); // a copy, as the contract asks
          seen.add(c.buffer);
        }
        const got = Buffer.concat(parts);
        expect(got.equals(bytes.subarray(a, b)), `${a}..${b}`).toBe(true);
        expect(seen.size, "two buffers alternate").toBeLessThanOrEqual(2);
      }
    } finally {
      await src.close?.();
    }
  });

  it("a consumer that stops early leaves the next stream correct (its buffers are reused)", async () => {
    const src = await fileSource(path);
    try {
      for await (const c of src.stream!(0, bytes.length, { reuseChunks: true })) {
        expect(c.length).toBeGreaterThan(0);
        break; // a read into the other buffer is in flight here
      }
      const parts: Buffer[] = [];
      for await (const c of src.stream!(100, bytes.length, { reuseChunks: true })) parts.push(Buffer.from(c));
      expect(Buffer.concat(parts).equals(bytes.subarray(100))).toBe(true);
    } finally {
      await src.close?.();
    }
  });

  it("a file that shrinks while streamed fails with a SourceError naming the file and offset", async () => {
    const p = join(tmp.dir, "shrinks-stream.bin");
    writeFileSync(p, bytes);
    const src = await fileSource(p);
    try {
      truncateSync(p, 3 << 20);
      const err = await (async () => {
        for await (const _ of src.stream!(0, bytes.length, { reuseChunks: true })) {
          // drain
        }
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).context.file).toBe(p);
      expect((err as SourceError).context.offset).toBe(3 << 20);
    } finally {
      await src.close?.();
    }
  });
});
