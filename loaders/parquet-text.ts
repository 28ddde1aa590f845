/**
 * One text column of parquet streamed a value at a time, so reading holds one page's compressed
 * bytes and a 128 KiB step of its output instead of a whole row group decoded (hyparquet decodes
 * every page of a column chunk before returning any row). duckdb writes one page per row group:
 * 16 MB decoded for 10k rows of text, ~200 MB for its default 122,880 rows.
 *
 * Streamed: a top-level BYTE_ARRAY column (string-annotated or plain binary, required or optional)
 * whose pages are all PLAIN-encoded, uncompressed or zstd, in data pages v1 or v2. Anything else
 * (dictionaries, other codecs, nested or several columns) is read whole by `readParquetRows`.
 */
import type { ColumnMetaData, FileMetaData, PageHeader } from "hyparquet";
import { InputFormatError } from "../src/errors.js";
import { forRowGroupsIn, topLevelColumn } from "./parquet.js";
import type { ByteSource } from "./types.js";
import { wholePage, zstdPageSteps, type PageSteps } from "./zstd.js";

/** The page-header parser of hyparquet (Thrift compact protocol), loaded with the first page. */
let headerParser: ((reader: { view: DataView; offset: number }) => PageHeader) | undefined;

async function loadHeaderParser(): Promise<(reader: { view: DataView; offset: number }) => PageHeader> {
  return (headerParser ??= (await import("hyparquet/src/column.js")).parquetHeader);
}

const STREAM_CODECS = new Set(["UNCOMPRESSED", "ZSTD"]);
/** Encodings a streamed chunk may list: PLAIN values, RLE definition levels (not the deprecated BIT_PACKED). */
const STREAM_ENCODINGS = new Set(["PLAIN", "RLE"]);

/**
 * A column chunk up to this size is read in one request (exactly the range read-ahead fetched); a
 * larger one {@link READ_WINDOW} at a time, or a page at a time where pages are larger. Reading a
 * 16 MB chunk in windows read its bytes past the first window twice.
 */
const WHOLE_CHUNK_MAX = 32 << 20;
/** Bytes read from the source at a time in a larger chunk. */
const READ_WINDOW = 8 << 20;
/** Bytes first offered to the page-header parser; quadrupled while a header does not fit. */
const HEADER_PROBE = 1 << 16;

/** The chunk of `column` in each row group overlapping rows `[rowStart, rowEnd)`, with the group's first row. */
function chunksIn(md: FileMetaData, rowStart: number, rowEnd: number, column: string): { meta: ColumnMetaData | undefined; first: number; rows: number }[] {
  const out: { meta: ColumnMetaData | undefined; first: number; rows: number }[] = [];
  forRowGroupsIn(md, rowStart, rowEnd, (rg, first, rows) => {
    const c = rg.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === column);
    out.push({ meta: c?.meta_data, first, rows });
  });
  return out;
}

/** A column {@link readTextColumn} can stream. */
export interface TextColumn {
  name: string;
  /** OPTIONAL (its pages carry definition levels) rather than REQUIRED. */
  optional: boolean;
}

/**
 * Whether rows `[rowStart, rowEnd)` of `columns` (all when undefined) can be read by
 * {@link readTextColumn}: the column when they can, else undefined.
 */
