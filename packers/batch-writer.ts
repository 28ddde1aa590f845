/**
 * Last step of packing: write planned rows into one batch. One `ArrayBuffer` per batch (fresh and sized
 * exactly, or reused from a {@link BufferPool}) holds 5 × rows × L grid arrays + per-segment arrays, and
 * every array is an `Int32Array` view into it, written straight from the documents' arrays.
 */
import type { Row } from "./planners/row.js";
import type { BufferPool } from "./pool.js";
import type { BatchStats, PackedBatch } from "./types.js";

/** Label value for positions that are not trained on (PyTorch / HF `ignore_index`). */
export const IGNORE_INDEX = -100;

/** Extra counters attributed to this batch (tokens lost since the previous batch). */
export interface BatchLosses {
  truncatedTokens: number;
  droppedTokens: number;
  droppedDocs: number;
}

/** The Int32Array views of one batch buffer, in layout order. */
export type BatchArrays = Pick<
  PackedBatch,
  "buffer" | "inputIds" | "labels" | "positionIds" | "segmentIds" | "attentionMask" | "rowSegments" | "seqLens" | "cuSeqlens"
>;

/** Bytes of a batch of `rows × seqLen` with `segments` segments. */
export function batchBytes(rows: number, seqLen: number, segments: number): number {
  return 4 * (5 * rows * seqLen + rows + 2 * segments + 1);
}

/**
 * The one batch layout: five `rows × seqLen` grids (ids, labels, positions, segment ids, attention
 * mask), then segments per row, segment lengths and their cumulative sums. Used by the packer and by
 * readers of packed data on disk, so both hand out identical batches.
 */
export function batchArrays(rows: number, seqLen: number, segments: number, buffer?: ArrayBuffer): BatchArrays {
  const buf = buffer ?? new ArrayBuffer(batchBytes(rows, seqLen, segments));
  const grid = rows * seqLen;
  let off = 0;
  const view = (n: number): Int32Array => {
    const a = new Int32Array(buf, off, n);
    off += 4 * n;
    return a;
  };
  return {
    buffer: buf,
    inputIds: view(grid),
    labels: view(grid),
    positionIds: view(grid),
    segmentIds: view(grid),
    attentionMask: view(grid),
    rowSegments: view(rows),
    seqLens: view(segments),
    cuSeqlens: view(segments + 1),
  };
}

let iotaTable = new Int32Array(0);

/** 0, 1, …, n - 1 (a shared table, grown on demand): the position ids of an n-token piece. */
function positionsUpTo(n: number): Int32Array {
  if (iotaTable.length < n) {
    iotaTable = new Int32Array(n);
    for (let i = 0; i < n; i++) iotaTable[i] = i;
  }
  return iotaTable.length === n ? iotaTable : iotaTable.subarray(0, n);
}

/**
 * Sets `labels[at + k]` to IGNORE_INDEX where `mask[from + k]` is 0, for k < n (the labels already hold
 * the targets); returns how many targets stay on.
 */
function maskLabels(labels: Int32Array, at: number, mask: Uint8Array, from: number, n: number): number {
  let on = 0;
  for (let k = 0; k < n; k++) {
    if (mask[from + k] === 0) labels[at + k] = IGNORE_INDEX;
    else on++;
  }
  return on;
}

/** Write `rows` (at most `batchSize`) into a new batch of `rows.length × seqLen`. */
export function writeBatch(
  rows: readonly Row[],
  seqLen: number,
  padId: number,
  index: number,
  losses: BatchLosses,
  pool?: BufferPool,
): PackedBatch {
  const B = rows.length;
  const grid = B * seqLen;
  let segments = 0;
  for (const row of rows) segments += row.pieces.length;
  const bytes = batchBytes(B, seqLen, segments);
  const buffer = pool === undefined ? new ArrayBuffer(bytes) : pool.acquire(bytes);
  const { inputIds, labels, positionIds, segmentIds, attentionMask, rowSegments, seqLens, cuSeqlens } = batchArrays(B, seqLen, segments, buffer);
  // ids and labels (the first two grids) as the documents' element type, so copies into them are memmoves
  const words = new Uint32Array(buffer, 0, 2 * grid);
  const iota = positionsUpTo(seqLen);

  cuSeqlens[0] = 0;
  let seg = 0;
  let cu = 0;
  let tokens = 0;
  let labeled = 0;
  let maxSeqlen = 0;
  for (let r = 0; r < B; r++) {
    const row = rows[r]!;
    let i = r * seqLen;
    let segId = 0;
    for (const p of row.pieces) {
      segId++;
      const ids = p.doc.ids;
      const mask = p.doc.lossMask;
      const end = i + p.len;
      const first = p.start;
      const last = p.start + p.len; // exclusive
      const n = ids.length;
      // native copies (memmove) through the batch buffer's u32 view: ids, ids shifted by one as
      // labels, and positions from a 0, 1, 2, … table; ~3× the per-token loop on bfd at L=2048
      const lim = last < n ? last : n - 1; // tokens whose next token is in the same document
      const len = last - first;
      words.set(first === 0 && last === n ? ids : ids.subarray(first, last), i);
      const shifted = lim > first ? lim - first : 0;
      if (shifted > 0) {
        words.set(ids.subarray(first + 1, lim + 1), grid + i);
        // a target the loss mask turns off is not trained on
        labeled += mask === undefined ? shifted : maskLabels(labels, i, mask, first + 1, shifted);
      }
      if (shifted < len) labels.fill(IGNORE_INDEX, i + shifted, end);
      positionIds.set(len === seqLen ? iota : iota.subarray(0, len), i);
      segmentIds.fill(segId, i, end);
      attentionMask.fill(1, i, end);
      i = end;
      seqLens[seg] = p.len;
      cu += p.len;
      seg++;
      cuSeqlens[seg] = cu;
      if (p.len > maxSeqlen) maxSeqlen = p.len;
    }
    rowSegments[r] = segId;
    tokens += row.used;
    const end = (r + 1) * seqLen;
    if (i < end) {
      inputIds.fill(padId, i, end);
      labels.fill(IGNORE_INDEX, i, end);
      positionIds.fill(0, i, end); // a pooled buffer holds old data
      segmentIds.fill(0, i, end);
      attentionMask.fill(0, i, end);
    }
  }
  const stats: BatchStats = {
    rows: B,
    tokens,
    paddingTokens: grid - tokens,
    fillRatio: grid === 0 ? 0 : tokens / grid,
    segments,
    docsPerRow: B === 0 ? 0 : segments / B,
    labeledTokens: labeled,
    truncatedTokens: losses.truncatedTokens,
    droppedTokens: losses.droppedTokens,
    droppedDocs: losses.droppedDocs,
  };
  return { index, rows: B, seqLen, buffer, inputIds, labels, positionIds, segmentIds, attentionMask, seqLens, cuSeqlens, rowSegments, maxSeqlen, stats };
}
