/**
 * The parquet encodings the streamed text reader (`parquet-text.ts`) decodes itself, besides PLAIN:
 *
 * - the RLE / bit-packed hybrid of levels and dictionary indices, and the deprecated BIT_PACKED levels;
 *
 * and the delta encodings of byte arrays, as data pages v2 carry strings (duckdb writes
 * DELTA_LENGTH_BYTE_ARRAY, parquet-mr and arrow-rs DELTA_BYTE_ARRAY once a dictionary is full):
 *
 * - DELTA_BINARY_PACKED integers: a header (block size, miniblocks per block, value count, first
 *   value), then blocks of a minimum delta, one bit width per miniblock, and the miniblocks' deltas
 *   bit-packed least significant bit first. Lengths here, so int32.
 * - DELTA_LENGTH_BYTE_ARRAY: the values' lengths (DELTA_BINARY_PACKED), then their bytes back to back.
 * - DELTA_BYTE_ARRAY: the lengths of the prefix each value shares with the one before, the lengths
 *   of the suffixes that follow it (both DELTA_BINARY_PACKED), then the suffixes back to back.
 *
 * {@link DeltaValues} hands out the values of one page, whose decoded body it reads.
 */

/** An unsigned LEB128 varint at `at.pos` (advanced); `what` names the values in errors. */
function uleb(bytes: Uint8Array, at: { pos: number }, what: string): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= bytes.byteLength) throw new Error(`${what} end early`);
    const b = bytes[at.pos++]!;
    n += (b & 0x7f) * scale;
    if (b < 0x80) return n;
    scale *= 128;
  }
  throw new Error(`malformed varint in ${what}`);
}

/**
 * `n` values of `width` bits (0–32), packed least significant bit first from `bytes[p]` on, into
 * `out[at, at + n)` (a 32-bit value over 2^31 wraps, as an Int32Array stores it). The caller checks
 * that the bytes are there.
 */
function unpackBits(bytes: Uint8Array, p: number, width: number, n: number, out: Int32Array, at: number): void {
  const scale = 2 ** width;
  let acc = 0; // pending bits, as a float: up to 39 of them
  let bits = 0;
  for (let k = 0; k < n; k++) {
    while (bits < width) {
      acc += bytes[p++]! * 2 ** bits;
      bits += 8;
    }
    const v = acc % scale;
    out[at + k] = v;
    acc = (acc - v) / scale;
    bits -= width;
  }
}

/**
 * `count` values of `width` bits (0–32) in parquet's RLE / bit-packed hybrid encoding from `bytes`
 * into `out[0, count)`: definition levels (width 1 for a top-level optional column) and dictionary
 * indices. Returns the bytes read.
 */
export function readHybrid(bytes: Uint8Array, width: number, count: number, out: Int32Array): number {
  if (width < 0 || width > 32) throw new Error(`bit width ${width} out of range`);
  const what = "RLE / bit-packed values";
  const valueBytes = (width + 7) >> 3;
  const at = { pos: 0 };
  let i = 0;
  while (i < count) {
    const h = uleb(bytes, at, what);
    if (h % 2 === 1) {
      // bit-packed: groups of 8 values, `width` bytes per group
      const groups = (h - 1) / 2;
      const end = at.pos + groups * width;
      if (end > bytes.byteLength) throw new Error(`${what} end early`);
      const n = Math.min(groups * 8, count - i);
      unpackBits(bytes, at.pos, width, n, out, i);
      i += n;
      at.pos = end;
    } else {
      // a run: one value in ceil(width / 8) little-endian bytes
      if (at.pos + valueBytes > bytes.byteLength) throw new Error(`${what} end early`);
      let v = 0;
      for (let k = valueBytes - 1; k >= 0; k--) v = v * 256 + bytes[at.pos + k]!;
      at.pos += valueBytes;
      const run = h / 2;
      out.fill(v, i, Math.min(count, i + run));
      i += run;
    }
  }
  return at.pos;
}

/** `count` levels of bit width `width` in the deprecated BIT_PACKED encoding (most significant bit first, no header). */
export function readBitPacked(bytes: Uint8Array, width: number, count: number, out: Int32Array): void {
  if (bytes.byteLength < Math.ceil((count * width) / 8)) throw new Error(`BIT_PACKED levels end early`);
  if (width === 1) {
    for (let i = 0; i < count; i++) out[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
    return;
  }
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0; b < width; b++, bit++) v = (v << 1) | ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
    out[i] = v;
  }
}

function zigzag(n: number): number {
  return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
}

