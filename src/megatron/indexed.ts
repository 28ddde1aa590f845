/**
 * Megatron-Core indexed dataset (`megatron/core/datasets/indexed_dataset.py`): `<prefix>.bin` holds the
 * concatenated token ids, `<prefix>.idx` describes them:
 *
 * | field | type |
 * |---|---|
 * | magic `MMIDIDX\x00\x00` | 9 bytes |
 * | version = 1 | u64 |
 * | dtype code (8 uint16, 4 int32) | u8 |
 * | sequence count S | u64 |
 * | document count D (= documents + 1) | u64 |
 * | sequence lengths | int32 × S |
 * | sequence byte pointers into `.bin` | int64 × S |
 * | document indices (0, 1, …, S) | int64 × D |
 *
 * all little-endian. One sequence per document, as `preprocess_data.py` writes without
 * `--split-sentences`. The writer streams: ids go to `<prefix>.bin.tmp`, lengths to
 * `<prefix>.lens.tmp`; `finish()` writes the `.idx` and renames both into place.
 */
import { closeSync, existsSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { DatasetFormatError } from "../errors.js";
import { AppendFile } from "./append-file.js";
import { DTYPE_CODES, dtypeFromCode, dtypeSize, type TokenDtype } from "./dtype.js";

/** The 9-byte magic at the start of every `.idx`. */
export const IDX_MAGIC = new Uint8Array([0x4d, 0x4d, 0x49, 0x44, 0x49, 0x44, 0x58, 0x00, 0x00]);
const HEADER_BYTES = 9 + 8 + 1 + 8 + 8;
const SCRATCH_IDS = 1 << 16;

/** Where an interrupted writer stood; kept in a resume checkpoint. */
export interface IndexedWriterPosition {
  /** Sequences (documents) written. */
  sequences: number;
  /** Tokens written. */
  tokens: number;
}

/** Streams documents into `<prefix>.bin` / `<prefix>.idx` through temporary files. */
export class IndexedDatasetWriter {
  readonly dtype: TokenDtype;
  private readonly bin: AppendFile;
  private readonly lens: AppendFile;
  private sequences: number;
  private tokens: number;
  private readonly scratch: Uint16Array | Int32Array;
  private readonly lenScratch = new Int32Array(1);

  /**
   * @param prefix output path without extension
   * @param resume continue temporary files left by an interrupted writer at this position
   */
  constructor(readonly prefix: string, dtype: TokenDtype, resume?: IndexedWriterPosition) {
    this.dtype = dtype;
    const size = dtypeSize(dtype);
    this.bin = new AppendFile(`${prefix}.bin.tmp`, resume ? resume.tokens * size : undefined);
    this.lens = new AppendFile(`${prefix}.lens.tmp`, resume ? resume.sequences * 4 : undefined);
    this.sequences = resume?.sequences ?? 0;
    this.tokens = resume?.tokens ?? 0;
    this.scratch = dtype === "uint16" ? new Uint16Array(SCRATCH_IDS) : new Int32Array(SCRATCH_IDS);
  }

  /** Current position (call `sync()` first when it goes into a checkpoint). */
  get position(): IndexedWriterPosition {
    return { sequences: this.sequences, tokens: this.tokens };
  }

  /** Append one document. Ids must fit the dtype (checked: a uint16 file never wraps silently). */
  append(ids: ArrayLike<number>): void {
    const max = this.dtype === "uint16" ? 0xffff : 0x7fffffff;
    const s = this.scratch;
    for (let start = 0; start < ids.length; start += s.length) {
      const n = Math.min(s.length, ids.length - start);
      for (let i = 0; i < n; i++) {
        const id = ids[start + i]!;
        if (id > max) throw new DatasetFormatError(`token id ${id} does not fit ${this.dtype}`, { file: `${this.prefix}.bin`, offset: this.tokens + start + i });
        s[i] = id;
      }
      this.bin.write(new Uint8Array(s.buffer, 0, n * s.BYTES_PER_ELEMENT));
    }
    this.lenScratch[0] = ids.length;
    this.lens.write(new Uint8Array(this.lenScratch.buffer));
    this.sequences++;
    this.tokens += ids.length;
  }

  /** Make everything appended so far durable (before a checkpoint records `position`). */
  sync(): void {
    this.bin.sync();
    this.lens.sync();
  }

  /** Write the `.idx`, rename `.bin` and `.idx` into place and remove the temporary files. */
  finish(): IndexedWriterPosition {
    this.seal();
    return this.publish();
  }

  /** `finish()`'s writing: close, and write the `.idx` under its temporary name. */
  seal(): void {
    this.bin.close();
    this.lens.close();
    writeIdx(`${this.prefix}.idx.tmp`, `${this.prefix}.lens.tmp`, this.sequences, this.dtype);
  }

  /** `finish()`'s renames, after `seal()`: `.bin` and `.idx` into place, the lengths file removed. */
  publish(): IndexedWriterPosition {
    renameSync(`${this.prefix}.bin.tmp`, `${this.prefix}.bin`);
    renameSync(`${this.prefix}.idx.tmp`, `${this.prefix}.idx`);
    rmSync(`${this.prefix}.lens.tmp`, { force: true });
    return this.position;
  }

  /** Close without finishing (the temporary files stay for a resume). */
  abandon(): void {
    this.bin.close();
    this.lens.close();
  }

  /** Close and remove the temporary files: a run that wrote nothing leaves nothing to resume. */
  discard(): void {
    this.abandon();
    for (const ext of ["bin", "lens", "idx"]) rmSync(`${this.prefix}.${ext}.tmp`, { force: true });
  }
}

/**
 * Finish a writer that was killed during `finish()` (idempotent): redo whichever of the index write
 * and the renames had not happened. The lengths file is removed last, so it marks unfinished work.
 */
export function completeIndexed(prefix: string, dtype: TokenDtype, pos: IndexedWriterPosition): void {
  if (!existsSync(`${prefix}.lens.tmp`)) return;
  if (existsSync(`${prefix}.bin.tmp`)) {
    new IndexedDatasetWriter(prefix, dtype, pos).finish();
    return;
  }
  writeIdx(`${prefix}.idx.tmp`, `${prefix}.lens.tmp`, pos.sequences, dtype);
  renameSync(`${prefix}.idx.tmp`, `${prefix}.idx`);
  rmSync(`${prefix}.lens.tmp`, { force: true });
}

/** Write a `.idx` for `count` sequences whose int32 lengths are in `lensFile`, streaming. */
export function writeIdx(idxPath: string, lensFile: string, count: number, dtype: TokenDtype): void {
  const out = new AppendFile(idxPath);
  const header = new Uint8Array(HEADER_BYTES);
  const hv = new DataView(header.buffer);
  header.set(IDX_MAGIC, 0);
  hv.setBigUint64(9, 1n, true);
  hv.setUint8(17, DTYPE_CODES[dtype]);
  hv.setBigUint64(18, BigInt(count), true);
  hv.setBigUint64(26, BigInt(count + 1), true);
  out.write(header);
  // Lengths are copied as they are; pointers need a second pass over the same file.
  forEachLengthChunk(lensFile, count, (lens) => out.write(new Uint8Array(lens.buffer, lens.byteOffset, lens.byteLength)));
  const size = dtypeSize(dtype);
  let pointer = 0;
  forEachLengthChunk(lensFile, count, (lens) => {
    const ptrs = new BigInt64Array(lens.length);
    for (let i = 0; i < lens.length; i++) {
      ptrs[i] = BigInt(pointer);
      pointer += lens[i]! * size;
    }
    out.write(new Uint8Array(ptrs.buffer));
  });
  const docs = new BigInt64Array(Math.min(count + 1, 1 << 16));
  for (let start = 0; start <= count; start += docs.length) {
    const n = Math.min(docs.length, count + 1 - start);
    for (let i = 0; i < n; i++) docs[i] = BigInt(start + i);
    out.write(new Uint8Array(docs.buffer, 0, n * 8));
  }
  out.close();
}

/** Call `fn` with consecutive chunks of the first `count` int32 lengths of `file`. */
function forEachLengthChunk(file: string, count: number, fn: (lens: Int32Array) => void): void {
  const fd = openSync(file, "r");
  try {
    const chunk = new Int32Array(1 << 16);
    for (let done = 0; done < count; ) {
      const n = Math.min(chunk.length, count - done);
      const want = n * 4;
      let got = 0;
      while (got < want) {
        const r = readSync(fd, new Uint8Array(chunk.buffer, got, want - got), 0, want - got, done * 4 + got);
        if (r === 0) throw new DatasetFormatError(`length file ends after ${(done * 4 + got) / 4} of ${count} entries`, { file });
        got += r;
      }
      fn(chunk.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** An indexed dataset opened for reading (the `.idx` in memory, `.bin` read on demand). */
export interface IndexedDataset {
  readonly prefix: string;
  readonly dtype: TokenDtype;
  /** Sequence lengths in tokens. */
  readonly lengths: Int32Array;
  /** Byte offset of each sequence in `.bin`. */
  readonly pointers: BigInt64Array;
  /** Document boundaries (sequence indices), length documents + 1. */
  readonly documentIndices: BigInt64Array;
  /** Number of sequences. */
  readonly length: number;
  /** Ids of sequence `i` (a fresh array). */
  get(i: number): Uint16Array | Int32Array;
  /** Release the `.bin` file handle. */
  close(): void;
}

function readExact(fd: number, bytes: number, position: number, file: string): Uint8Array {
  const out = new Uint8Array(bytes);
  let got = 0;
  while (got < bytes) {
    const r = readSync(fd, out, got, bytes - got, position + got);
    if (r === 0) throw new DatasetFormatError(`file ends at byte ${position + got}, expected ${bytes} bytes from ${position}`, { file, offset: position + got });
    got += r;
  }
  return out;
}

/** Open `<prefix>.idx` / `<prefix>.bin` written by tokpack or Megatron (dtype uint16 or int32). */
export function openIndexedDataset(prefix: string): IndexedDataset {
  const idxPath = `${prefix}.idx`;
  const binPath = `${prefix}.bin`;
  if (!existsSync(idxPath) || !existsSync(binPath)) throw new DatasetFormatError("no indexed dataset here (need .idx and .bin)", { file: prefix });
  const fd = openSync(idxPath, "r");
  let header: Uint8Array;
  let body: Uint8Array;
  let count: number;
  let docCount: number;
  let dtype: TokenDtype;
  try {
    header = readExact(fd, HEADER_BYTES, 0, idxPath);
    for (let i = 0; i < IDX_MAGIC.length; i++) {
      if (header[i] !== IDX_MAGIC[i]) throw new DatasetFormatError("not a Megatron .idx (bad magic)", { file: idxPath });
    }
    const hv = new DataView(header.buffer);
    const version = hv.getBigUint64(9, true);
    if (version !== 1n) throw new DatasetFormatError(`unsupported .idx version ${version}`, { file: idxPath });
    const code = hv.getUint8(17);
    const dt = dtypeFromCode(code);
    if (dt === undefined) throw new DatasetFormatError(`unsupported token dtype code ${code} (tokpack reads 8 uint16 and 4 int32)`, { file: idxPath });
    dtype = dt;
    count = Number(hv.getBigUint64(18, true));
    docCount = Number(hv.getBigUint64(26, true));
    body = readExact(fd, count * 12 + docCount * 8, HEADER_BYTES, idxPath);
  } finally {
    closeSync(fd);
  }
  const copy = body.slice();
  const lengths = new Int32Array(copy.buffer, 0, count);
  const pointers = new BigInt64Array(copy.buffer.slice(count * 4, count * 12));
  const documentIndices = new BigInt64Array(copy.buffer.slice(count * 12, count * 12 + docCount * 8));
  const binFd = openSync(binPath, "r");
  const size = dtypeSize(dtype);
  const binBytes = statSync(binPath).size;
  return {
    prefix,
    dtype,
    lengths,
    pointers,
    documentIndices,
    length: count,
    get(i: number): Uint16Array | Int32Array {
      if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`sequence ${i} out of range [0, ${count})`);
      const start = Number(pointers[i]!);
      const bytes = lengths[i]! * size;
      if (start + bytes > binBytes) throw new DatasetFormatError(`sequence ${i} runs past the end of the file`, { file: binPath, offset: start });
      const raw = readExact(binFd, bytes, start, binPath);
      return dtype === "uint16" ? new Uint16Array(raw.buffer) : new Int32Array(raw.buffer);
    },
    close(): void {
      closeSync(binFd);
    },
  };
}
