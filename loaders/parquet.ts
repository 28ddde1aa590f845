/**
 * Parquet through hyparquet (+ hyparquet-compressors for gzip/zstd/lz4/brotli): the footer once per
 * file, then one row range at a time (at most one row group) and only the needed columns, so memory
 * follows the row group read, not the file. Any failure inside hyparquet (corrupt pages, bad
 * headers, unsupported encodings) becomes an {@link InputFormatError} naming the file.
 */
import { parquetMetadataAsync, parquetRead, parquetSchema } from "hyparquet";
import type { FileMetaData } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { InputFormatError, TokpackError } from "../src/errors.js";
import type { ByteSource, RawRecord } from "./types.js";

/** The footer of a parquet file; errors name the file. */
export async function parquetFooter(src: ByteSource): Promise<FileMetaData> {
  if (src.byteLength < 12) throw new InputFormatError(`too small to be parquet (${src.byteLength} bytes)`, { file: src.name });
  try {
    const md = await parquetMetadataAsync(src);
    parquetSchema(md); // validates the schema tree now, not at the first row group
    let total = 0n;
    for (const rg of md.row_groups) {
      if (rg.num_rows < 0n) throw new Error(`row group with ${rg.num_rows} rows`);
      total += rg.num_rows;
    }
    if (total !== md.num_rows) throw new Error(`row groups hold ${total} rows but the footer says ${md.num_rows}`);
    return md;
  } catch (err) {
    throw wrap(err, src.name, "cannot read the parquet footer");
  }
}

/** Top-level column names in schema order. */
export function topLevelColumns(md: FileMetaData): string[] {
  return parquetSchema(md).children.map((c) => c.element.name);
}

/** First row of each row group, plus the total at the end (length = row groups + 1). */
export function rowGroupStarts(md: FileMetaData): number[] {
  const starts = [0];
  let at = 0;
  for (const rg of md.row_groups) {
    at += Number(rg.num_rows);
    starts.push(at);
  }
  return starts;
}

/**
 * Rows `[rowStart, rowEnd)` as objects of the given columns (all when `undefined`). Binary columns
 * without a string annotation come back as `Uint8Array`; strings as strings.
 */
export async function readParquetRows(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, columns: string[] | undefined): Promise<RawRecord[]> {
  let rows: RawRecord[] | undefined;
  try {
    await parquetRead({
      file: src,
      metadata: md,
      rowStart,
      rowEnd,
      ...(columns ? { columns } : {}),
      compressors,
      utf8: false,
      rowFormat: "object",
      onComplete: (r) => {
        rows = r;
      },
    });
  } catch (err) {
    throw wrap(err, src.name, `cannot read rows ${rowStart}..${rowEnd}`, rowStart);
  }
  if (!rows || rows.length !== rowEnd - rowStart) {
    throw new InputFormatError(`expected ${rowEnd - rowStart} rows, the file gave ${rows?.length ?? 0}: corrupt row group`, { file: src.name, row: rowStart });
  }
  return rows;
}

function wrap(err: unknown, file: string, what: string, row?: number): TokpackError {
  if (err instanceof TokpackError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new InputFormatError(`${what}: ${why} (corrupt or unsupported parquet)`, row === undefined ? { file } : { file, row }, { cause: err });
}
