/** Bad input and bad options fail loudly with typed errors that name the problem. */
import { describe, expect, it } from "vitest";
import { Packer } from "../../packers/index.js";
import { InputFormatError, PackOptionsError } from "../../src/errors.js";

describe("packer errors", () => {
  it("rejects a loss mask whose length differs from the ids", () => {
    const p = new Packer({ seqLen: 8, batchSize: 1 });
    p.push({ ids: new Uint32Array(3) });
    const err = (() => {
      try {
        p.push({ ids: new Uint32Array(4), lossMask: new Uint8Array(3) });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputFormatError);
    expect((err as InputFormatError).context.row).toBe(1);
    expect((err as Error).message).toMatch(/lossMask has 3 entries but ids has 4/);
  });

  it("rejects invalid options", () => {
    expect(() => new Packer({ seqLen: 0, batchSize: 1 })).toThrow(PackOptionsError);
    expect(() => new Packer({ seqLen: 8, batchSize: 1.5 })).toThrow(/batchSize must be a positive integer, got 1.5/);
    expect(() => new Packer({ seqLen: 8, batchSize: 1, algorithm: "nope" as never })).toThrow(/unknown algorithm "nope"/);
    expect(() => new Packer({ seqLen: 8, batchSize: 1, overlong: "x" as never })).toThrow(PackOptionsError);
    const p = new Packer({ seqLen: 8, batchSize: 1 });
    p.finish();
    expect(() => p.push({ ids: new Uint32Array(1) })).toThrow(/after finish/);
  });

  it("counts an empty document as dropped", () => {
    const p = new Packer({ seqLen: 8, batchSize: 1, algorithm: "pad" });
    p.push({ ids: new Uint32Array(0) });
    p.finish();
    expect(p.take()).toBeUndefined();
    expect(p.stats.droppedDocs).toBe(1);
  });
});

describe("BufferPool", () => {
  it("reuses released buffers and still writes identical batches", async () => {
    const { BufferPool, packDocumentsSync } = await import("../../packers/index.js");
    const { makeDocs } = await import("./helpers.js");
    const docs = makeDocs(300, 1, 120, 17, true);
    for (const algorithm of ["pad", "bfd", "concat"] as const) {
      const opts = { seqLen: 64, batchSize: 4, algorithm, windowSize: 64 };
      const fresh = [...packDocumentsSync(docs, opts)];
      const pool = new BufferPool(2);
      const seen = new Set<ArrayBuffer>();
      let i = 0;
      for (const b of packDocumentsSync(docs, { ...opts, pool })) {
        const f = fresh[i++]!;
        for (const k of ["inputIds", "labels", "positionIds", "segmentIds", "attentionMask", "seqLens", "cuSeqlens", "rowSegments"] as const) {
          expect(b[k]).toEqual(f[k]);
        }
        seen.add(b.buffer);
        pool.release(b);
      }
      expect(i).toBe(fresh.length);
      expect(seen.size).toBeLessThan(fresh.length / 2); // buffers were reused
    }
  });
});
