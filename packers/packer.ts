/**
 * The packing pipeline: documents → pieces (overlong policy) → rows (planner) → batches (writer).
 * `Packer` is the synchronous push/take engine; `packDocuments` / `packDocumentsSync` wrap it as
 * generators over any (async) iterable of tokenized documents.
 */
import { PackOptionsError } from "../src/errors.js";
import { writeBatch } from "./batch-writer.js";
import { checkDoc, cutDocument, newCutCounters, type CutCounters, type Piece } from "./pieces.js";
import { ConcatPlanner } from "./planners/concat.js";
import { PadPlanner } from "./planners/pad.js";
import type { Row, RowPlanner } from "./planners/row.js";
import { WindowPlanner } from "./planners/window.js";
import type { BufferPool } from "./pool.js";
import type { OverlongPolicy, PackAlgorithm, PackedBatch, PackOptions, PackStats, TokenizedDoc } from "./types.js";

/** Default bfd/ffd window: 2048 pieces pack to <0.5% padding at L=2048 on gsm8k+t0 (see perf/pack.ts). */
export const DEFAULT_WINDOW = 2048;

const ALGORITHMS: readonly PackAlgorithm[] = ["concat", "bfd", "ffd", "pad"];
const POLICIES: readonly OverlongPolicy[] = ["split", "truncate", "drop"];

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new PackOptionsError(`${name} must be a positive integer, got ${String(v)}`, { field: name });
  return v;
}

/** Packs tokenized documents into fixed-size batches. Feed with `push`, collect with `take`. */
export class Packer {
  readonly seqLen: number;
  readonly batchSize: number;
  readonly algorithm: PackAlgorithm;
  readonly overlong: OverlongPolicy;
  /** bfd/ffd window size in pieces (0 for concat/pad). */
  readonly windowSize: number;
  private readonly padId: number;
  private readonly dropLast: boolean;
  private readonly pool: BufferPool | undefined;
  private readonly planner: RowPlanner;
  private readonly counters: CutCounters = newCutCounters();
  private readonly pieces: Piece[] = [];
  private ready: Row[] = [];
  private readyHead = 0;
  private finished = false;
  private batchNo = 0;
  private reported = { truncatedTokens: 0, droppedTokens: 0, droppedDocs: 0 };
  private readonly totals = { tokens: 0, paddingTokens: 0, segments: 0, labeledTokens: 0, rows: 0 };

  constructor(options: PackOptions) {
    this.seqLen = positiveInt("seqLen", options.seqLen);
    this.batchSize = positiveInt("batchSize", options.batchSize);
    this.algorithm = options.algorithm ?? "bfd";
    if (!ALGORITHMS.includes(this.algorithm)) {
      throw new PackOptionsError(`unknown algorithm "${String(this.algorithm)}"; use one of ${ALGORITHMS.join(", ")}`, { field: "algorithm" });
    }
    this.overlong = options.overlong ?? (this.algorithm === "pad" ? "truncate" : "split");
    if (!POLICIES.includes(this.overlong)) {
      throw new PackOptionsError(`unknown overlong policy "${String(this.overlong)}"; use one of ${POLICIES.join(", ")}`, { field: "overlong" });
    }
    this.padId = options.padId ?? 0;
    this.dropLast = options.dropLast ?? false;
    this.pool = options.pool;
    const windowed = this.algorithm === "bfd" || this.algorithm === "ffd";
    this.windowSize = windowed ? positiveInt("windowSize", options.windowSize ?? DEFAULT_WINDOW) : 0;
    if (this.algorithm === "concat") this.planner = new ConcatPlanner(this.seqLen);
    else if (this.algorithm === "pad") this.planner = new PadPlanner();
    else {
      this.planner = new WindowPlanner({
        seqLen: this.seqLen,
        windowSize: this.windowSize,
        fit: this.algorithm === "bfd" ? "best" : "first",
        carryOver: options.carryOver ?? true,
        seed: options.seed,
      });
    }
  }

