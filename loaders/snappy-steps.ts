/**
 * A snappy page decoded a step at a time, so that reading a page of any size holds a window of its
 * compressed bytes, one 128 KiB step of output and the 64 KiB before it — not the whole page decoded (hysnappy
 * decodes a page in one call; duckdb writes one page per row group, ~200 MB of text for its default
 * 122,880 rows).
 *
 * Snappy's copies reach back at most 65,535 bytes in what every common writer produces (the reference
 * compressor and its ports work in 64 KiB blocks), so keeping the last 64 KiB of output is enough.
 * The format allows longer offsets: a page that uses one is decoded whole instead, from where its
 * current step began (the rest of the page is then served from that copy).
 */
import { copyBack, DECODE_STEP, HistorySteps, HUNGRY, inputComplete, type PageInput, type PageSteps } from "./page-steps.js";
import { snappyHeader } from "./snappy.js";


/** Decodes a whole snappy stream (the fallback for far copies); `expected` is its length. */
export type WholeSnappy = (input: Uint8Array, expected: number) => Uint8Array;

/** How {@link decodeElements} stopped. */
const FILLED = 0;
const NEED_INPUT = 1;
const FAR = 2;

class SnappySteps extends HistorySteps implements PageSteps {
  private readonly outView = new DataView(this.out.buffer);
  /** Page offset of the next input byte. */
  private ip: number;
  /** Literal bytes still to copy from the input, and copy bytes still to make (with their offset). */
  private literalLeft = 0;
  private copyLeft = 0;
  private copyOffset = 0;
  /** Output offset from which a far copy makes the page decode whole (-1: none met). */
  private farAt = -1;
  /** The whole page, once a far copy made it decode that way; steps are then views of it. */
  private whole: Uint8Array | undefined;
  private wholeAt = 0;
  private closed = false;
  /** A view of the input buffer it was made for (replaced when the reader loads more). */
  private inView: DataView | undefined;
  private inViewOf: Uint8Array | undefined;

  constructor(
    private readonly input: PageInput,
    private readonly from: number,
    private readonly expected: number,
    private readonly decodeWhole: WholeSnappy,
  ) {
    super();
    this.ip = from + snappyHeader(input.buf.subarray(from - input.start, from - input.start + 5), expected);
  }

  next(): Uint8Array | undefined {
    if (this.closed) return undefined;
    if (this.whole !== undefined) return this.wholeStep();
    if (this.farAt >= 0) return this.decodeRestWhole();
    if (this.base + this.op === this.expected) {
      this.stepLen = 0;
      if (this.ip !== this.input.size || this.literalLeft > 0 || this.copyLeft > 0) throw new Error("snappy page has bytes past its declared length: corrupt data");
      return undefined;
    }
    const start = this.keepHistory();
    const status = this.fill();
    if (status === FAR) {
      // a copy reaching past the kept history: decode the page whole, serve it from this step on
      this.farAt = this.base + start;
      return this.decodeRestWhole();
    }
    const step = this.handOut(start);
    if (step !== undefined) return step;
    this.input.consumed = this.ip;
    return HUNGRY;
  }

  /** The page decoded whole (once its input is all loaded), handed out from the far copy's step on. */
  private decodeRestWhole(): Uint8Array | undefined {
    const input = this.input;
    if (input.start !== 0 || !inputComplete(input)) {
      input.wantWhole = true;
      input.consumed = input.start;
      return HUNGRY;
    }
    this.whole = this.decodeWhole(input.buf.subarray(this.from), this.expected);
    this.wholeAt = this.farAt;
    return this.wholeStep();
  }

  private wholeStep(): Uint8Array | undefined {
    const w = this.whole!;
    const end = Math.min(w.byteLength, this.wholeAt + DECODE_STEP);
    if (this.wholeAt >= end) {
      this.stepLen = 0;
      return undefined;
    }
    const v = w.subarray(this.wholeAt, end);
    this.wholeAt = end;
    this.stepLen = v.byteLength;
    return v;
  }

