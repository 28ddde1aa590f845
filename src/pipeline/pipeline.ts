/**
 * `createPipeline`: loader → tokenizer (worker threads or this thread) → packer, as one pulled
 * stream of batches. Nothing is read ahead of the consumer except `prefetch` chunks of documents,
 * so a slow consumer slows the reads (backpressure end to end).
 *
 * Reading: with workers and a loader that yields documents in piece order (no shuffle buffer) over
 * enough pieces, each worker reads whole pieces itself (a parquet row group, a byte range of JSONL:
 * `PieceTask`), so reading and parsing run in parallel too and the main thread only packs; a piece
 * comes back in parts (`parts.ts`), consumed in piece order, so batches equal the single-threaded
 * run's. Otherwise (a shuffle buffer, few pieces, or parquet row groups too large to hold one per
 * worker) the main thread reads and workers tokenize chunks of `chunkDocs` documents (or 256 Ki
 * characters), written into one buffer each as they are read and moved to the worker
 * (`doc-bytes.ts`). Chunk buffers are reused once the packer is done with their documents.
 *
 * Resume is exact and replays nothing. Chunks (a chunk of documents, or one loader piece) are consumed
 * in order, and `state()` records where the consumer stands inside the head chunk: the loader state
 * at that chunk's start, how many of its documents were already handed to the packer (`skip`), and
 * the packer's own snapshot (`Packer.snapshot`: its pending pieces with their token ids, rows planned
 * but not yet delivered, counters, seeded-shuffle position). A restarted pipeline restores the
 * packer, first delivers the batches that were already complete in it, then reads from that chunk
 * start again, drops the first `skip` documents unseen (not pushed, not passed to `onDocument`) and
 * continues. `skip` counts loader documents from that state on, whatever the chunking, so a state
 * taken while reading on this thread resumes with workers reading pieces and the other way round (a
 * skip longer than the first chunk goes on into the next). At most one chunk is read and encoded
 * twice (`chunkDocs` documents, or one piece); the state's size follows the packer's pending tokens
 * (about 3 JSON bytes a token) plus the loader state (whose shuffle buffer is the only large part).
 */
import { MessageChannel } from "node:worker_threads";
import { createLoader, type Loader, type LoaderOptions, type LoaderState, type LoaderStats, type SourceRef } from "../../loaders/index.js";
import {
  BufferPool,
  Packer,
  type PackAlgorithm,
  type PackedBatch,
  type PackerSnapshot,
  type PackOptions,
  type PackStats,
  type TokenizedDoc,
} from "../../packers/index.js";
import { PackOptionsError, PipelineError } from "../errors.js";
import type { EncodeDocumentOptions, SftDocument } from "../sft/index.js";
import { loadTokenizerIfCached } from "../tokenizers/load.js";
import type { Tokenizer } from "../tokenizers/types.js";
import { decodeChunk, recycleChunkBuffer, takeChunkBuffers, type EncodeSpec, type EncodedChunk, type TemplateSpec } from "./chunk.js";
import { DocWriter } from "./doc-bytes.js";
import { encoderFor } from "./encoder.js";
import { defaultWorkers, TokenizePool } from "./pool.js";
import { PART_CREDITS, PART_TOKENS, PartReceiver, type PiecePart } from "./parts.js";
import type { PieceTask } from "./worker.js";

