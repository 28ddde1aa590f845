/**
 * `createPipeline`: loader → tokenizer (worker threads or this thread) → packer, as one pulled
 * stream of batches. Nothing is read ahead of the consumer except `prefetch` chunks of documents,
 * so a slow consumer slows the reads (backpressure end to end).
 *
 * Reading: with workers and a loader that yields documents in piece order (no shuffle buffer) over
 * enough pieces, each worker reads whole pieces itself (a parquet row group, a byte range of JSONL:
 * `PieceTask`), so reading and parsing run in parallel too and the main thread only packs; results
 * are consumed in piece order, so batches equal the single-threaded run's. Otherwise the main thread
 * reads and workers tokenize chunks of `chunkDocs` documents.
 *
 * Resume: packing is a deterministic function of the document sequence, so a `state()` records the
 * loader state at the last *clean point* — a chunk boundary where the packer held nothing (every
 * pushed token already emitted) — plus how many batches were emitted since. A restarted pipeline
 * reads from that point with a fresh packer and discards the batches already delivered, yielding
 * bit-identical batches. bfd/ffd with carry-over (and any packing `seed`) keep documents pending
 * across windows, so for them the clean point is usually the start and a resume re-tokenizes from
 * there; `pad` has a clean point at almost every chunk.
 */
import { createLoader, type Loader, type LoaderOptions, type LoaderState, type LoaderStats, type SourceRef } from "../../loaders/index.js";
import { BufferPool, Packer, type PackAlgorithm, type PackedBatch, type PackOptions, type PackStats, type TokenizedDoc } from "../../packers/index.js";
import { PipelineError } from "../errors.js";
import type { EncodeDocumentOptions, SftDocument } from "../sft/index.js";
import type { Tokenizer } from "../tokenizers/types.js";
import { decodeChunk, type EncodeSpec, type EncodedChunk, type TemplateSpec } from "./chunk.js";
import { encoderFor } from "./encoder.js";
import { defaultWorkers, TokenizePool } from "./pool.js";
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
  /** Documents per chunk (one worker task, one loader-state snapshot). @default 256 */
  chunkDocs?: number;
  /** Chunks (or pieces, when workers read) in flight. @default 2 × workers; workers + 1 when workers read; 1 without workers */
  prefetch?: number;
  /**
   * Let workers read whole loader pieces themselves. `"auto"`: when the loader has no shuffle buffer
   * and at least 2 pieces per worker. @default "auto"
   */
  workersRead?: "auto" | boolean;
  /** A {@link Pipeline.state} snapshot from a pipeline with the same options: continue after it. */
  state?: PipelineState;
  /**
   * Called with every encoded document in stream order, before the packer sees it; `index` is its
   * 0-based number in the whole stream. After a resume, documents since the clean point are replayed
   * with their original indices (skip `index` below what you already have).
   */
  onDocument?: (doc: TokenizedDoc, index: number, source: SourceRef) => void;
}

/** JSON snapshot of a pipeline's position. */
export interface PipelineState {
  v: 1;
  /** Loader state at the clean point; null = the start. */
  loader: LoaderState | null;
  /** Documents before the clean point. */
  docs: number;
  /** Batches before the clean point. */
  batchesAtClean: number;
  /** Batches delivered to the consumer. */
  batches: number;
}

/** Uncompressed JSONL piece size in the pipeline (loader default: 64 MiB): one worker task's input. */
const PIPELINE_PIECE_BYTES = 8 << 20;

interface ChunkResult {
  chunk: EncodedChunk;
  source: (i: number) => SourceRef;
}

interface PendingChunk {
  /** Loader state before the chunk, evaluated when the chunk is next (earlier results are in by then). */
  before: () => LoaderState | null;
  result: () => Promise<ChunkResult>;
}

const ZERO_STATS = { docs: 0, skippedBad: 0, skippedNull: 0 } as const;

/** Loader → tokenizer → packer. Iterate once; call `state()` between batches. */
export class Pipeline implements AsyncIterable<PackedBatch> {
  private readonly loader: Loader;
  private readonly spec: EncodeSpec;
  private readonly workers: number;
  private readonly chunkDocs: number;
  private readonly prefetch: number;
  private readonly packOptions: PackOptions;
  private readonly trackClean: boolean;
  private pool: TokenizePool | undefined;
  private packer: Packer;
  private clean: { loader: LoaderState | null; docs: number; batches: number };
  private delivered: number;
  private docs: number;
  private chars = 0;
  private started = false;
  private readonly loaderOptions: Omit<LoaderOptions, "state">;
  /** Batch buffers handed back with `release()`, reused by later batches. */
  private readonly batchBuffers = new BufferPool(4);
  /** Loader counters when workers read pieces (summed from their replies); undefined otherwise. */
  private pieceStats: LoaderStats | undefined;

  constructor(private readonly opts: PipelineOptions) {
    const s = opts.state;
    if (s !== undefined && (s.v !== 1 || s.batches < s.batchesAtClean)) throw new PipelineError("not a pipeline state (v 1) snapshot", { field: "state" });
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
    this.prefetch = opts.prefetch ?? Math.max(1, 2 * this.workers); // piece mode: see run()
    this.packOptions = { ...opts.pack, seqLen: opts.seqLen, batchSize: opts.batchSize, algorithm: opts.packing ?? "bfd", pool: this.batchBuffers };
    this.packer = new Packer(this.packOptions);
    // A seeded window shuffle depends on the window number: only the start is clean then.
    this.trackClean = opts.pack?.seed === undefined;
    this.clean = { loader: s?.loader ?? null, docs: s?.docs ?? 0, batches: s?.batchesAtClean ?? 0 };
    this.delivered = s?.batches ?? 0;
    this.docs = this.clean.docs;
  }

