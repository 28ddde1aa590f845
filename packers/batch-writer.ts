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
      // Per-token loops write only what varies (ids, labels, positions); segment ids and the attention
      // mask are constant per piece and go through native fill(). Creating subarray views per piece
      // costs more than it saves for ~150-token pieces, so ids are copied in the loop.
      if (mask === undefined) {
        const lim = last < n ? last : n - 1; // tokens whose next token is in the same document
        let k = i;
        for (let pos = first; pos < lim; pos++, k++) {
          inputIds[k] = ids[pos]!;
          labels[k] = ids[pos + 1]!;
          positionIds[k] = pos - first;
        }
        if (lim > first) labeled += lim - first;
        for (let pos = lim > first ? lim : first; pos < last; pos++, k++) {
          inputIds[k] = ids[pos]!;
          labels[k] = IGNORE_INDEX;
          positionIds[k] = pos - first;
        }
      } else {
        for (let pos = first, k = i; pos < last; pos++, k++) {
          inputIds[k] = ids[pos]!;
          positionIds[k] = pos - first;
          const next = pos + 1;
          if (next < n && mask[next] !== 0) {
            labels[k] = ids[next]!;
            labeled++;
          } else {
            labels[k] = IGNORE_INDEX;
          }
        }
      }
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
