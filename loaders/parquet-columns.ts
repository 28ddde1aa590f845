/**
 * Which columns of a parquet piece are streamed a value at a time, and the streamed rows as records:
 * flat text columns (`parquet-text.ts`) and nested ones made of text (`parquet-nested.ts`), each read
 * by its own stream, side by side. Small columns beside them (a number, a date, a flag: fixed-width
 * values, a few bytes a row) are decoded whole by `readParquetRows` for the piece's rows, so a
 * document made from text and a number (`{id}: {text}`) still streams its text.
 */
import type { ColumnMetaData, FileMetaData } from "hyparquet";
import { InputFormatError } from "../src/errors.js";
import { CHAT_TURN_FIELDS } from "./document.js";
import { forChunksIn, readParquetRows, topLevelColumn, topLevelColumns } from "./parquet.js";
import { readNestedColumn, streamableNestedColumn, type NestedColumn } from "./parquet-nested.js";
import { afterAllOf, readTextColumn, streamableTextColumn, streamedChunkBytes, type TextColumn } from "./parquet-text.js";
import type { ByteSource } from "./types.js";

/** A small flat column read whole beside streamed ones (see {@link wholeColumn}). */
export interface WholeColumn {
  name: string;
  whole: true;
}

/** A column of a streamed piece: flat text, nested (`shape` set), or small and read whole. */
export type StreamedColumn = TextColumn | NestedColumn | WholeColumn;

export function isNested(c: StreamedColumn): c is NestedColumn {
  return "shape" in c;
}

export function isWhole(c: StreamedColumn): c is WholeColumn {
  return "whole" in c;
}

/** Physical types of fixed width: a column of them decodes to a few bytes a row. */
const FIXED_WIDTH = new Set(["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE"]);
/** Widest FIXED_LEN_BYTE_ARRAY read whole (a UUID, a decimal). */
const FIXED_LEN_MAX = 16;
/**
 * Most decoded bytes of one whole column's chunks in a piece: 8-byte values of a 2M-row group. A
 * larger one leaves the piece to `readParquetRows` (which decodes it anyway).
 */
const WHOLE_COLUMN_MAX_BYTES = 16 << 20;

/**
 * Column `name` when it is a flat (required or optional) column of fixed-width values whose chunks
 * in `[rowStart, rowEnd)` decode to at most {@link WHOLE_COLUMN_MAX_BYTES}.
 */
export function wholeColumn(md: FileMetaData, rowStart: number, rowEnd: number, name: string): WholeColumn | undefined {
  const node = topLevelColumn(md, name);
  if (node === undefined || node.children.length > 0) return undefined;
  const el = node.element;
  if (el.repetition_type === "REPEATED") return undefined;
  if (!FIXED_WIDTH.has(el.type ?? "") && !(el.type === "FIXED_LEN_BYTE_ARRAY" && (el.type_length ?? Infinity) <= FIXED_LEN_MAX)) return undefined;
  let bytes = 0;
  forChunksIn(md, rowStart, rowEnd, [name], (m) => (bytes += Number(m.total_uncompressed_size)));
  return bytes <= WHOLE_COLUMN_MAX_BYTES ? { name, whole: true } : undefined;
}

/**
 * The columns of rows `[rowStart, rowEnd)` read as streams: `columns` (all of the file's top-level
 * columns when undefined) when each can be streamed or read whole beside the others (at least one
 * streamed), else undefined (the rows are read whole by `readParquetRows`). Of `chatColumns`, read
 * only as chat turns, a turn's fields other than `CHAT_TURN_FIELDS` are left out and never read (a
 * number or an image beside the text).
 */
export function streamedColumns(md: FileMetaData, rowStart: number, rowEnd: number, columns: readonly string[] | undefined, chatColumns: readonly string[] = []): StreamedColumn[] | undefined {
  const names = columns ?? topLevelColumns(md);
  const out: StreamedColumn[] = [];
  for (const name of names) {
    const keep = chatColumns.includes(name) ? CHAT_TURN_FIELDS : undefined;
    const col = streamableTextColumn(md, rowStart, rowEnd, name) ?? streamableNestedColumn(md, rowStart, rowEnd, name, keep) ?? wholeColumn(md, rowStart, rowEnd, name);
    if (col === undefined) return undefined;
    out.push(col);
  }
  return out.some((c) => !isWhole(c)) ? out : undefined;
}

