/**
 * Parquet through hyparquet (+ hyparquet-compressors for snappy/gzip/lz4/brotli, zstd via `zstd.ts`): the footer once per
 * file, then one row range at a time (at most one row group) and only the needed columns, so memory
 * follows the row group read, not the file. Any failure inside hyparquet (corrupt pages, bad
 * headers, unsupported encodings) becomes an {@link InputFormatError} naming the file.
 */
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import type { FileMetaData, SchemaTree } from "hyparquet";
import type { compressors as Compressors } from "hyparquet-compressors";
import { InputFormatError, TokpackError } from "../src/errors.js";
import type { ByteSource, RawRecord } from "./types.js";
import { PageArena } from "./page-arena.js";
import { snappyPages, type SnappyPages } from "./snappy.js";
import { zstdDecoder, zstdDecompressInto, zstdOneShot } from "./zstd.js";

/**
 * hyparquet and hyparquet-compressors are imported on first use (a footer read, a page of a codec
 * decoded in JS): ~110 ms of module loading that a JSONL run, and each worker thread of one, skips.
 */
let hyparquetModule: typeof import("hyparquet") | undefined;
let jsCompressors: typeof Compressors | undefined;

async function loadHyparquet(): Promise<typeof import("hyparquet")> {
  return (hyparquetModule ??= await import("hyparquet"));
}

/** hyparquet for synchronous callers, which only run on a footer that was read (and so loaded it). */
function hyparquet(): typeof import("hyparquet") {
  if (hyparquetModule === undefined) throw new TokpackError("ERR_INTERNAL", "parquet schema used before any footer was read");
  return hyparquetModule;
}

/** Codecs decoded without hyparquet-compressors (snappy only with a page store: see `codecsWith`). */
const NATIVE_CODECS = new Set(["UNCOMPRESSED", "ZSTD", "GZIP", "BROTLI"]);

/** Loads hyparquet-compressors when one of `codecs` has no native decoder here. */
async function loadJsCompressors(codecs: ReadonlySet<string>, snappyNative: boolean): Promise<void> {
  if (jsCompressors !== undefined) return;
  for (const c of codecs) {
    if (!NATIVE_CODECS.has(c) && !(c === "SNAPPY" && snappyNative)) {
      jsCompressors = (await import("hyparquet-compressors")).compressors;
      return;
    }
  }
}

/** The codecs of the column chunks `readParquetRows` will read. */
function codecsIn(md: FileMetaData, rowStart: number, rowEnd: number, columns: string[] | undefined): Set<string> {
  const codecs = new Set<string>();
  forChunksIn(md, rowStart, rowEnd, columns, (m) => codecs.add(m.codec));
  return codecs;
}

type ColumnMeta = NonNullable<FileMetaData["row_groups"][number]["columns"][number]["meta_data"]>;

type RowGroup = FileMetaData["row_groups"][number];

/** Calls `f` with every row group overlapping rows `[rowStart, rowEnd)`, its first row and its row count. */
export function forRowGroupsIn(md: FileMetaData, rowStart: number, rowEnd: number, f: (rg: RowGroup, first: number, rows: number) => void): void {
  let at = 0;
  for (const rg of md.row_groups) {
    const n = Number(rg.num_rows);
    if (at < rowEnd && at + n > rowStart) f(rg, at, n);
    at += n;
  }
}

/** Calls `f` with the metadata of every chunk of `columns` (all when undefined) in row groups overlapping the rows. */
export function forChunksIn(md: FileMetaData, rowStart: number, rowEnd: number, columns: readonly string[] | undefined, f: (m: ColumnMeta) => void): void {
  forRowGroupsIn(md, rowStart, rowEnd, (rg) => {
    for (const c of rg.columns) {
      const m = c.meta_data;
      if (m && (!columns || columns.includes(m.path_in_schema[0] ?? ""))) f(m);
    }
  });
}

/** A page that decompressed to the wrong size is corrupt (the footer's size is what hyparquet decodes). */
function sized(out: Uint8Array, outputLength: number, codec: string): Uint8Array {
  if (out.byteLength !== outputLength) throw new Error(`${codec} page decompressed to ${out.byteLength} bytes, expected ${outputLength}: corrupt data`);
  return out;
}

