/**
 * The shapes shared by the stepped page decoders (`zstd.ts`, `snappy-steps.ts`) and their reader
 * (`parquet-text.ts`): a page's compressed bytes, which may arrive a window at a time
 * ({@link PageInput}), and its decoded bytes, handed out a step at a time ({@link PageSteps}).
 */

/**
 * A page's compressed bytes as a decoder reads them, front to back. `buf` holds page offsets
 * `[start, start + buf.byteLength)`; the reader replaces it with later bytes when a decoder answers
 * {@link HUNGRY}, keeping those from `consumed` on.
 */
export interface PageInput {
  /** The page's compressed size. */
  readonly size: number;
  readonly buf: Uint8Array;
  readonly start: number;
  /** Page offset of the first byte the decoder still needs (set before it answers HUNGRY). */
  consumed: number;
  /** Set by a decoder that needs the whole page in `buf` from offset 0 (snappy's far copies). */
  wantWhole: boolean;
}

/** A page already in memory, whole, as {@link PageInput}. */
export function wholeInput(bytes: Uint8Array): PageInput {
  return { size: bytes.byteLength, buf: bytes, start: 0, consumed: 0, wantWhole: false };
}

/** Whether `input` holds the page through its last byte. */
export function inputComplete(input: PageInput): boolean {
  return input.start + input.buf.byteLength === input.size;
}

/**
 * What {@link PageSteps.next} returns when it needs input not loaded yet: an empty view, told apart
 * by identity. The caller loads more (`PageInput`) and calls again; nothing was lost.
 */
export const HUNGRY: Uint8Array = new Uint8Array(0);

/** A page's bytes, a view at a time; each view is valid until the next call. */
export interface PageSteps {
  /** The next step, {@link HUNGRY}, or undefined once the page is complete. */
  next(): Uint8Array | undefined;
  /**
   * The latest step again, as a fresh view: a view of WebAssembly memory detaches when that memory
   * grows (another reader's page on the same thread), its bytes staying where they were.
   */
  current(): Uint8Array | undefined;
  /** Frees what decoding holds; call it once done with the page, or to stop early. */
  close(): void;
  /**
   * For a decoder whose output arrives asynchronously (gzip, on node:zlib's thread pool): what to
   * await after {@link HUNGRY} instead of loading more input. It loads input itself.
   */
  whenHungry?(): Promise<void>;
}

/** A page already in memory as {@link PageSteps}: one view, the page itself. */
export function wholePage(bytes: Uint8Array): PageSteps {
  let handed = false;
  let closed = false;
  return {
    next: () => {
      if (handed || closed) return undefined;
      handed = true;
      return bytes;
    },
    current: () => (handed && !closed ? bytes : undefined),
    close: () => (closed = true),
  };
}

/** Largest view {@link rawSteps} hands out. */
const RAW_STEP = 1 << 20;

/**
 * An uncompressed page body (`expected` bytes from page offset `from` of `input`) as views of the
 * loaded input, so a page larger than the read window is never held whole.
 */
export function rawSteps(input: PageInput, from: number, expected: number): PageSteps {
  let at = from; // page offset of the next byte to hand out
  const end = from + expected;
  let last: Uint8Array | undefined;
  let closed = false;
  if (end !== input.size) throw new Error(`uncompressed page holds ${input.size - from} bytes, its header says ${expected}`);
  return {
    next: () => {
      if (closed || at === end) return undefined;
      const loadedEnd = input.start + input.buf.byteLength;
      if (at >= loadedEnd) {
        input.consumed = at;
        return HUNGRY;
      }
      const n = Math.min(RAW_STEP, loadedEnd - at, end - at);
      const view = input.buf.subarray(at - input.start, at - input.start + n);
      last = view;
      at += n;
      return view;
    },
    current: () => (closed ? undefined : last),
    close: () => (closed = true),
  };
}

/** An LZ77 copy (snappy's, lz4's match): `n` bytes from `offset` back, byte by byte where they overlap (a repeating run). */
export function copyBack(out: Uint8Array, op: number, offset: number, n: number): void {
  const from = op - offset;
  if (offset >= n && n >= 32) {
    out.copyWithin(op, from, from + n);
    return;
  }
  for (let i = 0; i < n; i++) out[op + i] = out[from + i]!;
}

/** Output bytes per step of the stepped LZ77 decoders (snappy, lz4). */
export const DECODE_STEP = 128 << 10;
/** Output they keep before each step for back-references to reach into (lz4's farthest; snappy's in practice). */
export const DECODE_HISTORY = 64 << 10;

/**
 * The output side of a stepped LZ77 decoder (`snappy-steps.ts`, `lz4-steps.ts`): `out` holds the
 * last {@link DECODE_HISTORY} bytes written, then the step being written.
 */
export abstract class HistorySteps {
  protected readonly out = new Uint8Array(DECODE_HISTORY + DECODE_STEP);
  /** Next output position in `out`. */
  protected op = 0;
  /** Output bytes produced before `out[0]`. */
  protected base = 0;
  /** Start of the latest step in `out` and its length (0: none handed out). */
  protected stepAt = 0;
  protected stepLen = 0;

  /** Moves the last {@link DECODE_HISTORY} bytes written to the front of `out`; returns where the next step starts. */
  protected keepHistory(): number {
    const keep = Math.min(this.op, DECODE_HISTORY);
    if (this.op > keep) {
      this.out.copyWithin(0, this.op - keep, this.op);
      this.base += this.op - keep;
      this.op = keep;
    }
    return this.op;
  }

  /** The bytes written from `start` on, as the step handed out; undefined when there are none. */
  protected handOut(start: number): Uint8Array | undefined {
    if (this.op === start) return undefined;
    this.stepAt = start;
    this.stepLen = this.op - start;
    return this.out.subarray(start, this.op);
  }

  /** The latest step (see `PageSteps.current`). */
  protected currentStep(): Uint8Array | undefined {
    return this.stepLen === 0 ? undefined : this.out.subarray(this.stepAt, this.stepAt + this.stepLen);
  }
}
