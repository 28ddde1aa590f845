/**
 * Text columns of parquet streamed a value at a time, so reading holds a column chunk's compressed
 * bytes (a window of 4 MiB of them when the chunk is larger than that) and a 128 KiB step of a
 * page's output instead of a whole row group decoded (hyparquet decodes every page of a column chunk
 * before returning any row). duckdb writes one page per row group: 16 MB decoded for 10k rows of
 * text, ~200 MB for its default 122,880 rows.
 *
 * Streamed: a top-level BYTE_ARRAY column (string-annotated or plain binary, required or optional)
 * whose data pages are PLAIN or dictionary-encoded (what pyarrow writes: a dictionary, then PLAIN
 * pages once it is full) or delta-encoded (DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY: data pages v2
 * of duckdb, parquet-mr, arrow-rs), uncompressed, zstd, snappy, gzip, brotli or lz4 (LZ4_RAW, and
 * LZ4 in Hadoop's framing or bare), in data pages v1 or v2. A
 * dictionary page is held decoded while its chunk is read, and a delta-encoded page's body while it
 * is read (its lengths lead its values). A document built from several such columns (a template, a
 * prompt and a completion) streams each side by side. A piece that needs any other column
 * (numbers; nested text columns are streamed by `parquet-nested.ts`) is read whole by
 * `readParquetRows`.
 */
import type { ColumnMetaData, FileMetaData, PageHeader, SchemaElement } from "hyparquet";
import { InputFormatError } from "../src/errors.js";
import { forRowGroupsIn, gunzipPage, topLevelColumn, unbrotliPage } from "./parquet.js";
import { DeltaValues, readBitPacked, readHybrid } from "./parquet-encodings.js";
import type { ByteSource } from "./types.js";
import { snappyDecompressFresh, snappyPages, type SnappyPages } from "./snappy.js";
import { snappyPageSteps } from "./snappy-steps.js";
import { ZlibSteps } from "./zlib-steps.js";
import { lz4Decompress, lz4IsHadoop, lz4PageSteps } from "./lz4-steps.js";
import { HUNGRY, inputComplete, rawSteps, wholeInput, wholePage, type PageInput, type PageSteps } from "./page-steps.js";
import { zstdDecompressInto, zstdOneShot, zstdPageSteps } from "./zstd.js";

/** The page-header parser of hyparquet (Thrift compact protocol), loaded with the first page. */
let headerParser: ((reader: { view: DataView; offset: number }) => PageHeader) | undefined;

async function loadHeaderParser(): Promise<(reader: { view: DataView; offset: number }) => PageHeader> {
  return (headerParser ??= (await import("hyparquet/src/column.js")).parquetHeader);
}

const STREAM_CODECS = new Set(["UNCOMPRESSED", "ZSTD", "SNAPPY", "GZIP", "BROTLI", "LZ4_RAW", "LZ4"]);
/**
 * Encodings a streamed chunk may list: PLAIN, dictionary or delta-encoded values, RLE or BIT_PACKED
 * levels (the deprecated one, which parquet-mr lists for the repetition levels a top-level column
 * does not have).
 */