/**
 * `count` DELTA_BINARY_PACKED int32s from `bytes[pos]` on into `out[0, count)`; returns the position
 * after them. The header's value count must be `count`.
 */
export function readDeltaBinaryPacked(bytes: Uint8Array, pos: number, count: number, out: Int32Array): number {
  const what = "delta-encoded values";
  const at = { pos };
  const blockSize = uleb(bytes, at, what);
  const miniblocks = uleb(bytes, at, what);
  const total = uleb(bytes, at, what);
  let value = zigzag(uleb(bytes, at, what));
  if (blockSize === 0 || blockSize % 128 !== 0 || miniblocks === 0 || blockSize % miniblocks !== 0 || (blockSize / miniblocks) % 32 !== 0) {
    throw new Error(`delta header with blocks of ${blockSize} values in ${miniblocks} miniblocks`);
  }
  if (total !== count) throw new Error(`delta-encoded block of ${total} values where ${count} are present`);
  const perMini = blockSize / miniblocks;
  const deltas = new Int32Array(perMini);
  let produced = 0;
  if (total > 0) out[produced++] = value;
  while (produced < total) {
    const minDelta = zigzag(uleb(bytes, at, what));
    if (at.pos + miniblocks > bytes.byteLength) throw new Error(`${what} end early`);
    const widths = at.pos;
    at.pos += miniblocks;
    for (let m = 0; m < miniblocks && produced < total; m++) {
      const w = bytes[widths + m]!;
      if (w > 32) throw new Error(`delta miniblock of bit width ${w} in int32 values`);
      const end = at.pos + (perMini * w) / 8;
      if (end > bytes.byteLength) throw new Error(`${what} end early`);
      const n = Math.min(perMini, total - produced);
      unpackBits(bytes, at.pos, w, n, deltas, 0);
      // int32 arithmetic, wrapping as the writer's did (a delta stored wrapped gives the same sum)
      for (let k = 0; k < n; k++) out[produced++] = value = (value + minDelta + deltas[k]!) | 0;
      at.pos = end; // a miniblock is padded to its full size
    }
  }
  return at.pos;
}

/** The values of one page in DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY encoding, in order. */
export class DeltaValues {
  private lengths = new Int32Array(0);
  private prefixes = new Int32Array(0);
  private body: Uint8Array = new Uint8Array(0);
  /** Next value and where its bytes (its suffix) start in `body`. */
  private k = 0;
  private at = 0;
  private count = 0;
  private shared = false;
  /** The previous value and the one being built, swapped per value (DELTA_BYTE_ARRAY). */
  private prev: Uint8Array = new Uint8Array(256);
  private prevLength = 0;
  private next_: Uint8Array = new Uint8Array(256);

  /** Starts a page: `body` is its values region decoded, holding `count` values. */
  reset(body: Uint8Array, encoding: "DELTA_LENGTH_BYTE_ARRAY" | "DELTA_BYTE_ARRAY", count: number): void {
    this.body = body;
    this.k = 0;
    this.count = count;
    this.prevLength = 0;
    this.shared = encoding === "DELTA_BYTE_ARRAY";
    if (this.lengths.length < count) this.lengths = new Int32Array(count);
    if (count === 0) return;
    let pos = 0;
    if (this.shared) {
      if (this.prefixes.length < count) this.prefixes = new Int32Array(count);
      pos = readDeltaBinaryPacked(body, pos, count, this.prefixes);
    }
    pos = readDeltaBinaryPacked(body, pos, count, this.lengths);
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const n = this.lengths[i]!;
      if (n < 0) throw new Error(`negative value length ${n}`);
      sum += n;
    }
    if (pos + sum > body.byteLength) throw new Error(`values of ${sum} bytes run past their page (${body.byteLength - pos} left)`);
    this.at = pos;
  }

  /** The next value, valid until the next call. */
  value(): Uint8Array {
    const k = this.k++;
    if (k >= this.count) throw new Error("more values asked for than the page holds");
    const n = this.lengths[k]!;
    const suffix = this.body.subarray(this.at, this.at + n);
    this.at += n;
    if (!this.shared) return suffix;
    const p = this.prefixes[k]!;
    if (p < 0 || p > this.prevLength) throw new Error(`value ${k} shares ${p} bytes with a value of ${this.prevLength}`);
    if (this.next_.byteLength < p + n) this.next_ = new Uint8Array(Math.max(p + n, 2 * this.next_.byteLength));
    const out = this.next_;
    out.set(this.prev.subarray(0, p), 0);
    out.set(suffix, p);
    this.next_ = this.prev;
    this.prev = out;
    this.prevLength = p + n;
    return out.subarray(0, p + n);
  }
}
