/**
 * Read-ahead for parquet: while the rows of one row group are being consumed, the byte ranges of the
 * next row group's needed column chunks are already being read, so file or network latency overlaps
 * with decoding. A miss falls through to the base source; nothing is cached beyond the latest
 * prefetch (one row group's compressed column chunks).
 */
import type { FileMetaData } from "hyparquet";
import { forChunksIn } from "./parquet.js";
import type { ByteSource, StreamOptions } from "./types.js";

interface Span {
  start: number;
  end: number;
  data: Promise<ArrayBuffer>;
}

/** A {@link ByteSource} that can be told which ranges will be read next. */
export class ReadAhead implements ByteSource {
  private spans: Span[] = [];

  constructor(private readonly base: ByteSource) {}

  get name(): string {
    return this.base.name;
  }

  get byteLength(): number {
    return this.base.byteLength;
  }

  /** Starts reading `ranges` now; replaces any earlier prefetch. */
  prefetch(ranges: readonly [number, number][]): void {
    this.spans = ranges.map(([start, end]) => {
      const data = this.base.slice(start, end);
      data.catch(() => undefined); // a failure surfaces when (if) the range is actually read
      return { start, end, data };
    });
  }

  async slice(start: number, end = this.base.byteLength): Promise<ArrayBuffer> {
    const s = this.spans.find((x) => x.start <= start && end <= x.end);
    if (!s) return this.base.slice(start, end);
    const buf = await s.data;
    return s.start === start && s.end === end ? buf : buf.slice(start - s.start, end - s.start);
  }

  stream(start?: number, end?: number, options?: StreamOptions): AsyncIterable<Uint8Array> {
    if (!this.base.stream) throw new Error("base source has no stream()");
    return this.base.stream(start ?? 0, end ?? this.base.byteLength, options);
  }

  async close(): Promise<void> {
    this.spans = [];
    await this.base.close?.();
  }
}

/**
 * Byte ranges of the given top-level columns in the row group holding `row`: one span when the
 * chunks are adjacent enough (≤ 25% gap), else one range per chunk.
 */
export function columnChunkRanges(md: FileMetaData, row: number, columns: readonly string[] | undefined, leaf?: (path: readonly string[]) => boolean): [number, number][] {
  const ranges: [number, number][] = [];
  forChunksIn(md, row, row + 1, columns, (m) => {
    if (leaf !== undefined && !leaf(m.path_in_schema)) return;
    const start = Number(m.dictionary_page_offset || m.data_page_offset);
    ranges.push([start, start + Number(m.total_compressed_size)]);
  });
  if (ranges.length <= 1) return ranges;
  ranges.sort((a, b) => a[0] - b[0]);
  const sum = ranges.reduce((s, r) => s + r[1] - r[0], 0);
  const lo = ranges[0]![0];
  const hi = Math.max(...ranges.map((r) => r[1]));
  return hi - lo <= sum * 1.25 ? [[lo, hi]] : ranges;
}