const STREAM_ENCODINGS = new Set(["PLAIN", "RLE", "BIT_PACKED", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY"]);
/** Data page encodings read here: PLAIN values, dictionary indices, or delta-encoded byte arrays (`parquet-encodings.ts`). */
const VALUE_ENCODINGS = new Set(["PLAIN", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY"]);
/**
 * A snappy page up to this size is decoded in one call of hysnappy's WebAssembly decoder (~2× the
 * speed of the stepped one, `snappy-steps.ts`), into memory reused from page to page (pyarrow's 1 MiB
 * pages); a larger one a step at a time. At 16 MiB, duckdb's 10k-row pages of text were decoded whole
 * and 2 pipeline workers peaked at 296–318 MB (200k documents); at 4 MiB, 240–250 MB, ~7% slower.
 */
const SNAPPY_WHOLE_MAX = 4 << 20;

/**
 * A column chunk up to this size is read in one request: read-ahead fetches up to this much
 * (`READ_AHEAD_MAX_BYTES` in loader.ts) and serves exactly the ranges it fetched, so a prefetched
 * chunk read in windows would be read again. A larger chunk is read {@link READ_WINDOW} at a time,
 * pages included (see `PageWindow`). 2 pipeline workers (200k documents; 100k chats) peaked at:
 * with 32 MiB (8 MiB windows), 244–251 MB on duckdb's default row groups; with 16 MiB, 211–216 there,
 * 253–261 MB on 10k-row snappy groups, 258–263 MB on 10k-row chat groups; with 4 MiB (4 MiB
 * windows, read ahead up to 4 MiB), 200–205, 230–241 and 237–241 MB, at the same speed.
 */
export const WHOLE_CHUNK_MAX = 4 << 20;
/** Bytes read from the source at a time in a larger chunk. */
export const READ_WINDOW = 4 << 20;
/**
 * The next window of a larger chunk is read while one is decoded, with this much of the window
 * before it: a reader that goes on from an element cut by the window's end (see `PageWindow.load`)
 * finds its bytes in the one read ahead. Reading alone, duckdb's default row groups: chats
 * 1.59–1.62 → 1.27–1.29 s, snappy text 2.10–2.21 → 1.82–1.87 s (the reader waited on each window);
 * 2 pipeline workers peak ~10 MB higher (snappy text 199–201 → 210–214 MB).
 */
export const WINDOW_OVERLAP = 64 << 10;
/** Bytes first offered to the page-header parser; quadrupled while a header does not fit. */
const HEADER_PROBE = 1 << 16;

/** A leaf's column chunk in one row group, with the group's first row and row count. */
export interface ChunkIn {
  meta: ColumnMetaData | undefined;
  first: number;
  rows: number;
}

/** The chunk of the leaf at `path` in each row group overlapping rows `[rowStart, rowEnd)`. */
export function chunksIn(md: FileMetaData, rowStart: number, rowEnd: number, path: readonly string[]): ChunkIn[] {
  const out: ChunkIn[] = [];
  forRowGroupsIn(md, rowStart, rowEnd, (rg, first, rows) => {
    const c = rg.columns.find((c) => c.meta_data?.path_in_schema.length === path.length && c.meta_data.path_in_schema.every((p, i) => p === path[i]));
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

/** Column `name` when it is a top-level text leaf whose chunks in `[rowStart, rowEnd)` can be streamed. */
export function streamableTextColumn(md: FileMetaData, rowStart: number, rowEnd: number, name: string): TextColumn | undefined {
  const node = topLevelColumn(md, name);
  if (node === undefined || node.children.length > 0) return undefined;
  const el = node.element;
  if (el.repetition_type !== "REQUIRED" && el.repetition_type !== "OPTIONAL") return undefined;
  return streamableLeaf(md, rowStart, rowEnd, [name], el) ? { name, optional: el.repetition_type === "OPTIONAL" } : undefined;
}

/**
 * Whether the leaf at `path` holds text (or plain binary) whose chunks in `[rowStart, rowEnd)` are in
 * codecs and encodings read here.
 */
export function streamableLeaf(md: FileMetaData, rowStart: number, rowEnd: number, path: readonly string[], el: SchemaElement): boolean {
  if (el.type !== "BYTE_ARRAY") return false;
  const text = el.converted_type === "UTF8" || el.logical_type?.type === "STRING";
  if (!text && (el.converted_type !== undefined || el.logical_type !== undefined)) return false; // JSON, ENUM, …
  for (const { meta } of chunksIn(md, rowStart, rowEnd, path)) {
    if (meta === undefined || !STREAM_CODECS.has(meta.codec)) return false;
    if (meta.encodings.some((e) => !STREAM_ENCODINGS.has(e))) return false;
    if (meta.encoding_stats?.some((s) => (s.page_type === "DATA_PAGE" || s.page_type === "DATA_PAGE_V2") && !VALUE_ENCODINGS.has(s.encoding))) return false;
  }
  return true;
}

/**
 * The most bytes streaming a column chunk holds at once, from its metadata: its compressed bytes
 * when read whole (up to {@link WHOLE_CHUNK_MAX}), else two windows (the one decoded and the next,
 * read meanwhile: {@link READ_WINDOW} and {@link WINDOW_OVERLAP}); plus for snappy the
 * largest page decoded whole — unknown from the footer, so the chunk's uncompressed size up to
 * {@link SNAPPY_WHOLE_MAX}. A dictionary page, held decoded, is not counted (writers cap it: 1 MiB
 * in pyarrow), nor a page a decoder must have whole (a snappy page with copies reaching past 64 KiB).
 */
export function streamedChunkBytes(meta: ColumnMetaData): number {
  const compressed = Number(meta.total_compressed_size);
  const read = compressed <= WHOLE_CHUNK_MAX ? compressed : 2 * READ_WINDOW + WINDOW_OVERLAP;
  return meta.codec === "SNAPPY" ? read + Math.min(Number(meta.total_uncompressed_size), SNAPPY_WHOLE_MAX) : read;
}

/** The bytes of one column chunk, read from the source a window at a time. */
class ChunkBytes {
  private buf: Uint8Array = new Uint8Array(0);
  /** Source offset of `buf[0]`. */
  private bufStart: number;
  /** Source offset of the next unread byte. */
  pos: number;
  /** Bytes to read at least when more are needed. */
  private readonly window: number;
  /** The next window, being read (chunks read in windows). */
  private ahead: { start: number; end: number; data: Promise<Uint8Array> } | undefined;

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
    const a = this.ahead;
    this.ahead = undefined;
    let to: number;
    if (a !== undefined && a.start <= this.pos && this.pos + n <= a.end) {
      this.buf = (await a.data).subarray(this.pos - a.start);
      to = a.end;
    } else {
      to = Math.min(this.end, this.pos + Math.max(n, this.window));
      this.buf = await this.read(this.pos, to);
    }
    this.bufStart = this.pos;
    if (to === this.end) this.onAllRead?.();
    else if (this.window < this.end - this.bufStart) {
      // a window from `to` on, and the overlap before it: what the next ensure() asks for
      const start = Math.max(this.bufStart, to - WINDOW_OVERLAP);
      const end = Math.min(this.end, to + this.window);
      const data = this.read(start, end);
      data.catch(() => undefined); // a failure surfaces when (if) the window is used
      this.ahead = { start, end, data };
    }
  }

  /** Source bytes `[start, end)`, all of them. */
  private async read(start: number, end: number): Promise<Uint8Array> {
    const out = new Uint8Array(await this.src.slice(start, end));
    if (out.byteLength !== end - start) throw new Error(`read ${out.byteLength} bytes at offset ${start}, expected ${end - start}: the file is shorter than its footer says`);
    return out;
  }

  /** Steps over `n` bytes without reading them. */
  skip(n: number): void {
    this.pos += n;
  }

  /** Bytes loaded from `pos` on. */
  loadedAhead(): number {
    return Math.max(0, this.bufStart + this.buf.byteLength - this.pos);
  }

  /** Source bytes `[start, end)` in memory of their own (a page read again whole); `pos` moves past them. */
  async range(start: number, end: number): Promise<Uint8Array> {
    const out = await this.read(start, end);
    if (end > this.pos) this.pos = end;
    return out;
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
 * Thrown by {@link StepReader} when the page's next bytes are not loaded yet: load more
 * (`PageWindow.load`) and make the same call again, which goes on where it stopped.
 */
const NEED_INPUT = new Error("page input not loaded yet");

/** A page's values region (`total` bytes) as a byte stream over its steps (see `PageSteps`). */
class StepReader {
  private cur: Uint8Array = HUNGRY;
  private off = 0;
  private carry = new Uint8Array(1 << 12);
  /** Bytes an interrupted {@link bytes} call has gathered into `carry` (-1: none interrupted). */
  private gathered = -1;
  /** The length a {@link value} call read before it was interrupted (-1: none). */
  private pendingLength = -1;
  /** Bytes handed out so far. */
  private taken = 0;

  constructor(
    private readonly steps: PageSteps,
    private readonly total: number,
  ) {}

  /** The current step, viewed afresh when another reader's page grew the memory under it (`PageSteps.current`). */
  private step(): Uint8Array {
    if (this.cur.byteLength === 0 && this.off > 0) this.cur = this.steps.current()!;
    return this.cur;
  }

  /**
   * The next `n` bytes as one view, valid until the next call (copied only across a step boundary).
   * Throws {@link NEED_INPUT} when a step needs input not loaded; called again with the same `n`, it
   * goes on.
   */
  bytes(n: number): Uint8Array {
    if (this.gathered < 0) {
      const c = this.step();
      if (c.byteLength - this.off >= n) {
        const v = c.subarray(this.off, this.off + n);
        this.off += n;
        this.taken += n;
        return v;
      }
      if (this.carry.byteLength < n) this.carry = new Uint8Array(Math.max(n, 2 * this.carry.byteLength));
      this.carry.set(c.subarray(this.off), 0);
      this.gathered = c.byteLength - this.off;
      this.cur = HUNGRY;
      this.off = 0;
    }
    while (this.gathered < n) {
      const s = this.steps.next();
      if (s === HUNGRY) throw NEED_INPUT;
      if (s === undefined) throw new Error(`page values end early (${n - this.gathered} bytes short)`);
      const k = Math.min(n - this.gathered, s.byteLength);
      this.carry.set(s.subarray(0, k), this.gathered);
      this.gathered += k;
      this.cur = s;
      this.off = k;
    }
    this.gathered = -1;
    this.taken += n;
    return this.carry.subarray(0, n);
  }

  /** A little-endian u32 (restartable as {@link bytes}). */
  u32(): number {
    const c = this.step();
    const o = this.off;
    if (this.gathered < 0 && c.byteLength - o >= 4) {
      this.off = o + 4;
      this.taken += 4;
      return (c[o]! | (c[o + 1]! << 8) | (c[o + 2]! << 16) | (c[o + 3]! << 24)) >>> 0;
    }
    const b = this.bytes(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  /** A PLAIN BYTE_ARRAY value: a u32 length, then that many bytes (restartable as {@link bytes}). */
  value(): Uint8Array {
    if (this.pendingLength < 0) this.pendingLength = this.u32();
    const v = this.bytes(this.pendingLength);
    this.pendingLength = -1;
    return v;
  }

  /** Everything left of the page as one view (restartable as {@link bytes}). */
  rest(): Uint8Array {
    return this.bytes(this.total - this.taken);
  }

  close(): void {
    this.steps.close();
  }
}

/** Calls `read` until it stops throwing {@link NEED_INPUT}, awaiting `refill` (more input or output) in between. */
async function whenLoaded<T>(read: () => T, refill: () => Promise<void>): Promise<T> {
  for (;;) {
    try {
      return read();
    } catch (err) {
      if (err !== NEED_INPUT) throw err;
      await refill();
    }
  }
}

/** What to await when a page's decoder answers HUNGRY: its own `whenHungry` (gzip, brotli), else the next input window. */
function refillOf(steps: PageSteps, input: PageWindow): () => Promise<void> {
  return steps.whenHungry !== undefined ? () => steps.whenHungry!() : () => input.load();
}

/**
 * A page's compressed bytes (see `PageInput`), read from its chunk {@link READ_WINDOW} at a time
 * when the chunk is larger than {@link WHOLE_CHUNK_MAX} (a smaller chunk is in memory already), so a
 * page of any size is never held whole unless its decoder needs it so.
 */
class PageWindow implements PageInput {
  consumed = 0;
  wantWhole = false;

  private constructor(
    private readonly chunk: ChunkBytes,
    private readonly pageStart: number,
    readonly size: number,
    public buf: Uint8Array,
    public start: number,
  ) {}

  /** The page at the chunk's position, `size` bytes, with its first window loaded. */
  static async open(chunk: ChunkBytes, size: number): Promise<PageWindow> {
    const pageStart = chunk.pos;
    // what reading the header loaded is the first window, unless it is only a sliver of the page
    if (chunk.loadedAhead() < Math.min(size, HEADER_PROBE)) await chunk.ensure(Math.min(size, READ_WINDOW));
    return new PageWindow(chunk, pageStart, size, chunk.take(Math.min(size, chunk.loadedAhead())), 0);
  }

  /** Replaces `buf` with the next window from `consumed` on, or the whole page when `wantWhole`. */
  async load(): Promise<void> {
    if (this.wantWhole) {
      this.buf = await this.chunk.range(this.pageStart, this.pageStart + this.size);
      this.start = 0;
      this.wantWhole = false;
      return;
    }
    if (this.start + this.buf.byteLength >= this.size) throw new Error("page decoder asked for input past the page's end");
    // read on from the first byte still needed: the few bytes of an element cut by the window's end
    // are read again instead of joined to the next window in a copy
    this.chunk.pos = this.pageStart + this.consumed;
    const left = this.size - this.consumed;
    await this.chunk.ensure(Math.min(left, READ_WINDOW));
    this.buf = this.chunk.take(Math.min(left, this.chunk.loadedAhead()));
    this.start = this.consumed;
  }

  /** The whole page as one view. */
  async all(): Promise<Uint8Array> {
    if (this.start !== 0 || !inputComplete(this)) {
      this.wantWhole = true;
      await this.load();
    }
    return this.buf;
  }
}

/** Snappy page stores free for a stream to take (one per stream reading snappy; see {@link SNAPPY_WHOLE_MAX}). */
const freeSnappyStores: SnappyPages[] = [];

/** How one stream decompresses its pages. */
class PageDecoder {
  /** Its snappy store, taken on the first small snappy page; null when hysnappy's module was not found. */
  private snappy: SnappyPages | null | undefined;

  /**
   * A page's body (from page offset `from`, after v2's levels), decompressed step by step as its
   * input is loaded; `size` is its uncompressed size.
   */
  async steps(input: PageWindow, from: number, codec: string, size: number): Promise<PageSteps> {
    if (codec === "ZSTD") return zstdOneShot() ? zstdPageSteps(input, from, size) : zstdPageSteps(wholeInput(await input.all()), from, size);
    if (codec === "SNAPPY") {
      const whole = size <= SNAPPY_WHOLE_MAX ? this.snappyWhole((await input.all()).subarray(from), size) : undefined;
      return whole !== undefined ? wholePage(whole) : snappyPageSteps(input, from, size, snappyDecompressFresh);
    }
    if (codec === "GZIP" || codec === "BROTLI") return new ZlibSteps(input, from, size, () => input.load(), codec);
    if (codec === "LZ4_RAW") return lz4PageSteps(input, from, size, false);
    if (codec === "LZ4") {
      // the first block header tells the framing (it is loaded but on a page whose levels fill a window)
      const head = (input.start + input.buf.byteLength - from < Math.min(8, input.size - from) ? await input.all() : input.buf).subarray(from - input.start, from - input.start + 8);
      return lz4PageSteps(input, from, size, lz4IsHadoop(head, input.size - from, size));
    }
    return rawSteps(input, from, size);
  }

  /** A page's body decompressed into memory of its own (a dictionary page, kept for its chunk). */
  whole(body: Uint8Array, codec: string, size: number): Uint8Array {
    if (codec === "ZSTD") return zstdDecompressInto(body, new Uint8Array(size));
    if (codec === "SNAPPY") return this.snappyWhole(body, size)?.slice() ?? snappyDecompressFresh(body, size);
    if (codec === "GZIP") return gunzipPage(body, size);
    if (codec === "BROTLI") return unbrotliPage(body, size);
    if (codec === "LZ4_RAW" || codec === "LZ4") return lz4Decompress(body, size, codec === "LZ4");
    if (body.byteLength !== size) throw new Error(`uncompressed page holds ${body.byteLength} bytes, its header says ${size}`);
    return body.slice();
  }

  /** A snappy page decoded in the stream's store (valid until its next page), if the store can be made. */
  private snappyWhole(body: Uint8Array, size: number): Uint8Array | undefined {
    this.snappy ??= freeSnappyStores.pop() ?? snappyPages() ?? null;
    if (this.snappy === null) return undefined;
    this.snappy.reset(size + body.byteLength, size);
    return this.snappy.decompress(body, size);
  }

  /** Hands the snappy store on to the next stream. */
  close(): void {
    if (this.snappy) freeSnappyStores.push(this.snappy);
    this.snappy = undefined;
  }
}

/** A dictionary page's PLAIN values: where each starts in the decoded page, and its length. */
interface Dictionary {
  bytes: Uint8Array;
  starts: Int32Array;
  lengths: Int32Array;
}

function readDictionary(bytes: Uint8Array, count: number): Dictionary {
  const starts = new Int32Array(count);
  const lengths = new Int32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 4 > bytes.byteLength) throw new Error(`dictionary page ends after ${i} of its ${count} values`);
    const len = view.getUint32(p, true);
    p += 4;
    if (p + len > bytes.byteLength) throw new Error(`dictionary value ${i} of ${len} bytes runs past its page`);
    starts[i] = p;
    lengths[i] = len;
    p += len;
  }
  return { bytes, starts, lengths };
}

/** What reading one leaf column keeps from page to page: its levels' range, dictionary and reusable buffers. */
export interface ColumnState {
  /** Its highest repetition level (0: a top-level column) and definition level (0: required all the way). */
  readonly maxRep: number;
  readonly maxDef: number;
  readonly decoder: PageDecoder;
  dict: Dictionary | undefined;
  reps: Int32Array;
  levels: Int32Array;
  indices: Int32Array;
  readonly delta: DeltaValues;
}

/** A fresh {@link ColumnState} for a leaf with these level ranges. */
export function columnState(maxRep: number, maxDef: number): ColumnState {
  return { maxRep, maxDef, decoder: new PageDecoder(), dict: undefined, reps: new Int32Array(0), levels: new Int32Array(0), indices: new Int32Array(0), delta: new DeltaValues() };
}

/**
 * One data page's values. Entry i has repetition level `reps[i]` (0 when the column has none: each
 * entry is a row) and definition level `defs[i]`; it has a value when that is the column's highest
 * (always when `defs` is undefined).
 */
export interface DataPage {
  reps: Int32Array | undefined;
  defs: Int32Array | undefined;
  /** The next value present, valid until the next call; throws {@link NEED_INPUT} (call again after `refill`). */
  read: () => Uint8Array;
  refill: () => Promise<void>;
  close(): void;
}

/** Bits of one level whose highest value is `max`. */
function levelWidth(max: number): number {
  return 32 - Math.clz32(max);
}

/** Sets up a data page for reading: its levels, and its values' decoder (PLAIN, dictionary or delta). */
export async function openDataPage(h: PageHeader, input: PageWindow, codec: string, col: ColumnState): Promise<DataPage> {
  const n = (h.data_page_header?.num_values ?? h.data_page_header_v2?.num_values)!;
  if (col.maxDef > 0 && col.levels.length < n) col.levels = new Int32Array(n);
  if (col.maxRep > 0 && col.reps.length < n) col.reps = new Int32Array(n);
  let reps: Int32Array | undefined;
  let defs: Int32Array | undefined;
  let encoding: string;
  let reader: StepReader;
  let refill: () => Promise<void>;
  if (h.data_page_header !== undefined) {
    encoding = h.data_page_header.encoding;
    const steps = await col.decoder.steps(input, 0, codec, h.uncompressed_page_size);
    refill = refillOf(steps, input);
    const r = (reader = new StepReader(steps, h.uncompressed_page_size));
    // v1: repetition levels, then definition levels (RLE ones length-prefixed) lead the decompressed page
    const levels = async (enc: string, max: number, out: Int32Array, what: string): Promise<void> => {
      const width = levelWidth(max);
      if (enc === "RLE") {
        const len = await whenLoaded(() => r.u32(), refill);
        readHybrid(await whenLoaded(() => r.bytes(len), refill), width, n, out);
      } else if (enc === "BIT_PACKED") readBitPacked(await whenLoaded(() => r.bytes(Math.ceil((n * width) / 8)), refill), width, n, out);
      else throw new Error(`${what} levels in ${enc} encoding, expected RLE or BIT_PACKED`);
    };
    try {
      if (col.maxRep > 0) await levels(h.data_page_header.repetition_level_encoding, col.maxRep, (reps = col.reps), "repetition");
      if (col.maxDef > 0) await levels(h.data_page_header.definition_level_encoding, col.maxDef, (defs = col.levels), "definition");
    } catch (err) {
      r.close();
      throw err;
    }
  } else {
    const v2 = h.data_page_header_v2!;
    encoding = v2.encoding;
    const levelBytes = v2.repetition_levels_byte_length + v2.definition_levels_byte_length;
    if (levelBytes > input.size) throw new Error(`levels of ${levelBytes} bytes in a page of ${input.size}`);
    if (levelBytes > input.buf.byteLength) await input.all();
    if (col.maxRep > 0) readHybrid(input.buf.subarray(0, v2.repetition_levels_byte_length), levelWidth(col.maxRep), n, (reps = col.reps));
    if (col.maxDef > 0) readHybrid(input.buf.subarray(v2.repetition_levels_byte_length, levelBytes), levelWidth(col.maxDef), n, (defs = col.levels));
    const bodySize = h.uncompressed_page_size - levelBytes;
    const steps = await col.decoder.steps(input, levelBytes, v2.is_compressed === false ? "UNCOMPRESSED" : codec, bodySize);
    refill = refillOf(steps, input);
    reader = new StepReader(steps, bodySize);
  }
  const close = (): void => reader.close();
  try {
    let present = n; // values in the page: entries less those defined only part of the way down
    if (defs !== undefined) for (let i = 0; i < n; i++) if (defs[i] !== col.maxDef) present--;
    if (encoding === "PLAIN") return { reps, defs, read: () => reader.value(), refill, close };
    if (encoding === "DELTA_LENGTH_BYTE_ARRAY" || encoding === "DELTA_BYTE_ARRAY") {
      // lengths (and shared prefixes) lead the values: the page body is decoded whole
      const delta = col.delta;
      delta.reset(present > 0 ? await whenLoaded(() => reader.rest(), refill) : new Uint8Array(0), encoding, present);
      return { reps, defs, read: () => delta.value(), refill, close };
    }
    if (encoding !== "PLAIN_DICTIONARY" && encoding !== "RLE_DICTIONARY") throw new Error(`page encoding ${encoding}, expected PLAIN, a dictionary or a delta encoding`);
    // dictionary indices: a bit width, then the hybrid runs, for the values present
    const dict = col.dict;
    if (dict === undefined) throw new Error("dictionary-encoded page before any dictionary page");
    if (col.indices.length < present) col.indices = new Int32Array(present);
    const indices = col.indices;
    if (present > 0) {
      const width = (await whenLoaded(() => reader.bytes(1), refill))[0]!;
      readHybrid(await whenLoaded(() => reader.rest(), refill), width, present, indices);
      for (let i = 0; i < present; i++) {
        const k = indices[i]!;
        if (k < 0 || k >= dict.starts.length) throw new Error(`dictionary index ${k >>> 0} past the dictionary's ${dict.starts.length} values`);
      }
    }
    let k = 0;
    const read = (): Uint8Array => {
      const at = indices[k++]!;
      const from = dict.starts[at]!;
      return dict.bytes.subarray(from, from + dict.lengths[at]!);
    };
    return { reps, defs, read, refill, close };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * The pages of one column chunk in order. Dictionary pages are read into the column's state on the
 * way; errors are plain (the caller names the file, row and column).
 */
export class ChunkPages {
  private readonly bytes: ChunkBytes;

  constructor(
    src: ByteSource,
    private readonly meta: ColumnMetaData,
    onAllRead: (() => void) | undefined,
    private readonly col: ColumnState,
  ) {
    // the chunk starts at its dictionary page when it has one (some writers put 0 there for none)
    const dictAt = meta.dictionary_page_offset === undefined ? 0 : Number(meta.dictionary_page_offset);
    const start = dictAt > 0 && dictAt < Number(meta.data_page_offset) ? dictAt : Number(meta.data_page_offset);
    this.bytes = new ChunkBytes(src, start, start + Number(meta.total_compressed_size), onAllRead);
    col.dict = undefined;
  }

  /** Whether the chunk has no page left. */
  get done(): boolean {
    return this.bytes.pos >= this.bytes.end;
  }

  /**
   * Reads the next page: a data page is opened and returned with its entry count, unless `skip(n)`
   * says its n entries are not wanted; a dictionary page is kept in the column's state; any other
   * page is stepped over. Undefined for any page not returned.
   */
  async next(skip: (entries: number) => boolean): Promise<{ page: DataPage; entries: number } | undefined> {
    const bytes = this.bytes;
    const h = await pageHeader(bytes);
    const size = h.compressed_page_size;
    if (size < 0 || bytes.pos + size > bytes.end) throw new Error(`page of ${size} bytes runs past its column chunk`);
    if (h.type === "DICTIONARY_PAGE") {
      const page = await (await PageWindow.open(bytes, size)).all();
      const dh = h.dictionary_page_header;
      if (dh === undefined) throw new Error("dictionary page without its header");
      if (dh.encoding !== "PLAIN" && dh.encoding !== "PLAIN_DICTIONARY") throw new Error(`dictionary page in ${dh.encoding} encoding, expected PLAIN`);
      this.col.dict = readDictionary(this.col.decoder.whole(page, this.meta.codec, h.uncompressed_page_size), dh.num_values);
      return undefined;
    }
    const n = h.data_page_header?.num_values ?? h.data_page_header_v2?.num_values;
    if (n === undefined || skip(n)) {
      // an index page (or another page type readers may skip), or entries before the range: not read
      bytes.skip(size);
      return undefined;
    }
    return { page: await openDataPage(h, await PageWindow.open(bytes, size), this.meta.codec, this.col), entries: n };
  }
}

/**
 * The page's next value after `page.read()` threw `err`: {@link NEED_INPUT} is waited out (more input
 * loaded, the read made again); any other error, or one while waiting, is thrown as `fail` makes it
 * (naming the file, row and column). The sync read is the readers' fast path; this is the slow one.
 */
export async function readAfter(page: DataPage, err: unknown, fail: (err: unknown) => Error): Promise<Uint8Array> {
  if (err !== NEED_INPUT) throw fail(err);
  try {
    return await whenLoaded(page.read, page.refill);
  } catch (e) {
    throw fail(e);
  }
}

/**
 * Calls `onAllRead` once `count` readers have each called the function returned (undefined when
 * there is nothing to call).
 */
export function afterAllOf(count: number, onAllRead: (() => void) | undefined): (() => void) | undefined {
  let left = count;
  return onAllRead === undefined ? undefined : () => void (--left === 0 && onAllRead());
}

/**
 * The values of `column` (see {@link streamableTextColumn}) for rows `[rowStart, rowEnd)`, one per
 * row in order: the value's UTF-8 bytes, or null. Each view is valid until the generator resumes.
 * `onAllRead` is called once the last byte the range needs has been read from the source. Errors name
 * the file and the row.
 */
export async function* readTextColumn(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, text: TextColumn, onAllRead?: () => void): AsyncGenerator<Uint8Array | null, void, undefined> {
  const column = text.name;
  const chunks = chunksIn(md, rowStart, rowEnd, [column]);
  const col = columnState(0, text.optional ? 1 : 0);
  let row = rowStart; // the next row to yield
  try {
    for (let c = 0; c < chunks.length; c++) {
      const { meta, first, rows } = chunks[c]!;
      if (meta === undefined) throw new InputFormatError(`row group at row ${first} has no column chunk "${column}"`, { file: src.name, row: first, field: column });
      const pages = new ChunkPages(src, meta, c === chunks.length - 1 ? onAllRead : undefined, col);
      const stop = Math.min(first + rows, rowEnd);
      let pageRow = first;
      // pages wholly before the range are not read (a top-level column's entries are its rows)
      const before = (n: number): boolean => pageRow + n <= row && ((pageRow += n), true);
      while (pageRow < stop) {
        if (pages.done) throw corrupt(src, pageRow, column, new Error(`column chunk ends after ${pageRow - first} of its ${rows} rows`));
        let next: { page: DataPage; entries: number } | undefined;
        try {
          next = await pages.next(before);
        } catch (err) {
          throw corrupt(src, pageRow, column, err);
        }
        if (next === undefined) continue;
        const { page, entries: n } = next;
        try {
          const defs = page.defs;
          for (let i = 0; i < n; i++, pageRow++) {
            let v: Uint8Array | null = null;
            if (defs === undefined || defs[i] === 1) {
              try {
                v = page.read();
              } catch (err) {
                v = await readAfter(page, err, (e) => corrupt(src, pageRow, column, e));
              }
            }
            if (pageRow < row) continue;
            if (pageRow >= stop) break;
            yield v;
            row = pageRow + 1;
          }
        } finally {
          page.close();
        }
      }
    }
  } finally {
    col.decoder.close();
  }
}

export function corrupt(src: ByteSource, row: number, column: string, err: unknown): InputFormatError {
  const msg = err instanceof Error ? err.message : String(err);
  return new InputFormatError(`cannot read column "${column}" near row ${row}: ${msg}: corrupt file`, { file: src.name, row, field: column }, { cause: err });
}