  /** Add one document. Throws `InputFormatError` when its loss mask does not match its ids. */
  push(doc: TokenizedDoc): void {
    if (this.finished) throw new PackOptionsError("push() after finish(): create a new Packer for more documents");
    checkDoc(doc, this.counters.docs);
    cutDocument(doc, this.seqLen, this.overlong, this.algorithm !== "concat", this.counters, this.pieces);
    for (const p of this.pieces) this.planner.add(p, this.ready);
    this.pieces.length = 0;
  }

  /** End of input: the remaining rows become available to `take` (the last batch may be partial). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.planner.finish(this.ready);
  }

  /** The next complete batch, or (after `finish`) the final partial one; `undefined` when none is ready. */
  take(): PackedBatch | undefined {
    const available = this.ready.length - this.readyHead;
    if (available === 0) return undefined;
    if (available < this.batchSize) {
      if (!this.finished) return undefined;
      if (this.dropLast) {
        for (let i = this.readyHead; i < this.ready.length; i++) {
          for (const p of this.ready[i]!.pieces) this.counters.droppedTokens += p.len;
        }
        this.ready = [];
        this.readyHead = 0;
        return undefined;
      }
    }
    const n = Math.min(available, this.batchSize);
    const rows = this.ready.slice(this.readyHead, this.readyHead + n);
    this.readyHead += n;
    if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    const c = this.counters;
    const losses = {
      truncatedTokens: c.truncatedTokens - this.reported.truncatedTokens,
      droppedTokens: c.droppedTokens - this.reported.droppedTokens,
      droppedDocs: c.droppedDocs - this.reported.droppedDocs,
    };
    this.reported = { truncatedTokens: c.truncatedTokens, droppedTokens: c.droppedTokens, droppedDocs: c.droppedDocs };
    const batch = writeBatch(rows, this.seqLen, this.padId, this.batchNo++, losses, this.pool);
    const t = this.totals;
    t.rows += batch.stats.rows;
    t.tokens += batch.stats.tokens;
    t.paddingTokens += batch.stats.paddingTokens;
    t.segments += batch.stats.segments;
    t.labeledTokens += batch.stats.labeledTokens;
    return batch;
  }

  /** Cumulative stats over every batch taken so far (and every document pushed). */
  get stats(): PackStats {
    const t = this.totals;
    const c = this.counters;
    const grid = t.rows * this.seqLen;
    return {
      batches: this.batchNo,
      rows: t.rows,
      tokens: t.tokens,
      paddingTokens: t.paddingTokens,
      fillRatio: grid === 0 ? 0 : t.tokens / grid,
      segments: t.segments,
      docsPerRow: t.rows === 0 ? 0 : t.segments / t.rows,
      labeledTokens: t.labeledTokens,
      truncatedTokens: c.truncatedTokens,
      droppedTokens: c.droppedTokens,
      droppedDocs: c.droppedDocs,
      docs: c.docs,
      inputTokens: c.inputTokens,
      splitDocs: c.splitDocs + this.planner.splitDocs,
      overlongDocs: c.overlongDocs,
      windowSize: this.windowSize,
      algorithm: this.algorithm,
    };
  }
}

/**
 * Pack a synchronous stream of documents; yields batches as they fill and returns the cumulative stats.
 */
export function* packDocumentsSync(docs: Iterable<TokenizedDoc>, options: PackOptions): Generator<PackedBatch, PackStats, undefined> {
  const packer = new Packer(options);
  for (const doc of docs) {
    packer.push(doc);
    for (let b = packer.take(); b !== undefined; b = packer.take()) yield b;
  }
  packer.finish();
  for (let b = packer.take(); b !== undefined; b = packer.take()) yield b;
  return packer.stats;
}

/**
 * Pack a stream of documents (sync or async iterable, e.g. a loader piped through a tokenizer);
 * yields batches as they fill and returns the cumulative stats.
 */
export async function* packDocuments(
  docs: Iterable<TokenizedDoc> | AsyncIterable<TokenizedDoc>,
  options: PackOptions,
): AsyncGenerator<PackedBatch, PackStats, undefined> {
  const packer = new Packer(options);
  for await (const doc of docs) {
    packer.push(doc);
    for (let b = packer.take(); b !== undefined; b = packer.take()) yield b;
  }
  packer.finish();
  for (let b = packer.take(); b !== undefined; b = packer.take()) yield b;
  return packer.stats;
}
