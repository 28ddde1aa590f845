/**
 * Streams the elements of a top-level JSON array (`[ {...}, {...} ]`, e.g. a ShareGPT export) without
 * holding the file: a small state machine finds where each element starts and ends (tracking strings,
 * escapes and nesting), and only the current element's bytes are kept.
 */
import { InputFormatError } from "../src/errors.js";

/** Position of the yielded element; updated before each yield. */
export interface ElementPos {
  /** 0-based index of the element in the array. */
  row: number;
  /** Byte offset of the element's first byte. */
  offset: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_SQ = 91;
const CLOSE_SQ = 93;
const OPEN_CURLY = 123;
const CLOSE_CURLY = 125;

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * Yields the source text of each element of the top-level array in `chunks`. Throws
 * {@link InputFormatError} naming `name` and the byte offset when the file is not a JSON array or ends
 * before the array is closed. Elements below `skipBefore` are scanned but not decoded (resume).
 */
export async function* splitJsonArray(chunks: AsyncIterable<Uint8Array>, name: string, pos: ElementPos, skipBefore = 0): AsyncGenerator<string> {
  let depth = 0; // 0: before '[', 1: inside the top array, >1: inside an element
  let inStr = false;
  let esc = false;
  let inElem = false; // inside an element (any depth)
  let elemStart = 0;
  let row = 0;
  let offset = 0;
  let closed = false;
  const pending: Buffer[] = [];
  for await (const raw of chunks) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let from = 0; // start of the current element's bytes within this chunk
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (inStr) {
        if (esc) esc = false;
        else if (c === BACKSLASH) esc = true;
        else if (c === QUOTE) inStr = false;
        continue;
      }
      if (closed) {
        if (!isWs(c)) throw new InputFormatError("unexpected data after the closing ']' of the JSON array", { file: name, offset: offset + i });
        continue;
      }
      if (depth === 0) {
        if (isWs(c) || (offset + i < 3 && (c === 0xef || c === 0xbb || c === 0xbf))) continue;
        if (c !== OPEN_SQ) throw new InputFormatError("expected a JSON array ('[') at the start of the file; use format 'jsonl' for one object per line", { file: name, offset: offset + i });
        depth = 1;
        continue;
      }
      if (depth === 1 && !inElem) {
        if (isWs(c) || c === COMMA) continue;
        if (c === CLOSE_SQ) {
          closed = true;
          continue;
        }
        inElem = true;
        elemStart = offset + i;
        from = i;
      }
      if (c === QUOTE) inStr = true;
      else if (c === OPEN_CURLY || c === OPEN_SQ) depth++;
      else if (c === CLOSE_CURLY || c === CLOSE_SQ) {
        if (depth > 1) depth--;
        else {
          // ']' closing the array right after a scalar element
          yield* emit(chunk.subarray(from, i));
          inElem = false;
          closed = true;
        }
      } else if (c === COMMA && depth === 1) {
        yield* emit(chunk.subarray(from, i));
        inElem = false;
      }
    }
    if (inElem) pending.push(chunk.subarray(from));
    offset += chunk.length;
  }
  if (!closed) throw new InputFormatError(depth === 0 ? "empty file: expected a JSON array" : "JSON array is not closed: the file is truncated", { file: name, offset, row });

  function* emit(tail: Buffer): Generator<string> {
    const r = row++;
    if (r < skipBefore) {
      pending.length = 0;
      return;
    }
    let text: string;
    if (pending.length === 0) text = tail.toString("utf8");
    else {
      pending.push(tail);
      text = Buffer.concat(pending).toString("utf8");
      pending.length = 0;
    }
    pos.row = r;
    pos.offset = elemStart;
    yield text;
  }
}
