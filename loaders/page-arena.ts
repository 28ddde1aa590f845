/**
 * Reused memory for decompressed parquet pages. A fresh multi-megabyte buffer per page costs page
 * faults on every first touch (measured here: allocating + filling a new 76 MB buffer runs at ~340
 * MB/s, refilling a reused one at ~20 GB/s), and duckdb's default row groups make one page per
 * column chunk of that size. An arena hands out views into a few large blocks and is reset when its
 * reader moves to the next row range, so steady-state reading allocates nothing. A new large block's
 * first-touch faults are shared with a helper thread (`prefault.ts`), so its views may be backed by
 * a SharedArrayBuffer.
 */
import { prefaultedBytes } from "./prefault.js";

const MIN_BLOCK = 1 << 20;

/**
 * A block replaced by a larger one is allocated this much larger than the page that did not fit. Each
 * replacement is a fresh block to fault in, and a replaced shared block is only freed once the
 * prefault helper's isolate collects its handle: with exact sizes, 10k-row groups of 200–3000-char
 * text replaced their ~15 MB block several times and peak RSS rose by ~35 MB.
 */
const GROWTH = 1.25;

/** A bump allocator over reusable blocks. Views stay valid until the next {@link PageArena.reset}. */
export class PageArena {
  private blocks: Uint8Array[] = [];
  private block = 0;
  private used = 0;

  /** Forget every view handed out; their memory is reused by later allocations. */
  reset(): void {
    this.block = 0;
    this.used = 0;
  }

  /** `n` bytes (contents arbitrary). */
  alloc(n: number): Uint8Array {
    for (;;) {
      const b = this.blocks[this.block];
      if (b === undefined) {
        const fresh = prefaultedBytes(Math.max(n, MIN_BLOCK));
        this.blocks.push(fresh);
        this.used = n;
        return fresh.subarray(0, n);
      }
      if (b.byteLength - this.used >= n) {
        const view = b.subarray(this.used, this.used + n);
        this.used += n;
        return view;
      }
      if (this.used === 0) {
        // too small even empty: replace it with one that fits (the old one is garbage now), with room
        // to spare, since pages that outgrew a block once tend to again (row groups of varied text)
        this.blocks[this.block] = prefaultedBytes(Math.ceil((n * GROWTH) / MIN_BLOCK) * MIN_BLOCK);
        continue;
      }
      this.block++;
      this.used = 0;
    }
  }

  /** Bytes held. */
  get capacity(): number {
    let n = 0;
    for (const b of this.blocks) n += b.byteLength;
    return n;
  }
}
