/**
 * The loader: sources → plan → this slot's pieces per epoch → records → documents → shuffle buffer.
 * It is a pull-based async iterator (a slow consumer slows the reads; nothing buffers beyond one
 * parquet row group / one chunk and the shuffle buffer), and `state()` captures exactly where it is —
 * piece, byte/line/row inside it, shuffle buffer contents and PRNG — so a loader built with that state
 * continues with the documents an uninterrupted run would have produced next.
 */
import type { FileMetaData } from "hyparquet";
import { InputFormatError, LoaderStateError, MissingFieldError } from "../src/errors.js";
import { chatTurnColumns, documentMaker, neededColumns } from "./document.js";
import type { DocumentMaker } from "./document.js";
import type { HttpOptions } from "./http.js";
import { forChunksIn, releasePageMemory, topLevelColumns } from "./parquet.js";
import { leafBytes, readsLeaf, streamedColumns } from "./parquet-columns.js";
import { makePlan } from "./plan.js";
import { columnChunkRanges, ReadAhead } from "./readahead.js";
import type { Piece, Plan } from "./plan.js";
import { hash32, Rng, seedWord } from "./random.js";
import type { RngState } from "./random.js";
import { checkColumns, newCursor, readPiece, resumePoint } from "./readers.js";
import type { Cursor, PiecePos } from "./readers.js";
import { resolveSources } from "./resolve.js";
import type { Format } from "./resolve.js";
import { slotOf, slotPieces } from "./shard.js";
import type { ShardSpec } from "./shard.js";
import type { ByteSource, Document, DocumentSpec, LoaderStats, RawRecord } from "./types.js";

/**
 * The next row group's column chunks are read ahead (`readahead.ts`) only up to this size: a larger
 * one, held beside the current row group while it is consumed, doubled what reading holds (duckdb's
 * default row groups of zstd text, 200k documents: 182 → 162 MB peak RSS without it, same time).
 * Equal to `WHOLE_CHUNK_MAX` (parquet-text.ts): a chunk read ahead is one that is read whole.
 */
export const READ_AHEAD_MAX_BYTES = 4 << 20;

/** Options for {@link createLoader}. */
export interface LoaderOptions extends ShardSpec {
  /** Paths, directories, globs, URLs, `zip:a.zip!/glob`, manifests (see `resolveSources`). */
  sources: string | readonly string[];
  /** Force the record format instead of detecting it from file names. */
  format?: Format;
  /** How records become documents. @default { kind: "auto" } */
  document?: DocumentSpec;
  /** Enables shuffling: piece order permuted per epoch + a shuffle buffer, all seeded by this. */
  shuffleSeed?: number | string;
  /** Shuffle buffer size in documents (only with `shuffleSeed`); 0 = permute pieces only. @default 1000 */
  shuffleBuffer?: number;
  /** Passes over the data; `Infinity` repeats forever. @default 1 */
  epochs?: number;
  /**
   * Skip bad records — malformed JSON, or records lacking the field / of the wrong shape — counting
   * them in `stats().skippedBad`, instead of throwing. @default false
   */
  skipBad?: boolean;
  /** HTTP retry / timeout policy. */
  http?: HttpOptions;
  /** Largest byte range of one uncompressed JSONL piece. @default 64 MiB */
  pieceBytes?: number;
  /** Resume from a {@link Loader.state} snapshot. */
  state?: LoaderState;
  /**
   * End after this piece index of the starting epoch (exclusive), closing instead of going on: with
   * `state` at the start of piece k and `stopAtPiece: k + 1`, the loader reads exactly piece k. For
   * piece-parallel readers (the pipeline's workers); not valid with a shuffle buffer.
   */
  stopAtPiece?: number;
  /**
   * Reuse this thread's plan of the same sources when `state` comes from it (its fingerprint
   * matches), instead of resolving and planning every file again. For piece readers that start a
   * loader per piece, such as the pipeline's workers: with 200 files, planning per piece made two
   * workers 7× slower than the calling thread alone. The plan is taken as it was when first made.
   */
  reusePlan?: boolean;
}