/** Options of {@link createPipeline}. */
export interface PipelineOptions {
  /** Files, globs, URLs, `zip:` entries or manifests (see `createLoader`). */
  sources: string | readonly string[];
  /** Loader options: document spec, format, sharding (`rank`, `worldSize`), shuffle, epochs, `skipBad`. */
  loader?: Omit<LoaderOptions, "sources" | "state">;
  /** Tokenizer spec (built-in name or file), or a loaded tokenizer (its `name` is the spec workers load). */
  tokenizer: string | Tokenizer;
  /** Row length L. */
  seqLen: number;
  /** Rows per batch. */
  batchSize: number;
  /** Packing algorithm. @default "bfd" */
  packing?: PackAlgorithm;
  /** Further packer options (overlong policy, window, padId, seed, dropLast). */
  pack?: Omit<PackOptions, "seqLen" | "batchSize" | "algorithm" | "pool">;
  /** Chat template for `messages` documents: "chatml", "llama3", Jinja source or a tokenizer_config.json. */
  template?: TemplateSpec;
  /** Options of `encodeDocument` (train roles, `textEos`, `addSpecialTokens`, …). */
  encode?: Omit<EncodeDocumentOptions, "template">;
  /** Tokenizer worker threads; 0 tokenizes on the calling thread. @default os.availableParallelism() */
  workers?: number;
  /**
   * Documents per chunk (one worker task, one loader-state snapshot). A chunk for a worker also ends
   * once it holds 256 Ki characters of text (see `CHUNK_CHARS`). @default 256
   */
  chunkDocs?: number;
  /** Chunks (or pieces, when workers read) in flight. @default 2 × workers; workers + 1 when workers read; 1 without workers */
  prefetch?: number;
  /**
   * When workers read pieces: ids per part a piece is sent back in (see `parts.ts`); a worker may be
   * 8 parts ahead of the batches consumed. Smaller parts hold less memory and reach the packer
   * sooner, for more messages. @default 524288 (2 MiB of ids)
   */
  partTokens?: number;
  /**
   * Let workers read whole loader pieces themselves. `"auto"`: when the loader has no shuffle buffer,
   * at least 2 pieces per worker, and no parquet row group over 64 MiB decoded (each reading worker
   * would hold one). @default "auto"
   */
  workersRead?: "auto" | boolean;
  /** A {@link Pipeline.state} snapshot from a pipeline with the same options: continue after it. */
  state?: PipelineState;
  /**
   * Called with every encoded document in stream order, before the packer sees it; `index` is its
   * 0-based number in the whole stream. The document's arrays are valid during the call only: they
   * view a chunk buffer that later chunks are written into once the packer is done with it, so copy
   * (`ids.slice()`) what you keep. A resumed pipeline goes on with the first document the
   * interrupted one had not pushed (`index` = the state's `docs`): nothing is called twice.
   */
  onDocument?: (doc: TokenizedDoc, index: number, source: SourceRef) => void;
}

/**
 * JSON snapshot of a pipeline's position (see the module comment). Version 1 states (replay from a
 * "clean point") are refused: they cannot resume exactly without re-packing from that point.
 */
export interface PipelineState {
  v: 2;
  /** Loader state at the start of the chunk being consumed; null = the stream's start. */
  loader: LoaderState | null;
  /** Loader documents from `loader` on that were already consumed (pushed, or encoded to nothing). */
  skip: number;
  /** Documents pushed in the whole stream: the next `onDocument` index. */
  docs: number;
  /** Batches delivered to the consumer: the next batch's `index`. */
  batches: number;
  /** The packer after the last document pushed, less the batches delivered. */
  packer: PackerSnapshot;
}

/**
 * Uncompressed JSONL piece size in the pipeline (loader default: 64 MiB): one worker task's input.
 * Measured when a piece came back whole (before parts and reused buffers), smaller pieces held less:
 * 2 workers on 163 MB of JSONL peaked at 259–273 MB with 8 MiB pieces and 228–250 MB with 4 MiB, at
 * the same speed (4 interleaved runs each), and the first batch came sooner.
 */
const PIPELINE_PIECE_BYTES = 4 << 20;

/**
 * "auto" lets workers read pieces only when no piece holds more than this while read (a parquet row
 * group's decoded column chunks). Two copies of 122,880-row groups of 1.6 kB documents (~200 MB
 * each) through 2 workers: reading pieces in the workers peaked at 692 MB in 17.8 s, reading on the
 * calling thread at 527 MB in 15.5 s.
 */
const WORKER_PIECE_MAX_BYTES = 64 << 20;

/** Free chunk buffers sent along with each task to a worker. */
const SPARE_PER_TASK = 1;
/**
 * A chunk sent to a worker also ends at this much text (UTF-16 units), ~60k tokens. Each task costs
 * the worker a fixed part (tinypool's per-task `process.memoryUsage()`, messages, building the
 * result), and the chunk's text waits on this thread until it is sent. Two interleaved runs each, 100k
 * chats (~1.8k characters each, read on this thread: one large row group, chatml) and 100k documents
 * in one .jsonl.gz (read on this thread too), 1 / 2 workers:
 * - 128 Ki: chats 7.0–7.2 / 5.6–5.7 s, peak RSS 219–235 MB with 2 workers; gz 5.3–5.6 / 4.1–4.2 s;
 * - 256 Ki: chats 6.2–6.4 / 5.0–5.3 s, 230–242 MB; gz 4.5–4.7 / 3.6 s;
 * - 512 Ki: chats 6.0–6.3 / 5.0–5.1 s, 228–262 MB; gz 4.7 / 3.6–3.7 s.
 * (Before chunks were written as bytes, 256-document chunks of these chats peaked at 255–272 MB.)
 */
