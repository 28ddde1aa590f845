/**
 * Packed rows on disk: one `.npy` per grid array, so numpy (`np.load(f, mmap_mode="r")`) and
 * tokpack (`openPacked`) read the same batches back.
 *
 * | file | dtype | shape | content |
 * |---|---|---|---|
 * | `input_ids.npy` | `<i4` | (rows, L) | token ids, `padId` on padding |
 * | `labels.npy` | `<i4` | (rows, L) | next-token targets, -100 where not trained |
 * | `position_ids.npy` | `<i4` | (rows, L) | position within the segment, 0 on padding |
 * | `segment_ids.npy` | `<i4` | (rows, L) | 1..k per row, 0 on padding (attention mask = segment_ids > 0) |
 * | `batches.npy` | `<i8` | (batches, 4) | per batch: rows, truncated tokens, dropped tokens, dropped documents |
 *
 * Rows are in batch order, so batch b is rows `[sum(rows[:b]), sum(rows[:b+1]))`. Files are written as
 * `<name>.npy.tmp` and renamed when complete.
 */
import { closeSync, existsSync, openSync, readSync, renameSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { batchArrays, type BatchStats, type PackedBatch } from "../../packers/index.js";
import { DatasetFormatError } from "../errors.js";
import { AppendFile } from "./append-file.js";
import { NPY_HEADER_BYTES, readNpyHeader, rewriteNpyHeader } from "./npy.js";

/** The grid arrays written per row, in file order. */
export const ROW_FILES = ["input_ids", "labels", "position_ids", "segment_ids"] as const;
/** Per-batch table. */
export const BATCH_FILE = "batches";
const BATCH_FIELDS = 4;

/** Where an interrupted rows writer stood; kept in a resume checkpoint. */
export interface PackedWriterPosition {
  rows: number;
  batches: number;
}

/** Appends batches to the `.npy` files of a packed dataset. */
export class PackedRowsWriter {
  private readonly files: AppendFile[];
  private readonly batchFile: AppendFile;
  private rows: number;
  private batches: number;

  constructor(readonly dir: string, readonly seqLen: number, resume?: PackedWriterPosition) {
    const rowBytes = seqLen * 4;
    this.rows = resume?.rows ?? 0;
    this.batches = resume?.batches ?? 0;
    this.files = ROW_FILES.map((name) => this.open(`${name}.npy.tmp`, resume ? NPY_HEADER_BYTES + this.rows * rowBytes : undefined));
    this.batchFile = this.open(`${BATCH_FILE}.npy.tmp`, resume ? NPY_HEADER_BYTES + this.batches * 8 * BATCH_FIELDS : undefined);
  }

  private open(name: string, resumeBytes: number | undefined): AppendFile {
    const f = new AppendFile(join(this.dir, name), resumeBytes);
    if (resumeBytes === undefined) f.write(new Uint8Array(NPY_HEADER_BYTES)); // final header written by finish()
    return f;
  }

  /** Rows and batches appended so far. */
  get position(): PackedWriterPosition {
    return { rows: this.rows, batches: this.batches };
  }

  /** Append one batch (its `seqLen` must match). */
  append(batch: PackedBatch): void {
    if (batch.seqLen !== this.seqLen) throw new DatasetFormatError(`batch of seqLen ${batch.seqLen} in a dataset of seqLen ${this.seqLen}`, { file: this.dir });
    const arrays = [batch.inputIds, batch.labels, batch.positionIds, batch.segmentIds];
    arrays.forEach((a, i) => this.files[i]!.write(new Uint8Array(a.buffer, a.byteOffset, batch.rows * this.seqLen * 4)));
    const s = batch.stats;
    const row = new BigInt64Array([BigInt(batch.rows), BigInt(s.truncatedTokens), BigInt(s.droppedTokens), BigInt(s.droppedDocs)]);
    this.batchFile.write(new Uint8Array(row.buffer));
    this.rows += batch.rows;
    this.batches++;
  }

  /** Make everything appended so far durable. */
  sync(): void {
    for (const f of this.files) f.sync();
    this.batchFile.sync();
  }

  /** Write the final headers and rename every file into place. */
  finish(): PackedWriterPosition {
    this.seal();
    return this.publish();
  }

  /** `finish()`'s writing: close, and write the final headers, still under temporary names. */
  seal(): void {
    const all = [...this.files, this.batchFile];
    for (const f of all) f.close();
    ROW_FILES.forEach((name) => rewriteNpyHeader(join(this.dir, `${name}.npy.tmp`), "<i4", [this.rows, this.seqLen]));
    rewriteNpyHeader(join(this.dir, `${BATCH_FILE}.npy.tmp`), "<i8", [this.batches, BATCH_FIELDS]);
  }

  /** `finish()`'s renames, after `seal()`: every file into place. */
  publish(): PackedWriterPosition {
    for (const name of [...ROW_FILES, BATCH_FILE]) renameSync(join(this.dir, `${name}.npy.tmp`), join(this.dir, `${name}.npy`));
    return this.position;
  }

  /** Close without finishing (temporary files stay for a resume). */
  abandon(): void {
    for (const f of [...this.files, this.batchFile]) f.close();
  }

  /** Close and remove the temporary files: a run that wrote nothing leaves nothing to resume. */
  discard(): void {
    this.abandon();
    for (const name of [...ROW_FILES, BATCH_FILE]) rmSync(join(this.dir, `${name}.npy.tmp`), { force: true });
  }
}

/** Finish a rows writer that was killed during `finish()` (idempotent: headers are rewritten, pending renames done). */
export function completeRows(dir: string, seqLen: number, pos: PackedWriterPosition): void {
  for (const name of [...ROW_FILES, BATCH_FILE]) {
    const tmp = join(dir, `${name}.npy.tmp`);
    if (!existsSync(tmp)) continue;
    const size = NPY_HEADER_BYTES + (name === BATCH_FILE ? pos.batches * 8 * BATCH_FIELDS : pos.rows * seqLen * 4);
    truncateSync(tmp, size);
    if (name === BATCH_FILE) rewriteNpyHeader(tmp, "<i8", [pos.batches, BATCH_FIELDS]);
    else rewriteNpyHeader(tmp, "<i4", [pos.rows, seqLen]);
    renameSync(tmp, join(dir, `${name}.npy`));
  }
}

function readAt(fd: number, out: Uint8Array, position: number, file: string): void {
  let got = 0;
  while (got < out.byteLength) {
    const r = readSync(fd, out, got, out.byteLength - got, position + got);
    if (r === 0) throw new DatasetFormatError(`file ends at byte ${position + got}`, { file, offset: position + got });
    got += r;
  }
}

/** A packed dataset opened for reading: iterate it for the batches it was written from. */
export interface PackedDataset extends AsyncIterable<PackedBatch> {
  readonly dir: string;
  readonly seqLen: number;
  readonly rows: number;
  readonly batches: number;
  /** Batch `b`, rebuilt with the same arrays (and stats) the packer produced. */
  batch(b: number): PackedBatch;
}

/** Open the packed rows written by `tokpack pack` (or {@link PackedRowsWriter}) in `dir`. */
export function openPacked(dir: string): PackedDataset {
  const infos = ROW_FILES.map((name) => ({ path: join(dir, `${name}.npy`), info: readNpyHeader(join(dir, `${name}.npy`)) }));
  const first = infos[0]!.info;
  const [rows, seqLen] = first.shape;
  if (rows === undefined || seqLen === undefined || first.shape.length !== 2) throw new DatasetFormatError(`expected a (rows, L) array, got (${first.shape.join(", ")})`, { file: infos[0]!.path });
  for (const { path, info } of infos) {
    if (info.descr !== "<i4" || info.shape[0] !== rows || info.shape[1] !== seqLen) throw new DatasetFormatError(`expected <i4 (${rows}, ${seqLen}), got ${info.descr} (${info.shape.join(", ")})`, { file: path });
  }
  const batchPath = join(dir, `${BATCH_FILE}.npy`);
  const bInfo = readNpyHeader(batchPath);
  const nBatches = bInfo.shape[0] ?? 0;
  const table = new BigInt64Array(nBatches * BATCH_FIELDS);
  const bfd = openSync(batchPath, "r");
  try {
    readAt(bfd, new Uint8Array(table.buffer), bInfo.dataOffset, batchPath);
  } finally {
    closeSync(bfd);
  }
  const firstRow = new Array<number>(nBatches + 1);
  firstRow[0] = 0;
  for (let b = 0; b < nBatches; b++) firstRow[b + 1] = firstRow[b]! + Number(table[b * BATCH_FIELDS]!);
  if (firstRow[nBatches] !== rows) throw new DatasetFormatError(`batch table covers ${firstRow[nBatches]} rows, arrays hold ${rows}`, { file: batchPath });

  const batch = (b: number): PackedBatch => {
    if (!Number.isInteger(b) || b < 0 || b >= nBatches) throw new RangeError(`batch ${b} out of range [0, ${nBatches})`);
    const r0 = firstRow[b]!;
    const B = firstRow[b + 1]! - r0;
    const grid = B * seqLen;
    const arrays = infos.map(({ path, info }) => {
      const a = new Int32Array(grid);
      const fd = openSync(path, "r");
      try {
        readAt(fd, new Uint8Array(a.buffer), info.dataOffset + r0 * seqLen * 4, path);
      } finally {
        closeSync(fd);
      }
      return a;
    });
    const t = table.subarray(b * BATCH_FIELDS, (b + 1) * BATCH_FIELDS);
    return rebuildBatch(b, B, seqLen, arrays[0]!, arrays[1]!, arrays[2]!, arrays[3]!, {
      truncatedTokens: Number(t[1]!),
      droppedTokens: Number(t[2]!),
      droppedDocs: Number(t[3]!),
    });
  };
  return {
    dir,
    seqLen,
    rows,
    batches: nBatches,
    batch,
    async *[Symbol.asyncIterator]() {
      for (let b = 0; b < nBatches; b++) yield batch(b);
    },
  };
}

/** Recompute the per-segment arrays and stats of a batch from its four grid arrays, in the packer's buffer layout. */
function rebuildBatch(
  index: number,
  B: number,
  L: number,
  ids: Int32Array,
  labels: Int32Array,
  positions: Int32Array,
  segments: Int32Array,
  losses: Pick<BatchStats, "truncatedTokens" | "droppedTokens" | "droppedDocs">,
): PackedBatch {
  const grid = B * L;
  let nSeg = 0;
  for (let r = 0; r < B; r++) {
    let max = 0;
    for (let i = r * L; i < (r + 1) * L; i++) if (segments[i]! > max) max = segments[i]!;
    nSeg += max;
  }
  const { buffer, inputIds, labels: lab, positionIds, segmentIds, attentionMask, rowSegments, seqLens, cuSeqlens } = batchArrays(B, L, nSeg);
  inputIds.set(ids);
  lab.set(labels);
  positionIds.set(positions);
  segmentIds.set(segments);
  let seg = 0;
  let tokens = 0;
  let labeled = 0;
  let maxSeqlen = 0;
  cuSeqlens[0] = 0;
  for (let r = 0; r < B; r++) {
    let k = 0;
    for (let i = r * L; i < (r + 1) * L; i++) {
      const s = segments[i]!;
      if (labels[i] !== -100) labeled++;
      if (s === 0) continue;
      attentionMask[i] = 1;
      tokens++;
      if (s > k) {
        k = s;
        seg++;
        seqLens[seg - 1] = 0;
      }
      seqLens[seg - 1]!++;
    }
    rowSegments[r] = k;
  }
  for (let s = 0; s < nSeg; s++) {
    cuSeqlens[s + 1] = cuSeqlens[s]! + seqLens[s]!;
    if (seqLens[s]! > maxSeqlen) maxSeqlen = seqLens[s]!;
  }
  const stats: BatchStats = {
    rows: B,
    tokens,
    paddingTokens: grid - tokens,
    fillRatio: grid === 0 ? 0 : tokens / grid,
    segments: nSeg,
    docsPerRow: B === 0 ? 0 : nSeg / B,
    labeledTokens: labeled,
    ...losses,
  };
  return { index, rows: B, seqLen: L, buffer, inputIds, labels: lab, positionIds, segmentIds, attentionMask, seqLens, cuSeqlens, rowSegments, maxSeqlen, stats };
}