/** Plans kept on this thread for `reusePlan` loaders, newest last. */
const planCache: { key: string; plan: Plan }[] = [];
const PLAN_CACHE_SIZE = 4;

/** What a plan depends on: the sources and the options that shape it. */
function planKey(o: LoaderOptions, slots: number): string {
  return JSON.stringify([typeof o.sources === "string" ? [o.sources] : o.sources, o.format ?? null, o.pieceBytes ?? null, slots, o.http ?? null]);
}

/** A loader's position: small and JSON-serializable (the shuffle buffer is the only large part). */
export interface LoaderState {
  v: 1;
  /** Plan + options hash; resuming with other sources, seed or sharding is refused. "" = not started. */
  fingerprint: string;
  epoch: number;
  /** Index into this slot's piece list for `epoch`. */
  piece: number;
  /** Resume point inside that piece; null = at its start. */
  pos: PiecePos | null;
  /** True when this epoch's pieces are read and only the buffer is left. */
  drained: boolean;
  /** Shuffle buffer contents, in buffer order. */
  buffer: Document[];
  rng: RngState | null;
  stats: LoaderStats;
}

/** The document stream of one consumer slot. */
export class Loader implements AsyncIterableIterator<Document> {
  private readonly opts: LoaderOptions;
  private readonly make: DocumentMaker;
  private readonly seed: number | undefined;
  private readonly bufferSize: number;
  private readonly epochs: number;
  /**
   * `opts.stopAtPiece`, Infinity without one: read from a field of this class, not from the options
   * object, whose shape differs from loader to loader (a pipeline worker makes one per piece, and
   * `pull` was re-optimized for each new shape).
   */
  private readonly stopAt: number;
  private plan: Plan | undefined;
  private slot = 0;
  private slots = 1;
  private fingerprint = "";
  private epoch = 0;
  private pieces: Piece[] = [];
  private pieceIdx = 0;
  private resume: PiecePos | undefined;
  private reader: AsyncGenerator<RawRecord> | undefined;
  private readonly cur: Cursor = newCursor();
  private drained = false;
  private buffer: Document[] = [];
  private rng: Rng | undefined;
  private statsV: LoaderStats = { docs: 0, skippedBad: 0, skippedNull: 0 };
  private open: { file: number; src: ByteSource } | undefined;
  private finished = false;

  constructor(opts: LoaderOptions) {
    this.opts = opts;
    this.make = documentMaker(opts.document);
    this.seed = opts.shuffleSeed === undefined ? undefined : seedWord(opts.shuffleSeed);
    this.bufferSize = this.seed === undefined ? 0 : (opts.shuffleBuffer ?? 1000);
    this.epochs = opts.epochs ?? 1;
    this.stopAt = opts.stopAtPiece ?? Infinity;
    if (!(this.epochs >= 1)) throw new LoaderStateError(`epochs must be ≥ 1, got ${this.epochs}`);
    ({ slot: this.slot, slots: this.slots } = slotOf(opts));
    if (opts.stopAtPiece !== undefined && this.bufferSize > 0) throw new LoaderStateError("stopAtPiece reads single pieces and cannot be combined with a shuffle buffer");
  }

  /** True when documents leave in piece order (no shuffle buffer), so pieces can be read apart. */
  get pieceOrdered(): boolean {
    return this.bufferSize === 0;
  }

  /** Pieces this loader's slot reads in `epoch` (plans on first use). */
  async piecesIn(epoch: number): Promise<number> {
    if (!this.plan) await this.init();
    return epoch === this.epoch ? this.pieces.length : slotPieces(this.plan!.pieces, this.slot, this.slots, epoch, this.seed).length;
  }