const CHUNK_CHARS = 256 << 10;

interface ChunkResult {
  chunk: EncodedChunk;
  source: (i: number) => SourceRef;
}

interface PendingChunk {
  /** Loader state before the chunk, evaluated when the chunk is next (earlier results are in by then). */
  before: () => LoaderState | null;
  /** The chunk's next part (a piece comes in parts, a chunk of documents in one); undefined after the last. */
  next: () => Promise<ChunkResult | undefined>;
}

const ZERO_STATS = { docs: 0, skippedBad: 0, skippedNull: 0 } as const;

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0;

/** Check a `state` option's shape; the packer snapshot is checked by `Packer.restore`. */
function checkState(s: PipelineState): void {
  const v: unknown = typeof s === "object" && s !== null ? s.v : undefined;
  if (v !== 2) {
    const hint = v === 1 ? "version 1 states replay from a clean point and are no longer read; start the run again" : "pass a Pipeline.state() snapshot";
    throw new PipelineError(`pipeline state version ${String(v)} is not supported (this tokpack reads version 2): ${hint}`, { field: "state.v" });
  }
  for (const k of ["skip", "docs", "batches"] as const) {
    if (!isCount(s[k])) throw new PipelineError(`pipeline state: ${k} must be an integer ≥ 0, got ${String(s[k])}`, { field: `state.${k}` });
  }
  if (typeof s.loader !== "object") throw new PipelineError("pipeline state: loader must be a loader state or null", { field: "state.loader" });
  const taken: unknown = typeof s.packer === "object" && s.packer !== null ? s.packer.batches : undefined;
  if (taken !== s.batches) throw new PipelineError(`pipeline state: ${s.batches} batches delivered but the packer snapshot has taken ${String(taken)}`, { field: "state.batches" });
}

/** `Packer.restore`, its errors as a PipelineError naming the state's field. */
function restorePacker(options: PackOptions, snapshot: PackerSnapshot): Packer {
  try {
    return Packer.restore(options, snapshot);
  } catch (e) {
    if (!(e instanceof PackOptionsError)) throw e;
    const field = e.context.field === undefined ? "state.packer" : `state.packer.${e.context.field}`;
    throw new PipelineError(`pipeline state: its packer snapshot does not fit these options (${e.message})`, { field }, { cause: e });
  }
}

/** Loader → tokenizer → packer. Iterate once; call `state()` between batches. */
export class Pipeline implements AsyncIterable<PackedBatch> {
  private readonly loader: Loader;
  private readonly spec: EncodeSpec;
  private readonly workers: number;
  private readonly chunkDocs: number;
  private readonly prefetch: number;
  private readonly partTokens: number;
  private readonly packOptions: PackOptions;
  private pool: TokenizePool | undefined;
  private readonly packer: Packer;
  /** Where reading starts: the resumed state's loader state (null = the stream's start). */
  private readonly startLoader: LoaderState | null;
  /** Loader documents to drop unseen from `startLoader` on: the resumed state's `skip`. */
  private skip: number;
  /** The chunk being consumed: loader state at its start and documents of it consumed so far. */
  private at: { loader: LoaderState | null; skip: number };
  private delivered: number;
  private docs: number;
  private chars = 0;
  private started = false;
  private readonly loaderOptions: Omit<LoaderOptions, "state">;
  /** Batch buffers handed back with `release()`, reused by later batches. */
  private readonly batchBuffers = new BufferPool(4);
  /** Chunk buffers whose documents were all pushed; the packer may still read some of them. */
  private retired: ArrayBuffer[] = [];
  /** Part streams of pieces in flight (closed with the pipeline). */
  private readonly receivers = new Set<PartReceiver>();
  /** Loader counters when workers read pieces (summed from their replies); undefined otherwise. */
  private pieceStats: LoaderStats | undefined;

