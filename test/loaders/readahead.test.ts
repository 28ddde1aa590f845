import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bufferSource, createLoader } from "../../loaders/index.js";
import { READ_AHEAD_MAX_BYTES } from "../../loaders/loader.js";
import { ReadAhead } from "../../loaders/readahead.js";
import type { ByteSource } from "../../loaders/index.js";
import { collect, lit, sql, tempDir } from "./helpers.js";

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

describe("loader read-ahead over parquet row groups", () => {
  let tmp: ReturnType<typeof tempDir>;
  let path: string;
  beforeAll(async () => {
    tmp = tempDir();
    path = join(tmp.dir, "groups.parquet");
    await sql(`COPY (SELECT i AS id, 'row ' || i AS text FROM range(10000) t(i)) TO ${lit(path)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
  });
  afterAll(() => tmp.cleanup());

  it("reads the next row group ahead, but not past stopAtPiece (a piece reader would waste the read)", async () => {
    const spy = vi.spyOn(ReadAhead.prototype, "prefetch");
    try {
      const all = await collect(createLoader({ sources: path }));
      expect(all.length).toBe(10000);
      const groups = new Set(all.map((d) => d.source.shard)).size;
      expect(groups).toBeGreaterThan(2);
      expect(spy).toHaveBeenCalledTimes(groups - 1); // before every row group but the first
      spy.mockClear();
      const reader = createLoader({ sources: path });
      const start = await reader.pieceStart(0, 1);
      await reader.close();
      const one = await collect(createLoader({ sources: path, state: start, stopAtPiece: 2 }));
      const second = all.filter((d) => d.source.shard === all.find((x) => x.source.row! > 0 && x.source.shard !== all[0]!.source.shard)!.source.shard);
      expect(one.map((d) => d.source.row)).toEqual(second.map((d) => d.source.row));
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it("a streamed text column reads small row groups ahead, but not a next row group over READ_AHEAD_MAX_BYTES", async () => {
    const small = join(tmp.dir, "small-zstd.parquet");
    const big = join(tmp.dir, "big-plain.parquet");
    await sql(`COPY (SELECT 'row ' || i AS text FROM range(10000) t(i)) TO ${lit(small)} (FORMAT parquet, ROW_GROUP_SIZE 2048, COMPRESSION zstd)`);
    // two row groups of ~6 MB each, uncompressed (streamed too), unique text so no dictionary
    await sql(`COPY (SELECT repeat(md5(i::VARCHAR), 30) AS text FROM range(12288) t(i)) TO ${lit(big)} (FORMAT parquet, ROW_GROUP_SIZE 6144, COMPRESSION uncompressed)`);
    const meta = await sql(`SELECT row_group_id, total_compressed_size::BIGINT AS bytes, encodings FROM parquet_metadata(${lit(big)})`);
    expect(meta.length).toBe(2);
    expect(meta.every((m) => Number(m["bytes"]) > READ_AHEAD_MAX_BYTES && m["encodings"] === "PLAIN")).toBe(true);
    const spy = vi.spyOn(ReadAhead.prototype, "prefetch");
    try {
      const a = await collect(createLoader({ sources: small, document: { field: "text" } }));
      expect(a.length).toBe(10000);
      expect(spy).toHaveBeenCalledTimes(new Set(a.map((d) => d.source.shard)).size - 1);
      spy.mockClear();
      const b = await collect(createLoader({ sources: big, document: { field: "text" } }));
      expect(b.length).toBe(12288);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});
