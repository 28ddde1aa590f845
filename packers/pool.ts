/**
 * Optional reuse of batch buffers. Allocating a fresh zeroed `ArrayBuffer` is the largest cost of
 * packing: 17 ms per million tokens here (calloc + page faults for 5 int32 grids), against ~2 ms for
 * all the copies and fills that write a batch. A pool hands back buffers the consumer has released.
 */
import type { PackedBatch } from "./types.js";

/** A bounded free list of batch buffers; share one between a packer and its consumer. */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  /** @param maxBuffers buffers kept for reuse; more releases are dropped to the GC. @default 4 */
  constructor(readonly maxBuffers = 4) {}

  /** A buffer of at least `bytes` bytes (contents arbitrary), reused when one is free. */
  acquire(bytes: number): ArrayBuffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i]!;
      if (b.byteLength >= bytes) {
        this.free.splice(i, 1);
        return b;
      }
    }
    // Round up so batches with a few more segments can reuse it.
    return new ArrayBuffer(Math.ceil((bytes * 1.125) / 4096) * 4096);
  }

  /**
   * Give a batch's buffer back. Only once nothing reads the batch any more — in particular after its
   * tensors are disposed (the tfjs cpu backend reads the batch's arrays in place).
   */
  release(batch: PackedBatch): void {
    if (this.free.length < this.maxBuffers && !this.free.includes(batch.buffer)) this.free.push(batch.buffer);
  }

  /** Buffers currently free. */
  get size(): number {
    return this.free.length;
  }
}
