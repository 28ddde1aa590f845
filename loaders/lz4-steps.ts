/**
 * An lz4 page decoded a step at a time, so that reading a page of any size holds a window of its
 * compressed bytes, one 128 KiB step of output and the 64 KiB before it, not the whole page decoded
 * (hyparquet-compressors decodes a page in one call).
 *
 * An lz4 match reaches back at most 65,535 bytes (its offset is two bytes), so keeping the last
 * 64 KiB of output is always enough. Two framings reach parquet:
 * - `LZ4_RAW`: the page body is one lz4 block;
 * - `LZ4` (deprecated): Hadoop's framing, blocks each behind a big-endian u32 of its decoded size and
 *   one of its compressed size (parquet-mr, Impala), or else one bare block. A body is taken as
 *   Hadoop-framed when its first header fits the page, as arrow does (arrow then checks by decoding,
 *   and falls back to a bare block). A bare block cannot pass for a page under 16 MiB: its first
 *   byte would have to be 0, a match before any output.
 */
import { copyBack, DECODE_STEP, HistorySteps, HUNGRY, inputComplete, wholeInput, type PageInput, type PageSteps } from "./page-steps.js";

/** Hadoop block header: decoded and compressed sizes, big-endian u32 each. */
const HADOOP_HEADER = 8;
/** The LZ4 frame format's magic number (little-endian), which no parquet writer should use. */
const FRAME_MAGIC = 0x184d2204;

/** What the decoder expects next in the input. */
const TOKEN = 0; // a sequence's token (or, at a Hadoop block's end, the next block header)
const LITERALS = 1; // `literalLeft` literal bytes
const MATCH = 2; // a match's offset and length extension, its length nibble in `nibble`
const COPY = 3; // `copyLeft` bytes of a match at `copyOffset`
const HEADER = 4; // a Hadoop block header

class Lz4Steps extends HistorySteps implements PageSteps {
  /** Page offset of the next input byte. */
  private ip: number;
  private state: number;
  private literalLeft = 0;
  private nibble = 0;
  private copyLeft = 0;
  private copyOffset = 0;
  /** Page offset where the current block's input ends. */
  private blockEnd: number;
  /** Output offsets where the current Hadoop block's output starts and ends (-1: a bare block). */
  private blockOutStart = 0;
  private blockOutEnd = -1;
  private closed = false;

  constructor(
    private readonly input: PageInput,
    from: number,
    private readonly expected: number,
    hadoop: boolean,
  ) {
    super();
    this.ip = from;
    this.state = hadoop ? HEADER : TOKEN;
    this.blockEnd = input.size;
  }

  next(): Uint8Array | undefined {
    if (this.closed) return undefined;
    if (this.base + this.op === this.expected) {
      this.stepLen = 0;
      // a block may end with a sequence of no literals and no match: all an empty block holds
      if (this.state === TOKEN && this.ip + 1 === this.blockEnd) {
        const at = this.ip - this.input.start;
        if (at >= this.input.buf.byteLength) {
          this.input.consumed = this.ip;
          return HUNGRY;
        }
        if (this.input.buf[at] === 0) this.ip++;
      }
      const blockDone = this.state === HEADER || (this.state === TOKEN && this.ip === this.blockEnd);
      if (this.ip !== this.input.size || !blockDone) throw new Error("lz4 page has bytes past its declared length: corrupt data");
      this.endBlock();
      return undefined;
    }
    const start = this.keepHistory();
    const needInput = this.fill(Math.min(start + DECODE_STEP, this.expected - this.base));
    if (needInput && inputComplete(this.input)) throw new Error("lz4 page ends early: corrupt data");
    const step = this.handOut(start);
    if (step !== undefined) return step;
    this.input.consumed = this.ip;
    return HUNGRY;
  }