  /**
   * The most bytes reading one piece of the plan holds at once, estimated from the footers: for a
   * parquet piece, the uncompressed size of its row group's needed column chunks (a row group is
   * decoded whole, even for a piece that is part of one), or only their compressed size (plus a snappy
   * page decoded whole, up to 4 MiB) when its text columns are streamed (`parquet-text.ts`,
   * `streamedChunkBytes`).
   * 0 when every piece is read as a stream (JSONL lines, JSON arrays), whatever its size. Plans on
   * first use.
   */
  async largestPieceBytes(): Promise<number> {
    if (!this.plan) await this.init();
    const plan = this.plan!;
    const columnsOf = new Map<number, string[] | undefined>();
    let most = 0;
    for (const piece of plan.pieces) {
      const footer = plan.footers.get(piece.file);
      if (footer === undefined) continue;
      if (!columnsOf.has(piece.file)) columnsOf.set(piece.file, this.wantedColumns(footer));
      const columns = columnsOf.get(piece.file);
      const streamed = streamedColumns(footer, piece.start, piece.end, columns, this.chatColumns(footer));
      const held = streamed === undefined ? undefined : leafBytes(streamed); // leaves left out are never read
      let bytes = 0;
      forChunksIn(footer, piece.start, piece.end, columns, (m) => (bytes += held === undefined ? Number(m.total_uncompressed_size) : (held(m) ?? 0)));
      if (bytes > most) most = bytes;
    }
    return most;
  }

  /** Passes over the data (`Infinity` = forever). */
  get epochCount(): number {
    return this.epochs;
  }

  /**
   * The state of a loader about to start piece `piece` of `epoch` with zeroed stats: with
   * `stopAtPiece: piece + 1` it reads exactly that piece. Only for piece-ordered loaders.
   */
  async pieceStart(epoch: number, piece: number): Promise<LoaderState> {
    if (!this.plan) await this.init();
    if (!this.pieceOrdered) throw new LoaderStateError("a loader with a shuffle buffer has no piece boundaries to start at");
    return { v: 1, fingerprint: this.fingerprint, epoch, piece, pos: null, drained: false, buffer: [], rng: null, stats: { docs: 0, skippedBad: 0, skippedNull: 0 } };
  }

  /** This loader's fingerprint over `plan` (the state check compares it). */
  private fingerprintOf(plan: Plan): string {
    return `${plan.fingerprint}-${hash32(this.seed ?? 0xffffffff, this.seed === undefined ? 0 : 1, this.slot, this.slots, this.bufferSize).toString(16)}`;
  }

  private async init(): Promise<void> {
    const o = this.opts;
    const key = o.reusePlan === true && o.state !== undefined && o.state.fingerprint !== "" ? planKey(o, this.slots) : undefined;
    let plan = key === undefined ? undefined : planCache.find((e) => e.key === key)?.plan;
    if (plan !== undefined && this.fingerprintOf(plan) !== o.state!.fingerprint) plan = undefined;
    if (plan === undefined) {
      const files = await resolveSources(typeof o.sources === "string" ? [o.sources] : o.sources, { ...(o.format ? { format: o.format } : {}), ...(o.http ? { http: o.http } : {}) });
      plan = await makePlan(files, { slots: this.slots, ...(o.pieceBytes ? { pieceBytes: o.pieceBytes } : {}) });
      if (key !== undefined) {
        const old = planCache.findIndex((e) => e.key === key);
        if (old >= 0) planCache.splice(old, 1);
        planCache.push({ key, plan });
        if (planCache.length > PLAN_CACHE_SIZE) planCache.shift();
      }
    }
    this.plan = plan;
    this.fingerprint = this.fingerprintOf(plan);
    const st = o.state;
    if (st) {
      if (st.v !== 1 || (st.fingerprint !== this.fingerprint && st.fingerprint !== "")) {
        throw new LoaderStateError(`state does not match this loader (fingerprint ${st.fingerprint} vs ${this.fingerprint}): same sources, shuffle seed, buffer size and rank/worker layout are required`);
      }
      this.epoch = st.epoch;
      this.pieceIdx = st.piece;
      this.resume = st.pos ?? undefined;
      this.drained = st.drained;
      this.buffer = st.buffer.slice();
      this.statsV = { ...st.stats };
      if (st.rng) this.rng = Rng.from(st.rng);
    }
    if (this.seed !== undefined && !this.rng) this.rng = new Rng(this.seed, 0x5eed0002, this.slot);
    this.pieces = slotPieces(this.plan.pieces, this.slot, this.slots, this.epoch, this.seed);
  }