/** How `columns` read each leaf, by its path joined with NUL: streamed, or decoded whole. */
function leafReads(columns: readonly StreamedColumn[]): Map<string, "streamed" | "whole"> {
  const reads = new Map<string, "streamed" | "whole">();
  for (const c of columns) {
    if (isNested(c)) for (const l of c.leaves) reads.set(l.path.join("\u0000"), "streamed");
    else reads.set(c.name, isWhole(c) ? "whole" : "streamed");
  }
  return reads;
}

/**
 * What reading `columns` holds of a column chunk: its compressed bytes as streamed
 * (`streamedChunkBytes`), its decoded bytes when read whole, or undefined for a leaf left unread.
 */
export function leafBytes(columns: readonly StreamedColumn[]): (meta: ColumnMetaData) => number | undefined {
  const reads = leafReads(columns);
  return (m) => {
    const how = reads.get(m.path_in_schema.join("\u0000"));
    return how === undefined ? undefined : how === "streamed" ? streamedChunkBytes(m) : Number(m.total_uncompressed_size);
  };
}

/** The leaves `columns` read, as a test of a column chunk's `path_in_schema`. */
export function readsLeaf(columns: readonly StreamedColumn[]): (path: readonly string[]) => boolean {
  const reads = leafReads(columns);
  return (path) => reads.has(path.join("\u0000"));
}

/** One streamed column's values for rows `[rowStart, rowEnd)`, one per row. */
function readColumn(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, column: TextColumn | NestedColumn, onAllRead?: () => void): AsyncGenerator<unknown, void, undefined> {
  return isNested(column) ? readNestedColumn(src, md, rowStart, rowEnd, column, onAllRead) : readTextColumn(src, md, rowStart, rowEnd, column, onAllRead);
}

/**
 * Rows `[rowStart, rowEnd)` of streamed columns as records `{ [column]: value }`: whole columns
 * decoded first, in one call, then each streamed column read by its own stream; a flat text column's
 * bytes are views valid until the generator resumes. `onAllRead` is called once every column's last
 * byte is read.
 */
export async function* readStreamedColumns(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, columns: readonly StreamedColumn[], onAllRead?: () => void): AsyncGenerator<Record<string, unknown>, void, undefined> {
  const streamed = columns.filter((c): c is TextColumn | NestedColumn => !isWhole(c));
  const whole = columns.filter(isWhole).map((c) => c.name);
  const allRead = afterAllOf(streamed.length + (whole.length > 0 ? 1 : 0), onAllRead);
  // records of the whole columns, which the streamed values are then added to
  const wholeRows = whole.length > 0 ? await readParquetRows(src, md, rowStart, rowEnd, whole) : undefined;
  if (wholeRows !== undefined) allRead?.();
  const streams = streamed.map((c) => readColumn(src, md, rowStart, rowEnd, c, allRead));
  try {
    for (let row = rowStart; row < rowEnd; row++) {
      const rec = wholeRows !== undefined ? takeRecord(wholeRows, row - rowStart) : {};
      for (let k = 0; k < streams.length; k++) {
        const r = await streams[k]!.next();
        if (r.done === true) throw new InputFormatError(`column "${streamed[k]!.name}" ends at row ${row}, before row ${rowEnd}: corrupt file`, { file: src.name, row, field: streamed[k]!.name });
        rec[streamed[k]!.name] = r.value;
      }
      yield rec;
    }
  } finally {
    for (const s of streams) await s.return();
  }
}

/** `rows[i]`, dropped from `rows` so that the consumer's copy is the only one left. */
function takeRecord(rows: Record<string, unknown>[], i: number): Record<string, unknown> {
  const rec = rows[i]!;
  rows[i] = undefined as unknown as Record<string, unknown>;
  return rec;
}
