/**
 * A snappy page decoded a step at a time, so that reading a page of any size holds its compressed
 * bytes, one 128 KiB step of output and the 64 KiB before it — not the whole page decoded (hysnappy
 * decodes a page in one call; duckdb writes one page per row group, ~200 MB of text for its default
 * 122,880 rows).
 *
 * Snappy's copies reach back at most 65,535 bytes in what every common writer produces (the reference
 * compressor and its ports work in 64 KiB blocks), so keeping the last 64 KiB of output is enough.
 * The format allows longer offsets: a page that uses one is decoded whole instead, from where its
 * current step began (the rest of the page is then served from that copy).
 */
import { snappyLength } from "./snappy.js";
import type { PageSteps } from "./zstd.js";

/** Output bytes per step. */
const STEP = 128 << 10;
/** Output kept before each step for copies to reach back into. */
const HISTORY = 64 << 10;

/** Decodes a whole snappy stream (the fallback for far copies); `expected` is its length. */
export type WholeSnappy = (input: Uint8Array, expected: number) => Uint8Array;

class SnappySteps implements PageSteps {
  /** History then the step being written. */
  private readonly out = new Uint8Array(HISTORY + STEP);
  /** Next output position in `out`. */
  private op = 0;
  /** Next input position. */
  private ip: number;
  /** Output bytes produced before `out[0]`. */
  private base = 0;
  /** Literal bytes still to copy from the input, and copy bytes still to make (with their offset). */
  private literalLeft = 0;
  private copyLeft = 0;
  private copyOffset = 0;
  /** Start of the latest step in `out` and its length (0: none handed out). */
  private stepAt = 0;
  private stepLen = 0;
  /** The whole page, once a far copy made it decode that way; steps are then views of it. */
  private whole: Uint8Array | undefined;
  private wholeAt = 0;
  private closed = false;
  private readonly inView: DataView;
  private readonly outView = new DataView(this.out.buffer);

  constructor(
    private readonly input: Uint8Array,
    private readonly expected: number,
    private readonly decodeWhole: WholeSnappy,
  ) {
    this.inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
    const declared = snappyLength(input);
    if (declared !== expected) throw new Error(declared < 0 ? "invalid snappy length header" : `snappy page declares ${declared} bytes, expected ${expected}: corrupt data`);
    let ip = 0;
    while (input[ip]! >= 0x80) ip++;
    this.ip = ip + 1;
  }

  next(): Uint8Array | undefined {
    if (this.closed) return undefined;
    if (this.whole !== undefined) return this.wholeStep();
    if (this.base + this.op === this.expected) {
      this.stepLen = 0;
      if (this.ip !== this.input.byteLength || this.literalLeft > 0 || this.copyLeft > 0) throw new Error("snappy page has bytes past its declared length: corrupt data");
      return undefined;
    }
    // keep the last HISTORY bytes at the front, then fill a step after them
    const keep = Math.min(this.op, HISTORY);
    if (this.op > keep) {
      this.out.copyWithin(0, this.op - keep, this.op);
      this.base += this.op - keep;
      this.op = keep;
    }
    const start = this.op;
    if (!this.fill()) {
      // a copy reaching past the kept history: decode the page whole, serve it from this step on
      this.whole = this.decodeWhole(this.input, this.expected);
      this.wholeAt = this.base + start;
      return this.wholeStep();
    }
    this.stepAt = start;
    this.stepLen = this.op - start;
    return this.out.subarray(start, this.op);
  }

  private wholeStep(): Uint8Array | undefined {
    const w = this.whole!;
    const end = Math.min(w.byteLength, this.wholeAt + STEP);
    if (this.wholeAt >= end) {
      this.stepLen = 0;
      return undefined;
    }
    const v = w.subarray(this.wholeAt, end);
    this.wholeAt = end;
    this.stepLen = v.byteLength;
    return v;
  }

  /** Decodes into `out` until it is full or the page ends; false on a copy past the kept history. */
  private fill(): boolean {
    const out = this.out;
    const input = this.input;
    const limit = Math.min(this.op + STEP, this.expected - this.base); // op ≤ HISTORY: within `out`
    let op = this.op;
    // an element cut by the previous step's end
    if (this.literalLeft > 0) {
      const n = Math.min(this.literalLeft, limit - op);
      out.set(input.subarray(this.ip, this.ip + n), op);
      op += n;
      this.ip += n;
      this.literalLeft -= n;
    } else if (this.copyLeft > 0) {
      if (this.copyOffset > op) return false;
      const n = Math.min(this.copyLeft, limit - op);
      copyBack(out, op, this.copyOffset, n);
      op += n;
      this.copyLeft -= n;
    }
    this.op = op;
    if (op === limit) return true;
    const r = decodeElements(input, this.inView, this.ip, out, this.outView, op, limit, this.base);
    if (r === FAR) return false;
    this.op = limit;
    this.ip = r.ip;
    this.literalLeft = r.literalLeft;
    this.copyLeft = r.copyLeft;
    this.copyOffset = r.copyOffset;
    return true;
  }

  current(): Uint8Array | undefined {
    if (this.closed || this.stepLen === 0) return undefined;
    if (this.whole !== undefined) return this.whole.subarray(this.wholeAt - this.stepLen, this.wholeAt);
    return this.out.subarray(this.stepAt, this.stepAt + this.stepLen);
  }