  constructor(private readonly opts: PipelineOptions) {
    const s = opts.state;
    if (s !== undefined) checkState(s);
    this.loaderOptions = { ...opts.loader, sources: opts.sources, pieceBytes: opts.loader?.pieceBytes ?? PIPELINE_PIECE_BYTES };
    this.loader = createLoader({ ...this.loaderOptions, ...(s?.loader ? { state: s.loader } : {}) });
    this.spec = {
      tokenizer: typeof opts.tokenizer === "string" ? opts.tokenizer : opts.tokenizer.name,
      ...(opts.template !== undefined ? { template: opts.template } : {}),
      ...(opts.encode !== undefined ? { encode: opts.encode } : {}),
    };
    this.workers = opts.workers ?? defaultWorkers();
    if (!Number.isInteger(this.workers) || this.workers < 0) throw new PipelineError(`workers must be an integer ≥ 0, got ${String(opts.workers)}`, { field: "workers" });
    this.chunkDocs = opts.chunkDocs ?? 256;
    this.partTokens = opts.partTokens ?? PART_TOKENS;
    if (!Number.isInteger(this.partTokens) || this.partTokens < 1) throw new PipelineError(`partTokens must be a positive integer, got ${String(opts.partTokens)}`, { field: "partTokens" });
    this.prefetch = opts.prefetch ?? Math.max(1, 2 * this.workers); // piece mode: see run()
    this.packOptions = { ...opts.pack, seqLen: opts.seqLen, batchSize: opts.batchSize, algorithm: opts.packing ?? "bfd", pool: this.batchBuffers };
    this.packer = s === undefined ? new Packer(this.packOptions) : restorePacker(this.packOptions, s.packer);
    this.startLoader = s?.loader ?? null;
    this.skip = s?.skip ?? 0;
    this.at = { loader: this.startLoader, skip: this.skip };
    this.delivered = s?.batches ?? 0;
    this.docs = s?.docs ?? 0;
  }

  /**
   * Position after the last batch delivered; JSON-serializable. Call it between batches (while the
   * consumer holds one, before iterating or after the end), not while a `next()` is pending. Costs
   * O(pending tokens): the packer snapshot copies them.
   */
  state(): PipelineState {
    const loader = this.at.loader === null ? null : structuredClone(this.at.loader);
    return { v: 2, loader, skip: this.at.skip, docs: this.docs, batches: this.delivered, packer: this.packer.snapshot() };
  }

  /**
   * Optional: hand a batch's memory back once nothing reads it any more (after writing it out, or
   * after its tensors are disposed — the tfjs cpu backend reads the arrays in place). Later batches
   * reuse it instead of fresh memory, which saves the page faults of a new buffer per batch (~10% of
   * a single-threaded run here). Batches never released are garbage-collected as usual.
   */
  release(batch: PackedBatch): void {
    this.batchBuffers.release(batch);
  }

  /** Packer stats over the whole stream (carried across resumes by the state). */
  get packStats(): PackStats {
    return this.packer.stats;
  }

  /** Documents encoded so far in the whole stream (including those before a resume point). */
  get documents(): number {
    return this.docs;
  }

  /** UTF-16 code units of input text encoded by this instance (a resume re-encodes at most one chunk). */
  get inputChars(): number {
    return this.chars;
  }

  /** Loader counters (documents, skipped malformed, skipped null). */
  loaderStats(): LoaderStats {
    return this.pieceStats !== undefined ? { ...this.pieceStats } : this.loader.stats();
  }

  [Symbol.asyncIterator](): AsyncGenerator<PackedBatch, void, undefined> {
    if (this.started) throw new PipelineError("a pipeline can be iterated once; create a new one (with state) to continue");
    this.started = true;
    return this.run();
  }

  /** Stop workers and close the loader (also done when iteration ends or breaks). */
  async close(): Promise<void> {
    for (const r of this.receivers) r.close();
    this.receivers.clear();
    const p = this.pool;
    this.pool = undefined;
    await Promise.all([p?.close(), this.loader.close()]);
  }