  /**
   * Decodes into `out` up to `limit` (exactly): true when it stopped short for input not loaded yet,
   * at a point it goes on from (a sequence's token, the rest of its literals, its match, a header).
   */
  private fill(limit: number): boolean {
    const out = this.out;
    const input = this.input;
    const buf = input.buf;
    const inEnd = buf.byteLength;
    const base = this.base;
    let blockEnd = this.blockEnd - input.start; // may lie past the loaded input
    let ip = this.ip - input.start;
    let op = this.op;
    let state = this.state;
    let literalLeft = this.literalLeft;
    let nibble = this.nibble;
    let copyLeft = this.copyLeft;
    let copyOffset = this.copyOffset;
    let needInput = false;
    decode: while (op < limit) {
      switch (state) {
        case TOKEN: {
          if (ip === blockEnd) {
            // the block is done: the page too, short of its size, unless another Hadoop block follows
            this.endBlock(base + op);
            if (this.blockOutEnd < 0 || blockEnd + input.start === input.size) throw new Error(`lz4 page decodes to ${base + op} bytes, its header says ${this.expected}: corrupt data`);
            state = HEADER;
            break;
          }
          if (ip >= inEnd) {
            needInput = true;
            break decode;
          }
          const at = ip;
          const token = buf[ip++]!;
          let len = token >>> 4;
          if (len === 15) {
            let b = 255;
            while (b === 255 && ip < inEnd) {
              b = buf[ip++]!;
              len += b;
            }
            if (b === 255) {
              ip = at; // its length goes on past the loaded input
              needInput = true;
              break decode;
            }
          }
          if (ip + len > blockEnd) throw new Error(`lz4 literals run past the ${this.blockOutEnd < 0 ? "page" : "block"}: corrupt data`);
          literalLeft = len;
          nibble = token & 15;
          state = LITERALS;
          break;
        }
        case LITERALS: {
          let n = limit - op;
          if (literalLeft < n) n = literalLeft;
          if (inEnd - ip < n) n = inEnd - ip;
          if (n < 32) {
            for (let i = 0; i < n; i++) out[op + i] = buf[ip + i]!;
          } else out.set(buf.subarray(ip, ip + n), op);
          op += n;
          ip += n;
          literalLeft -= n;
          if (literalLeft > 0) {
            if (op < limit) {
              needInput = true;
              break decode;
            }
            break;
          }
          state = ip === blockEnd ? TOKEN : MATCH; // a block's last sequence has no match
          break;
        }
        case MATCH: {
          if (ip + 2 > blockEnd) throw new Error(`lz4 match runs past the ${this.blockOutEnd < 0 ? "page" : "block"}: corrupt data`);
          if (ip + 2 > inEnd) {
            needInput = true;
            break decode;
          }
          const at = ip;
          const offset = buf[ip]! | (buf[ip + 1]! << 8);
          ip += 2;
          let len = nibble + 4;
          if (nibble === 15) {
            let b = 255;
            while (b === 255 && ip < inEnd) {
              b = buf[ip++]!;
              len += b;
            }
            if (b === 255) {
              ip = at;
              needInput = true;
              break decode;
            }
            if (ip > blockEnd) throw new Error("lz4 match length runs past its block: corrupt data");
          }
          if (offset === 0 || offset > base + op) throw new Error(`lz4 match reaches ${offset} bytes back${offset === 0 ? "" : ", before the page start"}: corrupt data`);
          copyOffset = offset;
          copyLeft = len;
          state = COPY;
          break;
        }
        case COPY: {
          let n = limit - op;
          if (copyLeft < n) n = copyLeft;
          copyBack(out, op, copyOffset, n);
          op += n;
          copyLeft -= n;
          if (copyLeft === 0) state = TOKEN;
          break;
        }
        case HEADER: {
          if (ip + HADOOP_HEADER > inEnd) {
            needInput = true;
            break decode;
          }
          const decoded = readU32BE(buf, ip);
          const compressed = readU32BE(buf, ip + 4);
          ip += HADOOP_HEADER;
          if (compressed > input.size - input.start - ip || decoded > this.expected - base - op) throw new Error(`lz4 Hadoop block of ${compressed} bytes → ${decoded} runs past the page: corrupt data`);
          blockEnd = ip + compressed;
          this.blockEnd = input.start + blockEnd;
          this.blockOutStart = base + op;
          this.blockOutEnd = base + op + decoded;
          state = TOKEN;
          break;
        }
      }
    }
    this.ip = input.start + ip;
    this.op = op;
    this.state = state;
    this.literalLeft = literalLeft;
    this.nibble = nibble;
    this.copyLeft = copyLeft;
    this.copyOffset = copyOffset;
    return needInput;
  }

  /** A Hadoop block's input ended (at output offset `at`): it must have made its declared size. */
  private endBlock(at: number = this.base + this.op): void {
    if (this.blockOutEnd >= 0 && at !== this.blockOutEnd) {
      throw new Error(`lz4 Hadoop block decodes to ${at - this.blockOutStart} bytes, its header says ${this.blockOutEnd - this.blockOutStart}: corrupt data`);
    }
  }

  current(): Uint8Array | undefined {
    return this.closed ? undefined : this.currentStep();
  }

  close(): void {
    this.closed = true;
  }
}

function readU32BE(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * Whether an `LZ4` page body (its first bytes in `head`) is Hadoop-framed: its first block header
 * fits a body of `size` bytes decoding to `expected`. Throws on the LZ4 frame format.
 */
export function lz4IsHadoop(head: Uint8Array, size: number, expected: number): boolean {
  if (head.byteLength >= 4 && (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0 === FRAME_MAGIC) {
    throw new Error("lz4 page in the LZ4 frame format, which parquet's LZ4 codecs do not use (neither Hadoop framing nor a raw block)");
  }
  if (size < HADOOP_HEADER || head.byteLength < HADOOP_HEADER) return false;
  const decoded = readU32BE(head, 0);
  const compressed = readU32BE(head, 4);
  return decoded <= expected && compressed <= size - HADOOP_HEADER;
}

/**
 * The output of one lz4 page body (from page offset `from` of `input`; `expected` bytes, as its
 * header declares) as successive views of at most 128 KiB, each valid until the next call. Its input
 * may arrive a window at a time (`next()` answers HUNGRY for more). `hadoop`: Hadoop-framed blocks
 * (see {@link lz4IsHadoop}) rather than one bare block.
 */
export function lz4PageSteps(input: PageInput, from: number, expected: number, hadoop: boolean): PageSteps {
  return new Lz4Steps(input, from, expected, hadoop);
}

/** A whole lz4 page body decoded into memory of its own (`LZ4` when `maybeHadoop`, else `LZ4_RAW`). */
export function lz4Decompress(body: Uint8Array, expected: number, maybeHadoop: boolean): Uint8Array {
  const steps = lz4PageSteps(wholeInput(body), 0, expected, maybeHadoop && lz4IsHadoop(body, body.byteLength, expected));
  const out = new Uint8Array(expected);
  let at = 0;
  for (let step = steps.next(); step !== undefined; step = steps.next()) {
    out.set(step, at);
    at += step.byteLength;
  }
  return out;
}
