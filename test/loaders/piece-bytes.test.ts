/**
 * `Loader.largestPieceBytes`: what reading one piece holds at once, from the footers. Checked against
 * duckdb's `parquet_metadata`: the column chunks' uncompressed sizes per row group, or their
 * compressed sizes where one PLAIN zstd text column is streamed (`parquet-text.ts`).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLoader } from "../../loaders/index.js";
import { lit, sql, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The largest row group's uncompressed (or compressed) bytes over `columns`, as duckdb reads the footer. */
async function duckLargest(file: string, columns: string[], size: "uncompressed" | "compressed" = "uncompressed"): Promise<number> {
  const rows = await sql(
    `SELECT row_group_id, sum(total_${size}_size)::BIGINT AS bytes FROM parquet_metadata(${lit(file)}) WHERE path_in_schema IN (${columns.map(lit).join(", ")}) GROUP BY row_group_id`,
  );
  return Math.max(...rows.map((r) => Number(r["bytes"])));
}

describe("Loader.largestPieceBytes", () => {
  it("parquet: the largest row group's needed column chunks, uncompressed, as duckdb reports them; split pieces still count their whole row group", async () => {
    const file = join(tmp.dir, "groups.parquet");
    // row groups of different sizes: longer texts further on; lz4, so no column is streamed
    await sql(
      `COPY (SELECT i AS id, repeat('word ' || i::VARCHAR || ' ', 1 + i // 40) AS text, 'x' AS tag FROM range(400) t(i)) TO ${lit(file)} (FORMAT parquet, ROW_GROUP_SIZE 100, COMPRESSION lz4)`,
    );
    const text = await duckLargest(file, ["text"]);
    const both = await duckLargest(file, ["text", "id"]);
    expect(both).toBeGreaterThan(text);
    expect(await createLoader({ sources: file, document: { field: "text" } }).largestPieceBytes()).toBe(text);
    expect(await createLoader({ sources: file, document: { template: "{id}: {text}" } }).largestPieceBytes()).toBe(both);
    // 8 slots split each row group into parts; each part still decodes its whole row group
    expect(await createLoader({ sources: file, document: { field: "text" }, worldSize: 8, rank: 3 }).largestPieceBytes()).toBe(text);
  });

  it("parquet: one PLAIN zstd text column is streamed, so only its compressed bytes count; with a second column, the whole row group", async () => {
    const file = join(tmp.dir, "streamed.parquet");
    await sql(
      `COPY (SELECT i AS id, repeat('word ' || i::VARCHAR || ' ', 1 + i // 40) AS text FROM range(400) t(i)) TO ${lit(file)} (FORMAT parquet, ROW_GROUP_SIZE 100, COMPRESSION zstd)`,
    );
    const meta = await sql(`SELECT DISTINCT encodings, compression FROM parquet_metadata(${lit(file)}) WHERE path_in_schema = 'text'`);
    expect(meta).toEqual([{ encodings: "PLAIN", compression: "ZSTD" }]);
    const compressed = await duckLargest(file, ["text"], "compressed");
    expect(compressed).toBeLessThan(await duckLargest(file, ["text"]));
    expect(await createLoader({ sources: file, document: { field: "text" } }).largestPieceBytes()).toBe(compressed);
    expect(await createLoader({ sources: file, document: { field: "text" }, worldSize: 8, rank: 3 }).largestPieceBytes()).toBe(compressed);
    expect(await createLoader({ sources: file, document: { template: "{id}: {text}" } }).largestPieceBytes()).toBe(await duckLargest(file, ["text", "id"]));
  });

  it("parquet: a streamed snappy column counts its compressed bytes and a page decoded whole (its chunk's uncompressed bytes, up to 4 MiB)", async () => {
    const file = join(tmp.dir, "snappy.parquet");
    await sql(
      `COPY (SELECT i AS id, repeat('word ' || i::VARCHAR || ' ', 1 + i // 40) AS text FROM range(400) t(i)) TO ${lit(file)} (FORMAT parquet, ROW_GROUP_SIZE 100, COMPRESSION snappy)`,
    );
    const rows = await sql(
      `SELECT row_group_id, (total_compressed_size + total_uncompressed_size)::BIGINT AS bytes FROM parquet_metadata(${lit(file)}) WHERE path_in_schema = 'text'`,
    );
    const largest = Math.max(...rows.map((r) => Number(r["bytes"])));
    expect(await createLoader({ sources: file, document: { field: "text" } }).largestPieceBytes()).toBe(largest);
    expect(await createLoader({ sources: file, document: { template: "{id}: {text}" } }).largestPieceBytes()).toBe(await duckLargest(file, ["text", "id"]));
  });

  it("JSONL is read as a stream: 0 whatever its size", async () => {
    const file = join(tmp.dir, "docs.jsonl");
    writeFileSync(file, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ text: `document ${i} `.repeat(20) })).join("\n") + "\n");
    expect(await createLoader({ sources: file, pieceBytes: 10_000 }).largestPieceBytes()).toBe(0);
  });
});