export function streamableTextColumn(md: FileMetaData, rowStart: number, rowEnd: number, columns: readonly string[] | undefined): TextColumn | undefined {
  // one top-level column asked for (or a file of one column), which is a leaf
  const name = columns !== undefined ? (columns.length === 1 ? columns[0] : undefined) : md.schema[0]?.num_children === 1 ? md.schema[1]?.name : undefined;
  const node = name === undefined ? undefined : topLevelColumn(md, name);
  if (name === undefined || node === undefined || node.children.length > 0) return undefined;
  const el = node.element;
  if (el.type !== "BYTE_ARRAY") return undefined;
  if (el.repetition_type !== "REQUIRED" && el.repetition_type !== "OPTIONAL") return undefined;
  const text = el.converted_type === "UTF8" || el.logical_type?.type === "STRING";
  if (!text && (el.converted_type !== undefined || el.logical_type !== undefined)) return undefined; // JSON, ENUM, …
  for (const { meta } of chunksIn(md, rowStart, rowEnd, name)) {
    if (meta === undefined || !STREAM_CODECS.has(meta.codec) || meta.encodings.some((e) => !STREAM_ENCODINGS.has(e))) return undefined;
    if (meta.dictionary_page_offset !== undefined && meta.dictionary_page_offset > 0n) return undefined;
    if (meta.encoding_stats?.some((s) => s.page_type === "DICTIONARY_PAGE" || ((s.page_type === "DATA_PAGE" || s.page_type === "DATA_PAGE_V2") && s.encoding !== "PLAIN"))) return undefined;
  }
  return { name, optional: el.repetition_type === "OPTIONAL" };
}

/** The bytes of one column chunk, read from the source a window at a time. */
class ChunkBytes {
  private buf = new Uint8Array(0);
  /** Source offset of `buf[0]`. */
  private bufStart: number;
  /** Source offset of the next unread byte. */
  pos: number;
  /** Bytes to read at least when more are needed. */
  private readonly window: number;

  constructor(
    private readonly src: ByteSource,
    start: number,
    readonly end: number,
    private readonly onAllRead: (() => void) | undefined,
  ) {
    this.bufStart = this.pos = start;
    this.window = end - start <= WHOLE_CHUNK_MAX ? end - start : READ_WINDOW;
  }

  /** Makes `[pos, pos + n)` one contiguous view in memory (n ≤ end − pos). */
  async ensure(n: number): Promise<void> {
    if (this.pos + n <= this.bufStart + this.buf.byteLength) return;
    const to = Math.min(this.end, this.pos + Math.max(n, this.window));
    this.buf = new Uint8Array(await this.src.slice(this.pos, to));
    this.bufStart = this.pos;
    if (this.buf.byteLength !== to - this.pos) throw new Error(`read ${this.buf.byteLength} bytes at offset ${this.pos}, expected ${to - this.pos}: the file is shorter than its footer says`);
    if (to === this.end) this.onAllRead?.();
  }

  /** Steps over `n` bytes without reading them. */
  skip(n: number): void {
    this.pos += n;
  }

  /** The next `n` bytes (after {@link ensure}), as a view valid until the next `ensure`. */
  take(n: number): Uint8Array {
    const at = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(at, at + n);
  }

  /** A view of what is loaded from `pos` on. */
  loaded(): DataView {
    const at = this.pos - this.bufStart;
    return new DataView(this.buf.buffer, this.buf.byteOffset + at, this.buf.byteLength - at);
  }
}

/** Reads a page's header at `bytes.pos`, loading more of the chunk while it does not fit. */
async function pageHeader(bytes: ChunkBytes): Promise<PageHeader> {
  const parse = await loadHeaderParser();
  for (let probe = HEADER_PROBE; ; probe *= 4) {
    const n = Math.min(probe, bytes.end - bytes.pos);
    await bytes.ensure(n);
    const reader = { view: bytes.loaded(), offset: 0 };
    try {
      const h = parse(reader); // a header past the loaded bytes throws a RangeError: load more
      bytes.take(reader.offset);
      return h;
    } catch (err) {
      if (n === bytes.end - bytes.pos) throw new Error(`unreadable page header at offset ${bytes.pos} (${err instanceof Error ? err.message : String(err)})`);
    }
  }
}

/**
 * Definition levels of bit width 1 (RLE / bit-packed hybrid, as parquet writes them for a top-level
 * optional column) into `out[0, count)`; returns the bytes read.
 */