/** A gzip page (`outputLength` bytes) in one output chunk of its size: no growing and joining of 64 KiB pieces. */
export function gunzipPage(input: Uint8Array, outputLength: number): Uint8Array {
  return sized(gunzipSync(input, { chunkSize: Math.max(64, outputLength + 1) }), outputLength, "gzip");
}

/** A brotli page decoded by node:zlib in one output chunk of the page's size. */
export function unbrotliPage(input: Uint8Array, outputLength: number): Uint8Array {
  return sized(brotliDecompressSync(input, { chunkSize: Math.max(64, outputLength + 1) }), outputLength, "brotli");
}

/**
 * hyparquet-compressors' decoders (lz4 in JS; snappy in WebAssembly when no `snappy` store is
 * given), with the rest swapped for faster ones: snappy in the same WebAssembly decoder but leaving
 * pages in `snappy`'s memory instead of a fresh copy per page (`snappy.ts`); zstd in zstddec's
 * WebAssembly instead of the pure-JS fzstd, into memory from `alloc` (`zstd.ts`); gzip and brotli in
 * node:zlib's native code instead of pure JS (gzip pages ~2× faster end to end).
 */
function codecsWith(alloc: (bytes: number) => Uint8Array, snappy?: SnappyPages): typeof Compressors {
  return {
    ...jsCompressors,
    ...(snappy !== undefined ? { SNAPPY: (input: Uint8Array, outputLength: number) => snappy.decompress(input, outputLength) } : {}),
    ZSTD: (input: Uint8Array, outputLength: number) => zstdDecompressInto(input, alloc(outputLength)),
    GZIP: gunzipPage,
    BROTLI: unbrotliPage,
  };
}

