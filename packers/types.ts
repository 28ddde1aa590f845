/**
 * Types shared by the packers. Packers see only typed arrays: token ids as `Uint32Array` views and an
 * optional per-token loss mask. No tokenizer, no tensors.
 */
import type { BufferPool } from "./pool.js";

/** One tokenized document, as the packer receives it. */
export interface TokenizedDoc {
  /**
   * Token ids. The packer keeps a reference (no copy) until every row holding the document has been
   * written into a batch, so do not overwrite the memory behind this view after handing it over. The
   * bfd/ffd windows copy the leftovers they carry into a later window, so a view is held for at most
   * two windows (plus the rows of a batch not yet taken).
   */
  readonly ids: Uint32Array;
  /**
   * Per-token loss mask, same length as `ids`: 1 = this token is a training target (its label is kept
   * at the position that predicts it), 0 = never predicted (system/user turns, prompts).
   * @default all ones
   */
  readonly lossMask?: Uint8Array;
}

/** How documents are placed into rows. */
export type PackAlgorithm = "concat" | "bfd" | "ffd" | "pad";

/** What to do with a document longer than the row length. */
export type OverlongPolicy = "split" | "truncate" | "drop";

/** Options of {@link Packer} and `packDocuments`. */
export interface PackOptions {
  /** Row length L (tokens per row). */
  seqLen: number;
  /** Rows per batch B. */
  batchSize: number;
  /**
   * Placement algorithm: `concat` (stream tokens end to end, split across rows, no padding except the
   * final row), `bfd` (best-fit-decreasing over a window of documents), `ffd` (first-fit-decreasing
   * over the same window), `pad` (one document per row).
   * @default "bfd"
   */
  algorithm?: PackAlgorithm;
  /**
   * Documents longer than `seqLen`: `split` into `seqLen`-sized pieces (each piece its own segment),
   * `truncate` to the first `seqLen` tokens, or `drop`. Truncated and dropped tokens are counted in the stats.
   * @default "split" for concat, "truncate" for pad, "split" for bfd/ffd
   */
  overlong?: OverlongPolicy;
  /**
   * bfd/ffd: number of document pieces sorted and packed together. Larger windows pack tighter
   * (a starved window is the classic cause of high padding) at the cost of memory and latency.
   * Reported in the stats.
   * @default 2048
   */
  windowSize?: number;
  /**
   * bfd/ffd: put the documents of the least-filled rows of a window back into the next window instead
   * of emitting those rows, as long as they are at most a quarter of the window. The final window
   * carries nothing.
   * @default true
   */
  carryOver?: boolean;
  /** Id written at padding positions of `inputIds` (their labels are always -100). @default 0 */
  padId?: number;
  /**
   * Shuffle the rows of each bfd/ffd window with this seed before batching (a seeded PRNG, so the
   * output is still deterministic). `undefined` keeps placement order.
   * @default undefined
   */
  seed?: number;
  /** Drop a final batch with fewer than `batchSize` rows instead of emitting it. @default false */
  dropLast?: boolean;
  /**
   * Reuse batch buffers the consumer hands back with `pool.release(batch)` (e.g. `tensorBatches`'
   * `release` option). A released batch's arrays are overwritten by a later batch.
   * @default undefined (every batch gets a fresh buffer)
   */
  pool?: BufferPool;
}

/** Counters for one batch; every token of every document is accounted for. */
export interface BatchStats {
  /** Rows in the batch. */
  rows: number;
  /** Non-padding tokens. */
  tokens: number;
  /** Padding tokens. */
  paddingTokens: number;
  /** tokens / (rows × seqLen). */
  fillRatio: number;
  /** Segments (documents or document pieces) in the batch. */
  segments: number;
  /** segments / rows. */
  docsPerRow: number;
  /** Positions with a label other than -100. */
  labeledTokens: number;
  /** Tokens cut off by `truncate` since the previous batch. */
  truncatedTokens: number;
  /** Tokens of documents removed by `drop` (or empty documents) since the previous batch. */
  droppedTokens: number;
  /** Documents removed by `drop` since the previous batch. */
  droppedDocs: number;
}

/** Cumulative counters over all batches so far. */
export interface PackStats extends BatchStats {
  /** Batches emitted. */
  batches: number;
  /** Documents received. */
  docs: number;
  /** Tokens received (before truncation/dropping). */
  inputTokens: number;
  /** Documents placed in more than one segment (split across rows or pieces). */
  splitDocs: number;
  /** Documents longer than `seqLen`. */
  overlongDocs: number;
  /** The bfd/ffd window size in use (0 for concat and pad). */
  windowSize: number;
  /** The algorithm in use. */
  algorithm: PackAlgorithm;
}

/**
 * One batch of `rows × seqLen` tokens. Every array is an `Int32Array` view into the single `buffer`.
 * Row-major: row r occupies `[r * seqLen, (r + 1) * seqLen)`.
 */
export interface PackedBatch {
  /** 0-based batch number. */
  index: number;
  /** Rows in this batch (B, smaller for a final partial batch). */
  rows: number;
  /** Row length L. */
  seqLen: number;
  /** The one buffer every array below views (may be larger than they need when it came from a pool). */
  buffer: ArrayBuffer;
  /** Token ids; `padId` at padding. */
  inputIds: Int32Array;
  /**
   * Next-token targets: `labels[i]` is the document's token after the one at `i` (even when that token
   * sits in another row because the document was split), -100 at each document's last token, on
   * padding, and where the loss mask of the target token is 0.
   */
  labels: Int32Array;
  /** Position of each token within its segment, restarting at 0 for each segment; 0 on padding. */
  positionIds: Int32Array;
  /** 1..k for the k segments of a row, in order; 0 on padding. */
  segmentIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** Length of each segment, row by row (length = number of segments). */
  seqLens: Int32Array;
  /**
   * Cumulative segment lengths over the batch's real tokens in row-major order (the tokens where
   * `attentionMask` is 1), starting at 0: length = segments + 1, as varlen attention kernels expect.
   * For a batch without padding this indexes the flattened `rows × seqLen` arrays directly.
   */
  cuSeqlens: Int32Array;
  /** Number of segments in each row (length = rows). */
  rowSegments: Int32Array;
  /** Longest segment in the batch. */
  maxSeqlen: number;
  /** Counters for this batch. */
  stats: BatchStats;
}