  close(): void {
    this.closed = true;
    this.whole = undefined;
  }
}

/** Where {@link decodeElements} stopped: input position and the element cut at the step's end. */
interface Stop {
  ip: number;
  literalLeft: number;
  copyLeft: number;
  copyOffset: number;
}

const stop: Stop = { ip: 0, literalLeft: 0, copyLeft: 0, copyOffset: 0 };
/** {@link decodeElements}' answer to a copy past the kept history. */
const FAR = null;

function truncated(): never {
  throw new Error("snappy page ends early: corrupt data");
}

/**
 * Snappy elements from `input[ip]` on, written at `out[op]` up to `out[limit]` (exactly: the last
 * element is cut there). `base` is the output produced before `out[0]`. The hot loop: locals only, no
 * allocation but long literals' input views. Returns a shared {@link Stop}, or FAR.
 */
function decodeElements(input: Uint8Array, inView: DataView, ip: number, out: Uint8Array, outView: DataView, op: number, limit: number, base: number): Stop | typeof FAR {
  const inEnd = input.byteLength;
  const fastIn = inEnd - 16; // literals up to 16 bytes starting before this are copied a word at a time
  const fastOut = limit - 16;
  let literalLeft = 0;
  let copyLeft = 0;
  let copyOffset = 0;
  while (op < limit) {
    if (ip >= inEnd) truncated();
    const tag = input[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const k = len - 60; // 1–4 little-endian length bytes follow
        if (ip + k > inEnd) truncated();
        len = 0;
        for (let i = k - 1; i >= 0; i--) len = len * 256 + input[ip + i]!;
        len += 1;
        ip += k;
      }
      if (ip + len > inEnd) throw new Error("snappy literal runs past the page: corrupt data");
      if (len <= 16 && ip < fastIn && op < fastOut) {
        // four words, the bytes past the literal overwritten by the elements after it
        outView.setUint32(op, inView.getUint32(ip, true), true);
        outView.setUint32(op + 4, inView.getUint32(ip + 4, true), true);
        outView.setUint32(op + 8, inView.getUint32(ip + 8, true), true);
        outView.setUint32(op + 12, inView.getUint32(ip + 12, true), true);
        op += len;
        ip += len;
        continue;
      }
      let n = limit - op;
      if (len < n) n = len;
      if (n < 32) {
        for (let i = 0; i < n; i++) out[op + i] = input[ip + i]!;
      } else out.set(input.subarray(ip, ip + n), op);
      op += n;
      ip += n;
      if (n < len) literalLeft = len - n;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (ip >= inEnd) truncated();
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[ip++]!;
    } else if (kind === 2) {
      if (ip + 2 > inEnd) truncated();
      len = (tag >>> 2) + 1;
      offset = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
    } else {
      if (ip + 4 > inEnd) truncated();
      len = (tag >>> 2) + 1;
      offset = (input[ip]! | (input[ip + 1]! << 8) | (input[ip + 2]! << 16) | (input[ip + 3]! << 24)) >>> 0;
      ip += 4;
    }
    if (offset > op) {
      if (offset > base + op) throw new Error(`snappy copy reaches ${offset} bytes back, before the page start: corrupt data`);
      return FAR; // history not kept this far back
    }
    if (offset === 0) throw new Error("snappy copy with offset 0: corrupt data");
    const from = op - offset;
    if (offset >= 4 && len <= 16 && op < fastOut) {
      // four words in order: with an offset of a word or more, each reads only bytes already written
      // (a run repeats correctly); the bytes past the copy are overwritten by the elements after it
      outView.setUint32(op, outView.getUint32(from, true), true);
      outView.setUint32(op + 4, outView.getUint32(from + 4, true), true);
      outView.setUint32(op + 8, outView.getUint32(from + 8, true), true);
      outView.setUint32(op + 12, outView.getUint32(from + 12, true), true);
      op += len;
      continue;
    }
    let n = limit - op;
    if (len < n) n = len;
    if (n >= 64 && offset >= n) out.copyWithin(op, from, from + n);
    else for (let i = 0; i < n; i++) out[op + i] = out[from + i]!;
    op += n;
    if (n < len) {
      copyLeft = len - n;
      copyOffset = offset;
    }
  }
  stop.ip = ip;
  stop.literalLeft = literalLeft;
  stop.copyLeft = copyLeft;
  stop.copyOffset = copyOffset;
  return stop;
}

/** Snappy's copy: `n` bytes from `offset` back, byte by byte where they overlap (a repeating run). */
function copyBack(out: Uint8Array, op: number, offset: number, n: number): void {
  const from = op - offset;
  if (offset >= n && n >= 32) {
    out.copyWithin(op, from, from + n);
    return;
  }
  for (let i = 0; i < n; i++) out[op + i] = out[from + i]!;
}

/**
 * The output of one snappy page (`expected` bytes, as its header declares) as successive views of at
 * most 128 KiB, each valid until the next call. `decodeWhole` decodes the page in one call where a
 * copy reaches back further than the 64 KiB kept.
 */
export function snappyPageSteps(input: Uint8Array, expected: number, decodeWhole: WholeSnappy): PageSteps {
  return new SnappySteps(input, expected, decodeWhole);
}