/** The footer of a parquet file; errors name the file. */
export async function parquetFooter(src: ByteSource): Promise<FileMetaData> {
  if (src.byteLength < 12) throw new InputFormatError(`too small to be parquet (${src.byteLength} bytes)`, { file: src.name });
  try {
    // 64 KiB covers most footers; hyparquet fetches the rest when one is larger (default: 512 KiB)
    const { parquetMetadataAsync, parquetSchema } = await loadHyparquet();
    const md = await parquetMetadataAsync(src, { initialFetchSize: 64 * 1024 });
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
  return hyparquet().parquetSchema(md).children.map((c) => c.element.name);
}

/** The schema node of the top-level column `name`, or undefined. */
export function topLevelColumn(md: FileMetaData, name: string): SchemaTree | undefined {
  return hyparquet().parquetSchema(md).children.find((c) => c.element.name === name);
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

/** A source's page memory. */
interface PageMemory {
  pages: PageArena;
  /** null until a snappy page is read; undefined when hysnappy's module cannot be loaded. */
  snappy: SnappyPages | undefined | null;
}

/** Each source's page memory (a source is read by one loader, one row range at a time). */
const arenas = new WeakMap<ByteSource, PageMemory>();

/**
 * The page memory of the last source closed on this thread, for the next one. A pipeline worker
 * opens a source per piece, and datasets come as many files: a fresh WebAssembly memory per source
 * cost a page fault per 4 KiB of every row group (20 one-row-group pieces of snappy text read one
 * loader each: 3.0–3.9 s, against 1.5–1.6 s for one loader over the same file).
 */
let spare: PageMemory | undefined;

/** Say that `src` is closed: its page memory goes to the next source this thread reads. */
export function releasePageMemory(src: ByteSource): void {
  const m = arenas.get(src);
  if (m === undefined) return;
  arenas.delete(src);
  spare = m;
}

/**
 * What a snappy page store needs for rows `[rowStart, rowEnd)`: the uncompressed size of their
 * snappy column chunks (`pages`; 0 when none is snappy), and room for the largest one's input.
 */
function snappyBytes(md: FileMetaData, rowStart: number, rowEnd: number, columns: string[] | undefined): { pages: number; input: number } {
  let pages = 0;
  let input = 0;
  forChunksIn(md, rowStart, rowEnd, columns, (m) => {
    if (m.codec !== "SNAPPY") return;
    pages += Number(m.total_uncompressed_size);
    input = Math.max(input, Number(m.total_compressed_size));
  });
  return { pages, input };
}


/** Keeps string values as their UTF-8 bytes (views into the decoded page). */
const rawStrings = { stringFromBytes: (b: Uint8Array) => b };

/**
 * Rows `[rowStart, rowEnd)` as objects of the given columns (all when `undefined`). Binary columns
 * without a string annotation come back as `Uint8Array`; strings as strings, or — with `lazyStrings` —
 * as their UTF-8 bytes too, for the caller to decode one row at a time.
 *
 * Why lazy: decoding a whole row group's strings up front keeps them alive across young-generation
 * GCs, so V8 copies them to old space; measured on 10k-row groups of 200–3000-character text, GC was
 * half the read time. Decoded per yielded document, they die young instead. With `lazyStrings` the
 * byte views also live in memory reused by the next call on the same `src` (see `page-arena.ts`):
 * consume (decode) every row before reading the next range.
 */
export async function readParquetRows(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, columns: string[] | undefined, lazyStrings = false): Promise<RawRecord[]> {
  let rows: RawRecord[] | undefined;
  try {
    const { parquetRead } = await loadHyparquet();
    const codecs = codecsIn(md, rowStart, rowEnd, columns);
    // zstddec's own instance (~17 MB) only serves as the fallback when the one-shot one cannot be made
    if (codecs.has("ZSTD") && !zstdOneShot()) await zstdDecoder();
    let use: typeof Compressors;
    if (lazyStrings) {
      // the rows of the previous call on this source have been consumed: reuse their pages' memory
      let arena = arenas.get(src);
      if (arena === undefined) {
        arena = spare ?? { pages: new PageArena(), snappy: null };
        spare = undefined;
        arenas.set(src, arena);
      }
      const { pages } = arena;
      pages.reset();
      const snappy = codecs.has("SNAPPY") ? snappyBytes(md, rowStart, rowEnd, columns) : { pages: 0, input: 0 };
      if (snappy.pages > 0 && arena.snappy === null) arena.snappy = snappyPages();
      arena.snappy?.reset(snappy.pages === 0 ? 0 : snappy.pages + snappy.input, snappy.pages);
      const store = snappy.pages > 0 ? (arena.snappy ?? undefined) : undefined;
      await loadJsCompressors(codecs, store !== undefined);
      use = codecsWith((bytes) => pages.alloc(bytes), store);
    } else {
      await loadJsCompressors(codecs, false);
      use = codecsWith((bytes) => new Uint8Array(bytes));
    }
    await parquetRead({
      file: src,
      metadata: md,
      rowStart,
      rowEnd,
      ...(columns ? { columns } : {}),
      compressors: use,
      utf8: false,
      ...(lazyStrings ? { parsers: rawStrings } : {}),
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
  fixEmptyRepeated(rows, md, columns);
  return rows;
}

/**
 * hyparquet returns `null` for an empty REPEATED field nested in a struct (no LIST wrapper); the
 * parquet spec (and duckdb, arrow) make it an empty list. Fixes those fields in place; files without
 * such fields cost one schema walk.
 */
function fixEmptyRepeated(rows: RawRecord[], md: FileMetaData, columns: string[] | undefined): void {
  const tops = hyparquet().parquetSchema(md).children.filter((c) => (!columns || columns.includes(c.element.name)) && hasNestedRepeated(c));
  if (tops.length === 0) return;
  for (const row of rows) for (const t of tops) fixValue(row, t.element.name, t);
}

function isPlainStruct(n: SchemaTree): boolean {
  return n.children.length > 0 && n.element.repetition_type !== "REPEATED" && n.element.converted_type === undefined && n.element.logical_type === undefined;
}

function hasNestedRepeated(n: SchemaTree): boolean {
  return isPlainStruct(n) && n.children.some((c) => c.element.repetition_type === "REPEATED" || hasNestedRepeated(c));
}

function fixValue(holder: Record<string, unknown>, key: string, n: SchemaTree): void {
  const v = holder[key];
  if (n.element.repetition_type === "REPEATED") {
    if (v === null || v === undefined) holder[key] = [];
    return;
  }
  if (isPlainStruct(n) && v !== null && typeof v === "object") {
    for (const c of n.children) fixValue(v as Record<string, unknown>, c.element.name, c);
  }
}

function wrap(err: unknown, file: string, what: string, row?: number): TokpackError {
  if (err instanceof TokpackError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new InputFormatError(`${what}: ${why} (corrupt or unsupported parquet)`, row === undefined ? { file } : { file, row }, { cause: err });
}