  private async *run(): AsyncGenerator<PackedBatch, void, undefined> {
    try {
      yield* this.ready(); // complete batches a resumed packer held
      // a worker loads the tokenizer while this thread plans the sources (many files: many footers)
      let shared: Promise<void> | undefined;
      if (this.workers > 0) {
        this.pool = new TokenizePool(this.workers);
        shared = this.shareTokenizer(this.pool);
        shared.catch(() => undefined); // awaited below; a planning error may come first
      }
      const local = this.workers === 0 ? await encoderFor(this.spec) : undefined;
      const pieces = await this.workersReadPieces();
      await shared;
      const chunks = pieces ? this.pieceChunks() : undefined;
      const prefetch = pieces ? (this.opts.prefetch ?? this.workers + 1) : this.prefetch;
      const queue: PendingChunk[] = [];
      let eof = false;
      for (;;) {
        while (!eof && queue.length < prefetch) {
          const c = chunks ? (await chunks.next()).value : await this.readChunk(local);
          if (c === undefined) eof = true;
          else queue.push(c);
        }
        const head = queue.shift();
        if (head === undefined) break;
        const before = head.before(); // before this chunk's result adds to the piece stats
        const at = { loader: before, skip: 0 };
        this.at = at;
        let consumed = 0; // documents of this chunk before the current part
        for (let part = await head.next(); part !== undefined; part = await head.next()) {
          const { chunk, source } = part;
          this.chars += chunk.chars;
          for (let i = 0; i < chunk.count; i++) {
            at.skip = consumed + i + 1;
            if (this.skip > 0) {
              this.skip--; // pushed before the state was taken
              continue;
            }
            const doc = chunk.doc(i);
            if (doc === undefined) continue;
            this.opts.onDocument?.(doc, this.docs, source(i));
            this.docs++;
            this.packer.push(doc);
            // inline of ready(): a generator per document cost ~5% of the main thread with workers
            for (let b = this.packer.take(); b !== undefined; b = this.packer.take()) {
              this.delivered++;
              yield b;
            }
          }
          consumed += chunk.count;
          this.retired.push(chunk.buffer);
        }
      }
      if (this.skip > 0) throw new PipelineError(`pipeline state: ${this.skip} of its ${String(this.opts.state?.skip)} documents to skip are past the end of the input; was it taken with other sources or loader options?`, { field: "state.skip" });
      this.packer.finish();
      yield* this.ready();
    } finally {
      await this.close();
    }
  }

  /**
   * Gives the workers one copy of the tokenizer's tables (every family tokpack loads shares them:
   * tiktoken encodings, BPE and WordPiece tokenizer.json): a loaded tokenizer passed in shares its
   * own; a spec whose tables are in the on-disk cache is read here while the workers start (a worker
   * loading it added ~0.15 s to their start-up); any other spec is loaded by one worker for all,
   * which keeps the build's garbage (a tokenizer.json's parsed JSON) out of this thread's heap. Each
   * other worker then saves the load and its memory.
   */
  private async shareTokenizer(pool: TokenizePool): Promise<void> {
    const t = this.opts.tokenizer;
    if (typeof t !== "string") return pool.shareTokenizer(t.shareTables?.());
    const cached = await loadTokenizerIfCached(t);
    const tables = cached?.shareTables?.();
    if (tables !== undefined) pool.shareTokenizer(tables);
    else await pool.shareTokenizerLoadedBy(t);
  }

  /**
   * Up to `max` consumed chunk buffers that the packer no longer reads, for the next chunks (on this
   * thread, or moved to a worker with its next task): a chunk's memory is reused, not allocated and
   * faulted in again. The freed buffers wait in this thread's spare list (`recycleChunkBuffer`,
   * which bounds it); `max` 0 only moves them there.
   */
  private freeBuffers(max: number): ArrayBuffer[] {
    if (this.retired.length > 0) {
      const inUse = this.packer.buffersInUse();
      const still: ArrayBuffer[] = [];
      for (const b of this.retired) {
        if (inUse.has(b)) still.push(b);
        else recycleChunkBuffer(b);
      }
      this.retired = still;
    }
    return takeChunkBuffers(max);
  }

  /** Deliver every batch the packer has complete (after `finish()`, the partial last one too). */
  private *ready(): Generator<PackedBatch, void, undefined> {
    for (let b = this.packer.take(); b !== undefined; b = this.packer.take()) {
      this.delivered++; // before yield: a consumer that breaks after this batch never resumes us
      yield b;
    }
  }

  /** Whether workers read whole pieces (see the module comment and `workersRead`). */
  private async workersReadPieces(): Promise<boolean> {
    const want = this.opts.workersRead ?? "auto";
    if (this.workers === 0 || want === false || !this.loader.pieceOrdered) return false;
    try {
      structuredClone(this.loaderOptions); // e.g. an undici dispatcher cannot cross to a worker
    } catch {
      return false;
    }
    if (want === true) return true;
    const start = this.startLoader;
    if ((await this.loader.piecesIn(start?.epoch ?? 0)) < 2 * this.workers) return false;
    // each reading worker would hold a row group this large at once; this thread reading holds one
    return (await this.loader.largestPieceBytes()) <= WORKER_PIECE_MAX_BYTES;
  }

