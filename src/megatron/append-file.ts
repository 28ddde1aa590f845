/**
 * A buffered append-only file: one write(2) per 1 MiB, a byte count that checkpoints record, and a
 * reopen that truncates back to a checkpoint's size so a resumed run overwrites whatever a killed
 * run wrote after its last checkpoint.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { DatasetFormatError } from "../errors.js";

const BUFFER_BYTES = 1 << 20;

export class AppendFile {
  /** Bytes appended so far (written or still buffered). */
  bytes: number;
  private readonly fd: number;
  private readonly buf = new Uint8Array(BUFFER_BYTES);
  private used = 0;
  /** File offset of the first buffered byte (explicit: a reopened file's descriptor starts at 0). */
  private written: number;

  /**
   * Open `path` for appending: empty it, or (with `resumeBytes`) keep its first `resumeBytes` bytes.
   * Throws `DatasetFormatError` when a resumed file is shorter than the checkpoint says.
   */
  constructor(readonly path: string, resumeBytes?: number) {
    if (resumeBytes === undefined) {
      this.fd = openSync(path, "w");
      this.bytes = 0;
      this.written = 0;
      return;
    }
    this.fd = openSync(path, "r+");
    // ftruncate would extend a short file with zeros; refuse instead of resuming on a hole.
    const size = fstatSync(this.fd).size;
    if (size < resumeBytes) {
      closeSync(this.fd);
      throw new DatasetFormatError(`cannot resume: ${size} bytes on disk, checkpoint says ${resumeBytes}`, { file: path });
    }
    ftruncateSync(this.fd, resumeBytes);
    this.bytes = resumeBytes;
    this.written = resumeBytes;
  }

  /** Append `data`. */
  write(data: Uint8Array): void {
    this.bytes += data.byteLength;
    if (this.used + data.byteLength > this.buf.byteLength) this.flush();
    if (data.byteLength >= this.buf.byteLength) {
      this.writeAll(data);
      return;
    }
    this.buf.set(data, this.used);
    this.used += data.byteLength;
  }

  /** Hand buffered bytes to the OS. */
  flush(): void {
    if (this.used === 0) return;
    this.writeAll(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Flush and fsync, so a checkpoint written after this never points past durable data. */
  sync(): void {
    this.flush();
    fsyncSync(this.fd);
  }

  /** Flush, fsync and close. */
  close(): void {
    this.sync();
    closeSync(this.fd);
  }

  private writeAll(data: Uint8Array): void {
    let off = 0;
    while (off < data.byteLength) off += writeSync(this.fd, data, off, data.byteLength - off, this.written + off);
    this.written += data.byteLength;
  }
}