  /** Decodes into `out` until a step is full, the page ends, or the loaded input does. */
  private fill(): number {
    const out = this.out;
    const input = this.input;
    const buf = input.buf;
    const complete = inputComplete(input);
    const limit = Math.min(this.op + DECODE_STEP, this.expected - this.base); // op ≤ DECODE_HISTORY: within `out`
    let op = this.op;
    let ip = this.ip - input.start;
    // an element cut by the previous step's end (or by the end of the loaded input)
    if (this.literalLeft > 0) {
      const n = Math.min(this.literalLeft, limit - op, buf.byteLength - ip);
      out.set(buf.subarray(ip, ip + n), op);
      op += n;
      ip += n;
      this.literalLeft -= n;
      this.op = op;
      this.ip = input.start + ip;
      if (this.literalLeft > 0 && op < limit) {
        if (complete) truncated();
        return NEED_INPUT;
      }
    } else if (this.copyLeft > 0) {
      if (this.copyOffset > op) return FAR;
      const n = Math.min(this.copyLeft, limit - op);
      copyBack(out, op, this.copyOffset, n);
      op += n;
      this.copyLeft -= n;
      this.op = op;
    }
    if (op === limit) return FILLED;
    if (this.inViewOf !== buf) {
      this.inView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.inViewOf = buf;
    }
    const r = decodeElements(buf, this.inView!, ip, complete, out, this.outView, op, limit, this.base);
    if (r.status === FAR) return FAR;
    this.op = r.op;
    this.ip = input.start + r.ip;
    this.literalLeft = r.literalLeft;
    this.copyLeft = r.copyLeft;
    this.copyOffset = r.copyOffset;
    return r.status;
  }

  current(): Uint8Array | undefined {
    if (this.closed || this.stepLen === 0) return undefined;
    if (this.whole !== undefined) return this.whole.subarray(this.wholeAt - this.stepLen, this.wholeAt);
    return this.currentStep();
  }

  close(): void {
    this.closed = true;
    this.whole = undefined;
  }
}

/** Where {@link decodeElements} stopped: status, positions, and the element cut at the stop. */
interface Stop {
  status: number;
  ip: number;
  op: number;
  literalLeft: number;
  copyLeft: number;
  copyOffset: number;
}

const stop: Stop = { status: FILLED, ip: 0, op: 0, literalLeft: 0, copyLeft: 0, copyOffset: 0 };

function truncated(): never {
  throw new Error("snappy page ends early: corrupt data");
}

/**
 * Snappy elements from `input[ip]` on, written at `out[op]` up to `out[limit]` (exactly: the last
 * element is cut there). `base` is the output produced before `out[0]`. Stops early at an element
 * not wholly loaded (NEED_INPUT, at its tag; a literal is taken as far as it is loaded), or an error
 * when `complete` says no more input comes; at a copy past the kept history (FAR). The hot loop:
 * locals only, no allocation but long literals' input views. Returns a shared {@link Stop}.
 */
