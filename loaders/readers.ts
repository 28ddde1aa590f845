/**
 * Reads one piece of the plan as raw records: JSONL lines, JSON-array elements or parquet rows. The
 * reader keeps a {@link Cursor} current before each yield (where the record is, and where to resume
 * after it), which is what `loader.state()` saves.
 */
import type { FileMetaData } from "hyparquet";
import { InputFormatError, MissingFieldError, TokpackError } from "../src/errors.js";
import { readSequential } from "./bytes.js";
import { decompress } from "./codec.js";
import { splitJsonArray } from "./jsonarray.js";
import type { ElementPos } from "./jsonarray.js";
import { splitLines } from "./lines.js";
import type { LinePos } from "./lines.js";
import { readParquetRows, topLevelColumns } from "./parquet.js";
import { isNested, isWhole, readStreamedColumns, streamedColumns } from "./parquet-columns.js";
import { readTextColumn } from "./parquet-text.js";
import type { Piece } from "./plan.js";
import type { InputFile } from "./resolve.js";
import type { ByteSource, LoaderStats, RawRecord } from "./types.js";

/** Where to resume inside a piece: byte offset + line (seekable JSONL), line (streams) or row. */
export interface PiecePos {
  offset?: number;
  line?: number;
  row?: number;
}

/** Updated before each yield: the yielded record's location and the resume point after it. */
export interface Cursor {
  /** 1-based line of the record (JSONL), 0 when unknown. */
  line: number;
  /** 0-based row (parquet row, JSON-array element), -1 for JSONL. */
  row: number;
  /** Byte offset of the record's line (JSONL). */
  offset: number;
  /** Resume point after the yielded record: -1 marks a field that does not apply. */
  nextOffset: number;
  nextLine: number;
  nextRow: number;
}

/** A fresh cursor. */
export function newCursor(): Cursor {
  return { line: 0, row: -1, offset: 0, nextOffset: -1, nextLine: -1, nextRow: -1 };
}

/** The cursor's resume point as a small JSON object. */
export function resumePoint(cur: Cursor): PiecePos {
  const p: PiecePos = {};
  if (cur.nextOffset >= 0) p.offset = cur.nextOffset;
  if (cur.nextLine >= 0) p.line = cur.nextLine;
  if (cur.nextRow >= 0) p.row = cur.nextRow;
  return p;
}

/** What a piece reader needs besides the piece. */
export interface ReadContext {
  file: InputFile;
  src: ByteSource;
  footer: FileMetaData | undefined;
  /** Parquet columns to read; `undefined` = all. */
  columns: string[] | undefined;
  /** Of those, the ones read only as chat turns (see `chatTurnColumns`). */
  chatColumns?: readonly string[];
  skipBad: boolean;
  stats: LoaderStats;
  /**
   * Called once a parquet piece's bytes are read (its rows decoded, or a streamed column's last page
   * loaded): a chance to start reading the next piece.
   */
  onRowsRead?: () => void;
}

/** Raw records of `piece` from `resume` on (its start when undefined). */
export function readPiece(piece: Piece, resume: PiecePos | undefined, ctx: ReadContext, cur: Cursor): AsyncGenerator<RawRecord> {
  switch (piece.kind) {
    case "lines":
      return readLines(piece, resume, ctx, cur);
    case "array":
      return readArray(piece, resume, ctx, cur);
    case "parquet":
      return readParquet(piece, resume, ctx, cur);
  }
}

/** 1-based line number of the line starting at `offset` (counts newlines before it; used for errors only). */
async function lineAt(src: ByteSource, offset: number): Promise<number> {
  let n = 1;
  for await (const c of readSequential(src, 0, offset)) for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) n++;
  return n;
}

function parseObject(text: string): RawRecord {
  const v: unknown = JSON.parse(text);
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new SyntaxError(`expected a JSON object, got ${v === null ? "null" : Array.isArray(v) ? "an array" : typeof v}`);
  return v as RawRecord;
}

/**
 * One JSONL line or JSON-array element as a record. A malformed one is counted in
 * `stats.skippedBad` and gives `undefined` under `skipBad`; otherwise its parse error is returned
 * (never thrown) so the caller can name the location — a JSONL piece starting mid-file has to count
 * lines first, which is async. `JSON.parse` yields plain objects, so `instanceof Error` tells them apart.
 */
function parseOrSkip(text: string, ctx: ReadContext): RawRecord | Error | undefined {
  try {
    return parseObject(text);
  } catch (err) {
    if (!ctx.skipBad) return err as Error;
    ctx.stats.skippedBad++;
    return undefined;
  }
}

function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

const REUSE = { reuseChunks: true } as const;

