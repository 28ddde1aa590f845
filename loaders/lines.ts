/**
 * Splits a byte stream into lines without copying whole chunks: a line inside one chunk is decoded
 * straight from it; only a line that spans chunks is copied and joined (a 50 MB line costs two 50 MB copies).
 *
 * Byte-range pieces follow the Hadoop convention so ranges of one file are disjoint and complete: a
 * piece `[start, end)` owns every line whose first byte lies in `[start, end)`. A piece that starts
 * mid-file reads from `start - 1` and drops everything up to the first newline.
 */

/** Where the splitter is; updated before each line is yielded, so it describes the yielded line. */
export interface LinePos {
  /** Byte offset (in the decoded stream) of the yielded line's first byte. */
  start: number;
  /** Byte offset just past the yielded line's newline: where the next line starts. */
  next: number;
  /** 1-based number of the yielded line, or 0 when unknown (a piece starting mid-file). */
  line: number;
}

/** Options for {@link splitLines}. */
export interface SplitOptions {
  /** Offset of the first byte of `chunks` in the stream. @default 0 */
  base?: number;
  /** Drop bytes up to and including the first newline (a piece starting mid-line). @default false */
  skipPartial?: boolean;
  /** Stop before any line starting at or after this offset. @default Infinity */
  end?: number;
  /** Number of the first full line, 0 when unknown. @default 1 */
  firstLine?: number;
  /** Lines with a number below this are counted but not decoded (resume in a compressed stream). */
  skipBefore?: number;
}

const NL = 10;

/**
 * Yields each non-blank line as a string (UTF-8, BOM at offset 0 removed, trailing `\r` kept: JSON
 * treats it as whitespace). `pos` is updated in place before every yield. Nothing of a chunk is kept
 * once the next is asked for, so sources may reuse chunk memory (`StreamOptions.reuseChunks`).
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, pos: LinePos, opts: SplitOptions = {}): AsyncGenerator<string> {
  let offset = opts.base ?? 0; // stream offset of chunk[0]
  let lineStart = offset;
  let line = opts.firstLine ?? 1;
  const end = opts.end ?? Infinity;
  const skipBefore = opts.skipBefore ?? 0;
  let skipping = opts.skipPartial ?? false;
  const pending: Buffer[] = [];
  let first = offset === 0;
  for await (const raw of chunks) {
    let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (first) {
      first = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        chunk = chunk.subarray(3);
        offset += 3;
        lineStart = offset;
      }
    }
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(NL, from);
      if (nl < 0) {
        // a copy: the source may reuse this chunk's memory once the next one is asked for
        if (!skipping && lineStart < end) pending.push(Buffer.from(chunk.subarray(from)));
        break;
      }
      const next = offset + nl + 1;
      if (skipping) {
        skipping = false;
      } else {
        if (lineStart >= end) return;
        const num = line;
        if (line) line++;
        if (num === 0 || num >= skipBefore) {
          const text = pending.length === 0 ? chunk.toString("utf8", from, nl) : joinPending(pending, chunk.subarray(from, nl));
          pending.length = 0;
          if (!isBlank(text)) {
            pos.start = lineStart;
            pos.next = next;
            pos.line = num;
            yield text;
          }
        } else {
          pending.length = 0;
        }
      }
      lineStart = next;
      from = nl + 1;
    }
    offset += chunk.length;
    if (!skipping && lineStart >= end) return;
  }
  if (!skipping && pending.length > 0 && lineStart < end) {
    const num = line;
    if (num === 0 || num >= skipBefore) {
      const text = joinPending(pending, undefined);
      pending.length = 0;
      if (!isBlank(text)) {
        pos.start = lineStart;
        pos.next = offset;
        pos.line = num;
        yield text;
      }
    }
  }
}

function joinPending(pending: Buffer[], tail: Buffer | undefined): string {
  if (tail) pending.push(tail);
  return Buffer.concat(pending).toString("utf8");
}

/** True for an empty or whitespace-only line; checks only short lines or a leading whitespace byte. */
function isBlank(s: string): boolean {
  if (s.length === 0) return true;
  const c = s.charCodeAt(0);
  if (c !== 32 && c !== 9 && c !== 13) return false;
  return s.trim().length === 0;
}
