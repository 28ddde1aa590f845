/**
 * A gzip or brotli page decoded as it is read, by node:zlib's native decoders on the thread pool, so
 * that reading a page of any size holds a window of its compressed bytes and the output of the last
 * 64 KiB fed — not the whole page decoded (duckdb writes one page per row group: ~100 MB for its
 * default 122,880 rows of text). node:zlib has no synchronous streaming call, so this decoder is the
 * one that answers HUNGRY until {@link ZlibSteps.whenHungry} has fed it and its output has arrived.
 */
import { createBrotliDecompress, createGunzip, type BrotliDecompress, type Gunzip } from "node:zlib";
import { HUNGRY, type PageInput, type PageSteps } from "./page-steps.js";

/** Compressed bytes fed at a time: bounds the output waiting to be read (text: ~4×, 256 KiB). */
const FEED = 64 << 10;
/** zlib's output chunk. */
const STEP = 128 << 10;

/** The codecs decoded here, as parquet names them. */
export type ZlibCodec = "GZIP" | "BROTLI";

export class ZlibSteps implements PageSteps {
  private readonly z: Gunzip | BrotliDecompress;
  private readonly what: string;
  private readonly queue: Buffer[] = [];
  private cur: Uint8Array | undefined;
  /** Output bytes handed out. */
  private produced = 0;
  /** Page offset of the next compressed byte to feed. */
  private fed: number;
  private ended = false;
  private finished = false;
  private error: Error | undefined;
  private closed = false;
  /** Resolves the wait in {@link whenHungry} (a write processed, the end, an error, or closing). */
  private wake: (() => void) | undefined;

  /** `loadMore` replaces `input.buf` with the next window from `input.consumed` (see `PageInput`). */
  constructor(
    private readonly input: PageInput,
    from: number,
    private readonly expected: number,
    private readonly loadMore: () => Promise<void>,
    codec: ZlibCodec = "GZIP",
  ) {
    this.fed = from;
    this.what = codec === "GZIP" ? "gzip" : "brotli";
    this.z = codec === "GZIP" ? createGunzip({ chunkSize: STEP }) : createBrotliDecompress({ chunkSize: STEP });
    this.z.on("data", (c: Buffer) => this.queue.push(c));
    this.z.on("end", () => {
      this.finished = true;
      this.wake?.();
    });
    this.z.on("error", (e: Error) => {
      this.error ??= e;
      this.wake?.();
    });
    this.z.on("close", () => this.wake?.());
  }

  next(): Uint8Array | undefined {
    if (this.closed) return undefined;
    if (this.error !== undefined) throw new Error(`${this.what} page is corrupt (${this.error.message})`);
    const c = this.queue.shift();
    if (c !== undefined) {
      this.produced += c.byteLength;
      if (this.produced > this.expected) throw new Error(`${this.what} page decompresses to more than the ${this.expected} bytes expected: corrupt data`);
      this.cur = c;
      return c;
    }
    if (this.finished) {
      this.cur = undefined;
      if (this.produced !== this.expected) throw new Error(`${this.what} page decompressed to ${this.produced} bytes, expected ${this.expected}: corrupt data`);
      return undefined;
    }
    return HUNGRY;
  }

  current(): Uint8Array | undefined {
    return this.closed ? undefined : this.cur;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.z.destroy();
  }

  /** Feeds compressed bytes, loading more of the page when needed, until output, the end or an error arrives. */
  async whenHungry(): Promise<void> {
    while (this.queue.length === 0 && !this.finished && this.error === undefined && !this.closed) {
      const { buf, start, size } = this.input;
      const loadedEnd = start + buf.byteLength;
      if (this.fed < loadedEnd && !this.ended) {
        const at = this.fed - start;
        const n = Math.min(FEED, loadedEnd - this.fed);
        this.fed += n;
        // the page's loaded bytes are never overwritten (each window is fresh memory): no copy
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.z.write(buf.subarray(at, at + n), () => resolve());
        });
      } else if (this.fed < size) {
        this.input.consumed = this.fed;
        await this.loadMore();
      } else {
        // all fed: the last output, then 'end'
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (!this.ended) this.z.end();
          this.ended = true;
        });
      }
      this.wake = undefined;
    }
  }
}