async function* readLines(piece: Piece, resume: PiecePos | undefined, ctx: ReadContext, cur: Cursor): AsyncGenerator<RawRecord> {
  const { src, file } = ctx;
  const pos: LinePos = { start: 0, next: 0, line: 0 };
  const ranged = piece.end >= 0;
  let lines: AsyncGenerator<string>;
  if (ranged) {
    const start = resume?.offset ?? piece.start;
    const skipPartial = resume === undefined && start > 0;
    const from = skipPartial ? start - 1 : start;
    const firstLine = resume?.line ?? (piece.start === 0 ? 1 : 0);
    // splitLines keeps no chunk once it asks for the next, so plain text may be read into reused memory
    lines = splitLines(readSequential(src, from, src.byteLength, REUSE), pos, { base: from, skipPartial, end: piece.end, firstLine });
  } else {
    // a decompressor may still hold its input chunks: those get fresh memory
    const raw = readSequential(src, 0, src.byteLength, file.codec === "none" ? REUSE : undefined);
    lines = splitLines(decompress(raw, file.codec, file.name), pos, { skipBefore: resume?.line ?? 1 });
  }
  cur.row = -1;
  cur.nextRow = -1;
  for await (const text of lines) {
    if (piece.stride > 1 && (pos.line - 1) % piece.stride !== piece.phase) continue;
    cur.line = pos.line;
    cur.offset = pos.start;
    cur.nextOffset = ranged ? pos.next : -1;
    cur.nextLine = pos.line ? pos.line + 1 : 0;
    const rec = parseOrSkip(text, ctx);
    if (rec === undefined) continue;
    if (rec instanceof Error) {
      const line = pos.line || (await lineAt(src, pos.start));
      throw new InputFormatError(`malformed JSON (${rec.message}) in ${preview(text)}; fix the line or pass skipBad / --skip-bad`, { file: file.name, line }, { cause: rec });
    }
    yield rec;
  }
}

async function* readArray(piece: Piece, resume: PiecePos | undefined, ctx: ReadContext, cur: Cursor): AsyncGenerator<RawRecord> {
  const { src, file } = ctx;
  const pos: ElementPos = { row: 0, offset: 0 };
  cur.line = 0;
  cur.nextOffset = -1;
  cur.nextLine = -1;
  for await (const text of splitJsonArray(decompress(readSequential(src), file.codec, file.name), file.name, pos, resume?.row ?? 0)) {
    if (piece.stride > 1 && pos.row % piece.stride !== piece.phase) continue;
    cur.row = pos.row;
    cur.offset = pos.offset;
    cur.nextRow = pos.row + 1;
    const rec = parseOrSkip(text, ctx);
    if (rec === undefined) continue;
    if (rec instanceof Error) {
      throw new InputFormatError(`malformed JSON array element (${rec.message}) in ${preview(text)}`, { file: file.name, row: pos.row, offset: pos.offset }, { cause: rec });
    }
    yield rec;
  }
}

/** Columns to read for a spec's needs; a missing one fails before any data is read. */
export function checkColumns(file: string, md: FileMetaData, wanted: string[] | undefined): string[] | undefined {
  if (!wanted) return undefined;
  const have = topLevelColumns(md);
  for (const w of wanted) {
    if (!have.includes(w)) throw new MissingFieldError(`no column "${w}"; the file has: ${have.map((h) => JSON.stringify(h)).join(", ")}`, { file, field: w }, have);
  }
  return wanted;
}

async function* readParquet(piece: Piece, resume: PiecePos | undefined, ctx: ReadContext, cur: Cursor): AsyncGenerator<RawRecord> {
  const md = ctx.footer;
  if (!md) throw new TokpackError("ERR_INTERNAL", "parquet piece without a footer", { file: ctx.file.name });
  const from = resume?.row ?? piece.start;
  if (from >= piece.end) return;
  cur.line = 0;
  cur.offset = 0;
  cur.nextOffset = -1;
  cur.nextLine = -1;
  const text = streamedColumns(md, from, piece.end, ctx.columns, ctx.chatColumns);
  if (text !== undefined) {
    // text columns, flat or nested, streamed a value at a time side by side, and small columns read whole beside them (see parquet-columns.ts)
    let row = from;
    const only = text.length === 1 ? text[0]! : undefined;
    if (only !== undefined && !isNested(only) && !isWhole(only)) {
      // one column read straight from its stream: a generator less between the page and the record
      const name = only.name;
      for await (const v of readTextColumn(ctx.src, md, from, piece.end, only, ctx.onRowsRead)) {
        cur.row = row;
        cur.nextRow = ++row;
        yield { [name]: v };
      }
    } else {
      for await (const rec of readStreamedColumns(ctx.src, md, from, piece.end, text, ctx.onRowsRead)) {
        cur.row = row;
        cur.nextRow = ++row;
        yield rec;
      }
    }
    if (row !== piece.end) throw new InputFormatError(`expected ${piece.end - from} rows, the file gave ${row - from}: corrupt row group`, { file: ctx.src.name, row });
    return;
  }
  const rows = await readParquetRows(ctx.src, md, from, piece.end, ctx.columns, true);
  ctx.onRowsRead?.();
  for (let i = 0; i < rows.length; i++) {
    const row = from + i;
    cur.row = row;
    cur.nextRow = row + 1;
    yield rows[i]!;
    rows[i] = undefined as unknown as RawRecord; // let the consumer's copy be the only reference
  }
}