function decodeElements(input: Uint8Array, inView: DataView, ip: number, complete: boolean, out: Uint8Array, outView: DataView, op: number, limit: number, base: number): Stop {
  const inEnd = input.byteLength;
  const fastIn = inEnd - 16; // literals up to 16 bytes starting before this are copied a word at a time
  const fastOut = limit - 16;
  let literalLeft = 0;
  let copyLeft = 0;
  let copyOffset = 0;
  let status = FILLED;
  while (op < limit) {
    const at = ip; // this element's tag
    if (ip >= inEnd) {
      if (complete) truncated();
      status = NEED_INPUT;
      break;
    }
    const tag = input[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len <= 16 && ip < fastIn && op < fastOut) {
        // whole words (most literals are a few bytes: one or two), the bytes past the literal
        // overwritten by the elements after it
        outView.setUint32(op, inView.getUint32(ip, true), true);
        if (len > 4) {
          outView.setUint32(op + 4, inView.getUint32(ip + 4, true), true);
          if (len > 8) {
            outView.setUint32(op + 8, inView.getUint32(ip + 8, true), true);
            outView.setUint32(op + 12, inView.getUint32(ip + 12, true), true);
          }
        }
        op += len;
        ip += len;
        continue;
      }
      if (len > 60) {
        const k = len - 60; // 1–4 little-endian length bytes follow
        if (ip + k > inEnd) {
          if (complete) truncated();
          ip = at;
          status = NEED_INPUT;
          break;
        }
        len = 0;
        for (let i = k - 1; i >= 0; i--) len = len * 256 + input[ip + i]!;
        len += 1;
        ip += k;
      }
      if (complete && ip + len > inEnd) throw new Error("snappy literal runs past the page: corrupt data");
      let n = limit - op;
      if (len < n) n = len;
      if (inEnd - ip < n) n = inEnd - ip; // taken as far as it is loaded
      if (n < 32) {
        for (let i = 0; i < n; i++) out[op + i] = input[ip + i]!;
      } else out.set(input.subarray(ip, ip + n), op);
      op += n;
      ip += n;
      if (n < len) {
        literalLeft = len - n;
        if (op < limit) status = NEED_INPUT;
        break;
      }
      continue;
    }
    let len: number;
    let offset: number;
    const need = kind === 1 ? 1 : kind === 2 ? 2 : 4;
    if (ip + need > inEnd) {
      if (complete) truncated();
      ip = at;
      status = NEED_INPUT;
      break;
    }
    if (kind === 1) {
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[ip++]!;
    } else if (kind === 2) {
      len = (tag >>> 2) + 1;
      offset = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
    } else {
      len = (tag >>> 2) + 1;
      offset = (input[ip]! | (input[ip + 1]! << 8) | (input[ip + 2]! << 16) | (input[ip + 3]! << 24)) >>> 0;
      ip += 4;
    }
    if (offset > op) {
      if (offset > base + op) throw new Error(`snappy copy reaches ${offset} bytes back, before the page start: corrupt data`);
      stop.status = FAR; // history not kept this far back
      return stop;
    }
    if (offset === 0) throw new Error("snappy copy with offset 0: corrupt data");
    const from = op - offset;
    if (offset >= 4 && len <= 16 && op < fastOut) {
      // two or four words in order: with an offset of a word or more, each reads only bytes already
      // written (a run repeats correctly); the bytes past the copy are overwritten by the elements after it
      outView.setUint32(op, outView.getUint32(from, true), true);
      outView.setUint32(op + 4, outView.getUint32(from + 4, true), true);
      if (len > 8) {
        outView.setUint32(op + 8, outView.getUint32(from + 8, true), true);
        outView.setUint32(op + 12, outView.getUint32(from + 12, true), true);
      }
      op += len;
      continue;
    }
    let n = limit - op;
    if (len < n) n = len;
    copyBack(out, op, offset, n);
    op += n;
    if (n < len) {
      copyLeft = len - n;
      copyOffset = offset;
    }
  }
  stop.status = status;
  stop.ip = ip;
  stop.op = op;
  stop.literalLeft = literalLeft;
  stop.copyLeft = copyLeft;
  stop.copyOffset = copyOffset;
  return stop;
}

/**
 * The output of one snappy page body (from page offset `from` of `input`; `expected` bytes, as its
 * header declares) as successive views of at most 128 KiB, each valid until the next call. Its input
 * may arrive a window at a time (`next()` answers HUNGRY for more). `decodeWhole` decodes the body in
 * one call where a copy reaches back further than the 64 KiB kept (asking for the whole page first).
 */
export function snappyPageSteps(input: PageInput, from: number, expected: number, decodeWhole: WholeSnappy): PageSteps {
  return new SnappySteps(input, from, expected, decodeWhole);
}
