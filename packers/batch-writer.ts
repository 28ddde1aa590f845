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
  const bytes = 4 * (5 * grid + B + segments + segments + 1);
  const buffer = pool === undefined ? new ArrayBuffer(bytes) : pool.acquire(bytes);
  let off = 0;
  const view = (n: number): Int32Array => {
    const a = new Int32Array(buffer, off, n);
    off += 4 * n;
    return a;
  };
  const inputIds = view(grid);
  const labels = view(grid);
  const positionIds = view(grid);
  const segmentIds = view(grid);
  const attentionMask = view(grid);
  const rowSegments = view(B);
  const seqLens = view(segments);
  const cuSeqlens = view(segments + 1);

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
      // One fused loop: ~2 ns/token here, faster than subarray()+set()/fill() per piece (~4 ns/token
      // for 150-token pieces, where creating the subarray views dominates).
      const first = p.start;
      const last = p.start + p.len; // exclusive
      const n = ids.length;
      for (let pos = first, j = 0; pos < last; pos++, j++) {
        const k = i + j;
        inputIds[k] = ids[pos]!;
        positionIds[k] = j;
        segmentIds[k] = segId;
        attentionMask[k] = 1;
        const next = pos + 1;
        if (next < n && (mask === undefined || mask[next] !== 0)) {
          labels[k] = ids[next]!;
          labeled++;
        } else {
          labels[k] = IGNORE_INDEX;
        }
      }
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