function readLevels(bytes: Uint8Array, count: number, out: Uint8Array): number {
  let p = 0;
  let i = 0;
  while (i < count) {
    let h = 0;
    let scale = 1;
    let b: number;
    do {
      if (p >= bytes.byteLength) throw new Error("definition levels end early");
      b = bytes[p++]!;
      h += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    if (h % 2 === 1) {
      // bit-packed: groups of 8 values, one byte per group at width 1
      const groups = (h - 1) / 2;
      if (p + groups > bytes.byteLength) throw new Error("definition levels end early");
      for (let g = 0; g < groups; g++) {
        const v = bytes[p++]!;
        for (let k = 0; k < 8 && i < count; k++) out[i++] = (v >> k) & 1;
      }
    } else {
      if (p >= bytes.byteLength) throw new Error("definition levels end early");
      const run = h / 2;
      const v = bytes[p++]! & 1;
      out.fill(v, i, Math.min(count, i + run));
      i += run;
    }
  }
  return p;
}

/** A page's values region as a byte stream over its steps (see `zstdPageSteps`). */
class StepReader {
  private cur: Uint8Array = new Uint8Array(0);
  private off = 0;
  private carry = new Uint8Array(1 << 12);

  constructor(private readonly steps: PageSteps) {}

  /** The current step, viewed afresh when another reader's page grew the memory under it (`PageSteps.current`). */
  private step(): Uint8Array {
    if (this.cur.byteLength === 0 && this.off > 0) this.cur = this.steps.current()!;
    return this.cur;
  }

  /** The next `n` bytes as one view, valid until the next call (copied only across a step boundary). */
  bytes(n: number): Uint8Array {
    const c = this.step();
    if (c.byteLength - this.off >= n) {
      const v = c.subarray(this.off, this.off + n);
      this.off += n;
      return v;
    }
    if (this.carry.byteLength < n) this.carry = new Uint8Array(Math.max(n, 2 * this.carry.byteLength));
    let have = this.cur.byteLength - this.off;
    this.carry.set(this.cur.subarray(this.off), 0);
    while (have < n) {
      const s = this.steps.next();
      if (s === undefined) throw new Error(`page values end early (${n - have} bytes short)`);
      const k = Math.min(n - have, s.byteLength);
      this.carry.set(s.subarray(0, k), have);
      have += k;
      this.cur = s;
      this.off = k;
    }
    return this.carry.subarray(0, n);
  }

  /** A little-endian u32. */
  u32(): number {
    const c = this.step();
    const o = this.off;
    if (c.byteLength - o >= 4) {
      this.off = o + 4;
      return (c[o]! | (c[o + 1]! << 8) | (c[o + 2]! << 16) | (c[o + 3]! << 24)) >>> 0;
    }
    const b = this.bytes(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  close(): void {
    this.steps.close();
  }
}

/** A page's body (after its levels), decompressed step by step. */
function valueSteps(body: Uint8Array, codec: string, size: number): PageSteps {
  if (codec === "ZSTD") return zstdPageSteps(body, size);
  if (body.byteLength !== size) throw new Error(`uncompressed page holds ${body.byteLength} bytes, its header says ${size}`);
  return wholePage(body);
}

/**
 * The values of `column` (see {@link streamableTextColumn}) for rows `[rowStart, rowEnd)`, one per
 * row in order: the value's UTF-8 bytes, or null. Each view is valid until the generator resumes.
 * `onAllRead` is called once the last byte the range needs has been read from the source. Errors name
 * the file and the row.
 */
export async function* readTextColumn(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, text: TextColumn, onAllRead?: () => void): AsyncGenerator<Uint8Array | null, void, undefined> {
  const { name: column, optional } = text;
  const chunks = chunksIn(md, rowStart, rowEnd, column);
  let row = rowStart; // the next row to yield
  let levels = new Uint8Array(0);
  for (let c = 0; c < chunks.length; c++) {
    const { meta, first, rows } = chunks[c]!;
    if (meta === undefined) throw new InputFormatError(`row group at row ${first} has no column chunk "${column}"`, { file: src.name, row: first, field: column });
    const start = Number(meta.data_page_offset);
    const bytes = new ChunkBytes(src, start, start + Number(meta.total_compressed_size), c === chunks.length - 1 ? onAllRead : undefined);
    const stop = Math.min(first + rows, rowEnd);
    let pageRow = first;
    let values: StepReader | undefined;
    try {
      while (pageRow < stop) {
        if (bytes.pos >= bytes.end) throw new Error(`column chunk ends after ${pageRow - first} of its ${rows} rows`);
        let h: PageHeader;
        try {
          h = await pageHeader(bytes);
        } catch (err) {
          throw corrupt(src, pageRow, column, err);
        }
        const size = h.compressed_page_size;
        if (size < 0 || bytes.pos + size > bytes.end) throw corrupt(src, pageRow, column, new Error(`page of ${size} bytes runs past its column chunk`));
        const n = h.data_page_header?.num_values ?? h.data_page_header_v2?.num_values;
        if (n === undefined) {
          if (h.type === "DICTIONARY_PAGE") throw corrupt(src, pageRow, column, new Error("dictionary page in a chunk whose metadata lists no dictionary encoding"));
          bytes.skip(size); // an index page, or another page type readers may skip
          continue;
        }
        if (pageRow + n <= row) {
          bytes.skip(size); // every row of this page is before the range: not even read
          pageRow += n;
          continue;
        }
        await bytes.ensure(size);
        const page = bytes.take(size);
        let defs: Uint8Array | undefined;
        try {
          if (levels.byteLength < n) levels = new Uint8Array(n);
          if (h.data_page_header !== undefined) {
            if (h.data_page_header.encoding !== "PLAIN") throw new Error(`page encoding ${h.data_page_header.encoding} where the metadata lists PLAIN only`);
            values = new StepReader(valueSteps(page, meta.codec, h.uncompressed_page_size));
            // v1: definition levels (length-prefixed) lead the decompressed page
            if (optional) {
              const enc = h.data_page_header.definition_level_encoding;
              if (enc !== "RLE") throw new Error(`definition levels in ${enc} encoding, expected RLE`);
              const len = values.u32();
              readLevels(values.bytes(len), n, levels);
              defs = levels;
            }
          } else {
            const v2 = h.data_page_header_v2!;
            if (v2.encoding !== "PLAIN") throw new Error(`page encoding ${v2.encoding} where the metadata lists PLAIN only`);
            const levelBytes = v2.repetition_levels_byte_length + v2.definition_levels_byte_length;
            if (v2.definition_levels_byte_length > 0) {
              readLevels(page.subarray(v2.repetition_levels_byte_length, levelBytes), n, levels);
              defs = levels;
            }
            const bodySize = h.uncompressed_page_size - levelBytes;
            values = new StepReader(valueSteps(page.subarray(levelBytes), v2.is_compressed === false ? "UNCOMPRESSED" : meta.codec, bodySize));
          }
        } catch (err) {
          throw corrupt(src, pageRow, column, err);
        }
        for (let i = 0; i < n; i++, pageRow++) {
          let v: Uint8Array | null = null;
          try {
            if (defs === undefined || defs[i] === 1) v = values.bytes(values.u32());
          } catch (err) {
            throw corrupt(src, pageRow, column, err);
          }
          if (pageRow < row) continue;
          if (pageRow >= stop) break;
          yield v;
          row = pageRow + 1;
        }
        values.close();
        values = undefined;
      }
    } finally {
      values?.close();
    }
  }
}

function corrupt(src: ByteSource, row: number, column: string, err: unknown): InputFormatError {
  const msg = err instanceof Error ? err.message : String(err);
  return new InputFormatError(`cannot read column "${column}" near row ${row}: ${msg}: corrupt file`, { file: src.name, row, field: column }, { cause: err });
}
