/**
 * Parquet's delta encodings of byte arrays, as data pages v2 carry strings (duckdb writes
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

/** An unsigned LEB128 varint at `at.pos` (advanced). */
function uleb(bytes: Uint8Array, at: { pos: number }): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= bytes.byteLength) throw new Error("delta-encoded values end early");
    const b = bytes[at.pos++]!;
    n += (b & 0x7f) * scale;
    if (b < 0x80) return n;
    scale *= 128;
  }
  throw new Error("malformed varint in delta-encoded values");
}

function zigzag(n: number): number {
  return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
}

/**
 * `count` DELTA_BINARY_PACKED int32s from `bytes[pos]` on into `out[0, count)`; returns the position
 * after them. The header's value count must be `count`.
 */
export function readDeltaBinaryPacked(bytes: Uint8Array, pos: number, count: number, out: Int32Array): number {
  const at = { pos };
  const blockSize = uleb(bytes, at);
  const miniblocks = uleb(bytes, at);
  const total = uleb(bytes, at);
  let value = zigzag(uleb(bytes, at));
  if (blockSize === 0 || blockSize % 128 !== 0 || miniblocks === 0 || blockSize % miniblocks !== 0 || (blockSize / miniblocks) % 32 !== 0) {
    throw new Error(`delta header with blocks of ${blockSize} values in ${miniblocks} miniblocks`);
  }
  if (total !== count) throw new Error(`delta-encoded block of ${total} values where ${count} are present`);
  const perMini = blockSize / miniblocks;
  let produced = 0;
  if (total > 0) out[produced++] = value;
  while (produced < total) {
    const minDelta = zigzag(uleb(bytes, at));
    if (at.pos + miniblocks > bytes.byteLength) throw new Error("delta-encoded values end early");
    const widths = at.pos;
    at.pos += miniblocks;
    for (let m = 0; m < miniblocks && produced < total; m++) {
      const w = bytes[widths + m]!;
      if (w > 32) throw new Error(`delta miniblock of bit width ${w} in int32 values`);
      const end = at.pos + (perMini * w) / 8;
      if (end > bytes.byteLength) throw new Error("delta-encoded values end early");
      const scale = 2 ** w;
      let p = at.pos;
      let acc = 0; // pending bits, as a float: up to 39 of them
      let bits = 0;
      for (let k = 0; k < perMini && produced < total; k++) {
        while (bits < w) {
          acc += bytes[p++]! * 2 ** bits;
          bits += 8;
        }
        const d = acc % scale;
        acc = (acc - d) / scale;
        bits -= w;
        value = (value + minDelta + d) | 0; // int32 arithmetic, wrapping as the writer's did
        out[produced++] = value;
      }
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
