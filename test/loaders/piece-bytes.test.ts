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

/**
 * The largest row group's bytes held when `text` is streamed (holding `textBytes`, an SQL expression
 * over parquet_metadata's columns) and `id` is decoded whole beside it, as duckdb reads the footer.
 */
async function duckStreamedWithId(file: string, textBytes: string): Promise<number> {
  const rows = await sql(
    `SELECT max(bytes)::BIGINT AS m FROM (SELECT row_group_id, sum(CASE WHEN path_in_schema = 'text' THEN ${textBytes} ELSE total_uncompressed_size END) AS bytes FROM parquet_metadata(${lit(file)}) WHERE path_in_schema IN ('text', 'id') GROUP BY row_group_id)`,
  );
  return Number(rows[0]!["m"]);
}

describe("Loader.largestPieceBytes", () => {
  it("parquet: the largest row group's needed column chunks, uncompressed, as duckdb reports them, where one cannot be streamed (a list of numbers); split pieces still count their whole row group", async () => {
    const file = join(tmp.dir, "groups.parquet");
    // row groups of different sizes: longer texts further on; lz4 (LZ4_RAW), whose text is streamed
    await sql(
      `COPY (SELECT i AS id, repeat('word ' || i::VARCHAR || ' ', 1 + i // 40) AS text, [i, i + 1] AS tags, 'x' AS tag FROM range(400) t(i)) TO ${lit(file)} (FORMAT parquet, ROW_GROUP_SIZE 100, COMPRESSION lz4)`,
    );
    const both = await duckLargest(file, ["text", "tags, list, element"]);
    expect(both).toBeGreaterThan(await duckLargest(file, ["text"]));
    expect(await createLoader({ sources: file, document: { template: "{tags}: {text}" } }).largestPieceBytes()).toBe(both);
    // 8 slots split each row group into parts; each part still decodes its whole row group
    expect(await createLoader({ sources: file, document: { template: "{tags}: {text}" }, worldSize: 8, rank: 3 }).largestPieceBytes()).toBe(both);
    // the text alone is streamed: its compressed bytes; beside a number read whole, the number's decoded bytes too
    expect(await createLoader({ sources: file, document: { field: "text" } }).largestPieceBytes()).toBe(await duckLargest(file, ["text"], "compressed"));
    expect(await createLoader({ sources: file, document: { template: "{id}: {text}" } }).largestPieceBytes()).toBe(await duckStreamedWithId(file, "total_compressed_size"));
  });

  it("parquet: one PLAIN zstd text column is streamed, so only its compressed bytes count; with a number beside it, that number's decoded bytes too", async () => {
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
    // the number is read whole beside the streamed text
    expect(await createLoader({ sources: file, document: { template: "{id}: {text}" } }).largestPieceBytes()).toBe(await duckStreamedWithId(file, "total_compressed_size"));
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
    expect(await createLoader({ sources: file, document: { template: "{id}: {text}" } }).largestPieceBytes()).toBe(await duckStreamedWithId(file, "total_compressed_size + total_uncompressed_size"));
  });

  it("JSONL is read as a stream: 0 whatever its size", async () => {
    const file = join(tmp.dir, "docs.jsonl");
    writeFileSync(file, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ text: `document ${i} `.repeat(20) })).join("\n") + "\n");
    expect(await createLoader({ sources: file, pieceBytes: 10_000 }).largestPieceBytes()).toBe(0);
  });
});