  /** One task per piece from the resume point on, in reading order; results summed into `pieceStats`. */
  private async *pieceChunks(): AsyncGenerator<PendingChunk, undefined, undefined> {
    const resumed = this.startLoader;
    this.pieceStats = { ...(resumed?.stats ?? ZERO_STATS) };
    const stats = this.pieceStats;
    let first: LoaderState | undefined = resumed ?? undefined;
    const epochs = this.loader.epochCount;
    for (let epoch = resumed?.epoch ?? 0; epoch < epochs; epoch++) {
      const n = await this.loader.piecesIn(epoch);
      if (n === 0) return undefined; // this slot has no pieces in any epoch
      const from = first !== undefined && first.epoch === epoch ? first.piece : 0;
      for (let piece = from; piece < n; piece++) {
        const start = first !== undefined && first.epoch === epoch && first.piece === piece && !first.drained ? first : await this.loader.pieceStart(epoch, piece);
        first = undefined;
        const { port1, port2 } = new MessageChannel();
        const task: PieceTask = {
          kind: "piece",
          spec: this.spec,
          loader: this.loaderOptions,
          state: { ...start, stats: { ...ZERO_STATS } },
          stopAtPiece: piece + 1,
          spare: this.freeBuffers(SPARE_PER_TASK),
          parts: { port: port2, credits: PART_CREDITS, tokens: this.partTokens },
        };
        const done = this.pool!.encodePiece(task);
        done.catch(() => undefined); // the receiver reports it, in order
        const parts = new PartReceiver(port1, done);
        this.receivers.add(parts);
        yield {
          before: () => ({ ...start, stats: { ...stats } }),
          next: async () => {
            const r = await parts.next(() => this.freeBuffers(1)[0]);
            if (r === undefined) {
              this.receivers.delete(parts);
              return undefined;
            }
            if (r.last !== undefined) {
              stats.docs += r.last.stats.docs;
              stats.skippedBad += r.last.stats.skippedBad;
              stats.skippedNull += r.last.stats.skippedNull;
            }
            return partResult(r.part);
          },
        };
      }
      if (first !== undefined && first.drained && first.epoch === epoch) first = undefined;
    }
    return undefined;
  }

  /**
   * Read up to `chunkDocs` documents and start encoding them: on this thread when consumed (`local`),
   * else on a worker, the documents written into one buffer as they are read (see `doc-bytes.ts`).
   */
  private async readChunk(local: ((docs: readonly SftDocument[]) => ArrayBuffer) | undefined): Promise<PendingChunk | undefined> {
    const before = this.loader.stateSharingDocuments(); // copied by state() when handed out
    const docs: SftDocument[] = [];
    const written = local === undefined ? new DocWriter() : undefined;
    const sources: SourceRef[] = [];
    while (sources.length < this.chunkDocs && (written === undefined || written.chars < CHUNK_CHARS)) {
      const r = await this.loader.next();
      if (r.done) break;
      const { source, ...doc } = r.value;
      if (written !== undefined) written.add(doc);
      else docs.push(doc);
      sources.push(source);
    }
    if (sources.length === 0) return undefined;
    const source = (i: number): SourceRef => sources[i]!;
    let result: () => Promise<ChunkResult>;
    if (local !== undefined) {
      // Encoded when consumed (prefetch 1): the calling thread does one thing at a time anyway.
      result = async () => {
        this.freeBuffers(0); // into this thread's spare list, which local() writes into
        return { chunk: decodeChunk(local(docs)), source };
      };
    } else {
      const p = this.pool!.encode(this.spec, written!.finish(), this.freeBuffers(SPARE_PER_TASK)).then((b) => ({ chunk: decodeChunk(b), source }));
      p.catch(() => undefined); // awaited in order later; avoid an unhandled rejection meanwhile
      result = () => p;
    }
    let taken = false;
    const next = async (): Promise<ChunkResult | undefined> => {
      if (taken) return undefined;
      taken = true;
      return result();
    };
    return { before: () => before, next };
  }
}

/** A piece part as a chunk and its documents' sources. */
function partResult(r: PiecePart): ChunkResult {
  const ref = { file: r.file, shard: r.shard };
  const kind = r.atKind;
  const source = (i: number): SourceRef => {
    const at = r.at[i]!;
    return at < 0 || kind === "none" ? { ...ref } : kind === "line" ? { ...ref, line: at } : { ...ref, row: at };
  };
  return { chunk: decodeChunk(r.buffer), source };
}

/** Build a {@link Pipeline}: `for await (const batch of createPipeline(opts)) …`. */
export function createPipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}
