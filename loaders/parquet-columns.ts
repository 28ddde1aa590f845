/**
 * Which columns of a parquet piece are streamed a value at a time, and the streamed rows as records:
 * flat text columns (`parquet-text.ts`) and nested ones made of text (`parquet-nested.ts`), each read
 * by its own stream, side by side.
 */
import type { FileMetaData } from "hyparquet";
import { InputFormatError } from "../src/errors.js";
import { CHAT_TURN_FIELDS } from "./document.js";
import { topLevelColumns } from "./parquet.js";
import { readNestedColumn, streamableNestedColumn, type NestedColumn } from "./parquet-nested.js";
import { afterAllOf, readTextColumn, streamableTextColumn, type TextColumn } from "./parquet-text.js";
import type { ByteSource } from "./types.js";

/** A column read as a stream: flat text, or nested (`shape` set). */
export type StreamedColumn = TextColumn | NestedColumn;

export function isNested(c: StreamedColumn): c is NestedColumn {
  return "shape" in c;
}

/**
 * The columns of rows `[rowStart, rowEnd)` read as streams: `columns` (all of the file's top-level
 * columns when undefined) when each can be, else undefined (the rows are read whole by
 * `readParquetRows`). Of `chatColumns`, read only as chat turns, a turn's fields other than
 * `CHAT_TURN_FIELDS` are left out and never read (a number or an image beside the text).
 */
export function streamedColumns(md: FileMetaData, rowStart: number, rowEnd: number, columns: readonly string[] | undefined, chatColumns: readonly string[] = []): StreamedColumn[] | undefined {
  const names = columns ?? topLevelColumns(md);
  if (names.length === 0) return undefined;
  const out: StreamedColumn[] = [];
  for (const name of names) {
    const keep = chatColumns.includes(name) ? CHAT_TURN_FIELDS : undefined;
    const col = streamableTextColumn(md, rowStart, rowEnd, name) ?? streamableNestedColumn(md, rowStart, rowEnd, name, keep);
    if (col === undefined) return undefined;
    out.push(col);
  }
  return out;
}

/** The leaves streamed columns read, as a test of a column chunk's `path_in_schema`. */
export function readsLeaf(columns: readonly StreamedColumn[]): (path: readonly string[]) => boolean {
  const paths = new Set<string>();
  for (const c of columns) {
    if (isNested(c)) for (const l of c.leaves) paths.add(l.path.join("\u0000"));
    else paths.add(c.name);
  }
  return (path) => paths.has(path.join("\u0000"));
}

/** One column's values for rows `[rowStart, rowEnd)`, one per row. */
function readColumn(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, column: StreamedColumn, onAllRead?: () => void): AsyncGenerator<unknown, void, undefined> {
  return isNested(column) ? readNestedColumn(src, md, rowStart, rowEnd, column, onAllRead) : readTextColumn(src, md, rowStart, rowEnd, column, onAllRead);
}

/**
 * Rows `[rowStart, rowEnd)` of streamed columns as records `{ [column]: value }`, each column read by
 * its own stream; a flat column's bytes are views valid until the generator resumes. `onAllRead` is
 * called once every column's last byte is read.
 */
export async function* readStreamedColumns(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, columns: readonly StreamedColumn[], onAllRead?: () => void): AsyncGenerator<Record<string, unknown>, void, undefined> {
  const allRead = afterAllOf(columns.length, onAllRead);
  const streams = columns.map((c) => readColumn(src, md, rowStart, rowEnd, c, allRead));
  try {
    for (let row = rowStart; row < rowEnd; row++) {
      const rec: Record<string, unknown> = {};
      for (let k = 0; k < streams.length; k++) {
        const r = await streams[k]!.next();
        if (r.done === true) throw new InputFormatError(`column "${columns[k]!.name}" ends at row ${row}, before row ${rowEnd}: corrupt file`, { file: src.name, row, field: columns[k]!.name });
        rec[columns[k]!.name] = r.value;
      }
      yield rec;
    }
  } finally {
    for (const s of streams) await s.return();
  }
}