  /** Position after the last batch delivered; JSON-serializable. */
  state(): PipelineState {
    return { v: 1, loader: this.clean.loader === null ? null : structuredClone(this.clean.loader), docs: this.clean.docs, batchesAtClean: this.clean.batches, batches: this.delivered };
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

  /** Packer stats since the last clean point (cumulative only for a pipeline that never resumed). */
  get packStats(): PackStats {
    return this.packer.stats;
  }

  /** Documents encoded so far in the whole stream (including those before a resume point). */
  get documents(): number {
    return this.docs;
  }

  /** UTF-16 code units of input text encoded by this instance. */
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
    const p = this.pool;
    this.pool = undefined;
    await Promise.all([p?.close(), this.loader.close()]);
  }

  private async *run(): AsyncGenerator<PackedBatch, void, undefined> {
    try {
      if (this.workers > 0) this.pool = new TokenizePool(this.workers);
      const local = this.workers === 0 ? await encoderFor(this.spec) : undefined;
      const pieces = await this.workersReadPieces();
      const chunks = pieces ? this.pieceChunks() : undefined;
      const prefetch = pieces ? (this.opts.prefetch ?? this.workers + 1) : this.prefetch;
      const queue: PendingChunk[] = [];
      let eof = false;
      let nextBatch = this.clean.batches;
      const emit = (batch: PackedBatch): PackedBatch | undefined => {
        batch.index = nextBatch++;
        return batch.index < this.delivered ? undefined : batch;
      };
      for (;;) {
        while (!eof && queue.length < prefetch) {
          const c = chunks ? (await chunks.next()).value : await this.readChunk(local);
          if (c === undefined) eof = true;
          else queue.push(c);
        }
        const head = queue.shift();
        if (head === undefined) break;
        if (this.trackClean && this.drained()) this.clean = { loader: head.before(), docs: this.docs, batches: nextBatch };
        const { chunk, source } = await head.result();
        this.chars += chunk.chars;
        for (let i = 0; i < chunk.count; i++) {
          const doc = chunk.docs[i];
          if (doc === undefined) continue;
          this.opts.onDocument?.(doc, this.docs, source(i));
          this.docs++;
          this.packer.push(doc);
          for (let b = this.packer.take(); b !== undefined; b = this.packer.take()) {
            const out = emit(b);
            if (out === undefined) continue;
            this.delivered++; // before yield: a consumer that breaks after this batch never resumes us
            yield out;
          }
        }
      }
      this.packer.finish();
      for (let b = this.packer.take(); b !== undefined; b = this.packer.take()) {
        const out = emit(b);
        if (out === undefined) continue;
        this.delivered++;
        yield out;
      }
    } finally {
      await this.close();
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
    const start = this.clean.loader;
    return (await this.loader.piecesIn(start?.epoch ?? 0)) >= 2 * this.workers;
  }

  /** One task per piece from the resume point on, in reading order; results summed into `pieceStats`. */
  private async *pieceChunks(): AsyncGenerator<PendingChunk, undefined, undefined> {
    const resumed = this.clean.loader;
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
        const task: PieceTask = { kind: "piece", spec: this.spec, loader: this.loaderOptions, state: { ...start, stats: { ...ZERO_STATS } }, stopAtPiece: piece + 1 };
        const p = this.pool!.encodePiece(task).then((r): ChunkResult & { stats: LoaderStats } => {
          const ref = { file: r.file, shard: r.shard };
          const kind = r.atKind;
          const source = (i: number): SourceRef => {
            const at = r.at[i]!;
            return at < 0 || kind === "none" ? { ...ref } : kind === "line" ? { ...ref, line: at } : { ...ref, row: at };
          };
          return { chunk: decodeChunk(r.buffer, true), source, stats: r.stats };
        });
        p.catch(() => undefined); // awaited in order later; avoid an unhandled rejection meanwhile
        yield {
          before: () => ({ ...start, stats: { ...stats } }),
          result: async () => {
            const r = await p;
            stats.docs += r.stats.docs;
            stats.skippedBad += r.stats.skippedBad;
            stats.skippedNull += r.stats.skippedNull;
            return r;
          },
        };
      }
      if (first !== undefined && first.drained && first.epoch === epoch) first = undefined;
    }
    return undefined;
  }

  /** Every token pushed has left in a batch: a fresh packer would continue identically. */
  private drained(): boolean {
    const s = this.packer.stats;
    return s.inputTokens === s.tokens + s.truncatedTokens + s.droppedTokens;
  }

  /** Read up to `chunkDocs` documents and start encoding them. */
  private async readChunk(local: ((docs: readonly SftDocument[]) => ArrayBuffer) | undefined): Promise<PendingChunk | undefined> {
    const before = this.trackClean ? this.loader.state() : null;
    const docs: SftDocument[] = [];
    const sources: SourceRef[] = [];
    while (docs.length < this.chunkDocs) {
      const r = await this.loader.next();
      if (r.done) break;
      const { source, ...doc } = r.value;
      docs.push(doc);
      sources.push(source);
    }
    if (docs.length === 0) return undefined;
    const source = (i: number): SourceRef => sources[i]!;
    let result: () => Promise<ChunkResult>;
    if (local !== undefined) {
      // Encoded when consumed (prefetch 1): the calling thread does one thing at a time anyway.
      result = async () => ({ chunk: decodeChunk(local(docs), true), source });
    } else {
      const p = this.pool!.encode(this.spec, docs).then((b) => ({ chunk: decodeChunk(b, true), source }));
      p.catch(() => undefined); // awaited in order later; avoid an unhandled rejection meanwhile
      result = () => p;
    }
    return { before: () => before, result };
  }
}

/** Build a {@link Pipeline}: `for await (const batch of createPipeline(opts)) …`. */
export function createPipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}