  /** Next document; `done` after the last epoch. An error closes the loader's files, then propagates. */
  async next(): Promise<IteratorResult<Document>> {
    if (this.finished) return { done: true, value: undefined };
    try {
      return await this.step();
    } catch (err) {
      await this.close().catch(() => undefined);
      throw err;
    }
  }

  private async step(): Promise<IteratorResult<Document>> {
    if (!this.plan) await this.init();
    for (;;) {
      if (this.bufferSize === 0) {
        const d = await this.pull();
        if (d) return this.emit(d);
      } else {
        while (!this.drained && this.buffer.length < this.bufferSize) {
          const d = await this.pull();
          if (!d) break;
          this.buffer.push(d);
        }
        if (this.buffer.length > 0) {
          const j = this.rng!.below(this.buffer.length);
          const d = this.buffer[j]!;
          const last = this.buffer.pop()!;
          if (j < this.buffer.length) this.buffer[j] = last;
          return this.emit(d);
        }
      }
      // epoch over (or the last piece asked for is read): this slot's pieces are read, the buffer is empty
      if (this.epoch + 1 >= this.epochs || this.opts.stopAtPiece !== undefined) {
        await this.close();
        return { done: true, value: undefined };
      }
      this.epoch++;
      this.pieceIdx = 0;
      this.resume = undefined;
      this.drained = false;
      this.pieces = slotPieces(this.plan!.pieces, this.slot, this.slots, this.epoch, this.seed);
    }
  }

  private emit(d: Document): IteratorResult<Document> {
    this.statsV.docs++;
    return { done: false, value: d };
  }

  /** Next document from the pieces, before shuffling; null when this epoch's pieces are done. */
  private async pull(): Promise<Document | null> {
    const plan = this.plan!;
    const end = Math.min(this.pieces.length, this.stopAt);
    while (this.pieceIdx < end) {
      const piece = this.pieces[this.pieceIdx]!;
      if (!this.reader) this.reader = await this.startPiece(plan, piece);
      const r = await this.reader.next();
      if (r.done) {
        this.reader = undefined;
        this.resume = undefined;
        this.pieceIdx++;
        continue;
      }
      const name = plan.files[piece.file]!.name;
      const c = this.cur;
      const source = c.row >= 0 ? { file: name, shard: piece.id, row: c.row } : c.line > 0 ? { file: name, shard: piece.id, line: c.line } : { file: name, shard: piece.id };
      let d: Document | null;
      try {
        d = this.make(r.value, source);
      } catch (err) {
        // with skipBad, a record of the wrong shape (missing field, non-string text, bad chat turn)
        // is a bad record like a malformed line: counted, not fatal
        if (!this.opts.skipBad || !(err instanceof InputFormatError || err instanceof MissingFieldError)) throw err;
        this.statsV.skippedBad++;
        continue;
      }
      if (d) return d;
      this.statsV.skippedNull++;
    }
    this.drained = true;
    await this.closeSource();
    return null;
  }

  /** The parquet columns this loader's document spec reads from a file with `footer` (all when undefined). */
  private wantedColumns(footer: FileMetaData): string[] | undefined {
    return neededColumns(this.opts.document ?? {}, topLevelColumns(footer));
  }

  private chatColumns(footer: FileMetaData): string[] {
    return chatTurnColumns(this.opts.document ?? {}, topLevelColumns(footer));
  }

