import { randomBytes } from "node:crypto";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileSource } from "../../loaders/bytes.js";
import { SourceError } from "../../src/errors.js";
import { tempDir } from "./helpers.js";

describe("fileSource.slice", () => {
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