  private async startPiece(plan: Plan, piece: Piece): Promise<AsyncGenerator<RawRecord>> {
    if (this.open?.file !== piece.file) {
      await this.closeSource();
      const src = await plan.files[piece.file]!.open();
      this.open = { file: piece.file, src: plan.footers.has(piece.file) ? new ReadAhead(src) : src };
    }
    const file = plan.files[piece.file]!;
    const footer = plan.footers.get(piece.file);
    const columns = footer ? checkColumns(file.name, footer, this.wantedColumns(footer)) : undefined;
    const chatColumns = footer ? this.chatColumns(footer) : [];
    const resume = this.resume;
    this.cur.nextOffset = resume?.offset ?? -1;
    this.cur.nextLine = resume?.line ?? -1;
    this.cur.nextRow = resume?.row ?? -1;
    const src = this.open.src;
    // the next piece this loader will read (none past stopAtPiece: a piece reader stops here)
    const next = this.pieceIdx + 1 < this.stopAt ? this.pieces[this.pieceIdx + 1] : undefined;
    let onRowsRead: (() => void) | undefined;
    if (src instanceof ReadAhead && footer && next?.file === piece.file) {
      const streamed = streamedColumns(footer, next.start, next.end, columns, chatColumns);
      const ranges = columnChunkRanges(footer, next.start, columns, streamed === undefined ? undefined : readsLeaf(streamed));
      if (ranges.reduce((n, [a, b]) => n + b - a, 0) <= READ_AHEAD_MAX_BYTES) onRowsRead = () => src.prefetch(ranges);
    }
    return readPiece(piece, resume, { file, src, footer, columns, chatColumns, skipBad: this.opts.skipBad ?? false, stats: this.statsV, ...(onRowsRead ? { onRowsRead } : {}) }, this.cur);
  }

  private async closeSource(): Promise<void> {
    const o = this.open;
    this.open = undefined;
    if (o !== undefined) releasePageMemory(o.src);
    await o?.src.close?.();
  }

  /** Exact position; pass as `state` to a new loader with the same options to continue. */
  state(): LoaderState {
    const s = this.stateSharingDocuments();
    return s === this.opts.state ? structuredClone(s) : { ...s, buffer: structuredClone(s.buffer) };
  }

  /**
   * {@link state} without copying the shuffle buffer's documents: its `buffer` is a new array of the
   * loader's own document objects (which it never changes). For callers that take a position often
   * and copy it only when handing it out (the pipeline, once per chunk: cloning a 1000-document
   * buffer per chunk cost about a tenth of tokenizing it). Do not modify what it returns.
   */
  stateSharingDocuments(): LoaderState {
    if (!this.plan) {
      if (this.opts.state) return this.opts.state;
      return { v: 1, fingerprint: "", epoch: 0, piece: 0, pos: null, drained: false, buffer: [], rng: null, stats: { ...this.statsV } };
    }
    const c = this.cur;
    const moved = c.nextOffset >= 0 || c.nextLine >= 0 || c.nextRow >= 0;
    const pos = this.reader ? (moved ? resumePoint(c) : null) : (this.resume ?? null);
    return {
      v: 1,
      fingerprint: this.fingerprint,
      epoch: this.epoch,
      piece: this.pieceIdx,
      pos,
      drained: this.drained,
      buffer: this.buffer.slice(),
      rng: this.rng ? this.rng.state() : null,
      stats: { ...this.statsV },
    };
  }

  /** Counters so far (documents, skipped malformed, skipped null). */
  stats(): LoaderStats {
    return { ...this.statsV };
  }

  /** Releases open files / connections. The loader yields nothing more afterwards. */
  async close(): Promise<void> {
    this.finished = true;
    const r = this.reader;
    this.reader = undefined;
    await r?.return(undefined);
    await this.closeSource();
  }

  async return(): Promise<IteratorResult<Document>> {
    await this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Document> {
    return this;
  }
}

/** Creates a loader; nothing is opened until the first `next()`. */
export function createLoader(opts: LoaderOptions): Loader {
  return new Loader(opts);
}
