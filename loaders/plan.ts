/**
 * Input files → pieces: the units sharding hands out. A piece is a byte range of an uncompressed
 * JSONL file (Hadoop line convention), a row range of a parquet file (never crossing a row group), or
 * a whole unsplittable stream (gz/zst, JSON array, deflated zip entry) read with a record stride.
 * Pieces heavier than one slot's share are split evenly, so a single big file still spreads over all
 * ranks in equal parts. Every piece carries an estimated record count (`weight`) that
 * the shard assignment balances.
 */
import type { FileMetaData } from "hyparquet";
import { readSequential } from "./bytes.js";
import { decompress } from "./codec.js";
import { splitJsonArray } from "./jsonarray.js";
import type { ElementPos } from "./jsonarray.js";
import { parquetFooter, rowGroupStarts } from "./parquet.js";
import { hash32 } from "./random.js";
import type { InputFile } from "./resolve.js";

/** How a piece is read. */
export type PieceKind = "lines" | "array" | "parquet";

/** One unit of sharding. */
export interface Piece {
  /** Index in the plan; `source.shard` of every document read from it. */
  id: number;
  /** Index into {@link Plan.files}. */
  file: number;
  kind: PieceKind;
  /** Byte range (seekable uncompressed lines) or row range (parquet); `[0, -1)` = whole stream. */
  start: number;
  end: number;
  /** Keep records whose index (line number - 1, element index) ≡ `phase` (mod `stride`). */
  stride: number;
  phase: number;
  /** Estimated records, for balancing. */
  weight: number;
}

/** Files plus their pieces; identical on every rank for the same inputs and slot count. */
export interface Plan {
  files: InputFile[];
  pieces: Piece[];
  /** Parquet footers by file index (read once while planning). */
  footers: Map<number, FileMetaData>;
  /** Hash of everything that decides the order; a resume state must match it. */
  fingerprint: string;
}

/** Options for {@link makePlan}. */
export interface PlanOptions {
  /** Consumer slots (worldSize × numWorkers): pieces are split until there are at least this many. */
  slots: number;
  /** Largest byte range of one uncompressed JSONL piece. @default 64 MiB */
  pieceBytes?: number;
}

const SAMPLE = 64 * 1024;
/** Guess for compressed text: 4× expansion; only used to balance, never for correctness. */
const COMPRESSED_RATIO = 4;

/**
 * Estimated lines per byte of the stored file. Uncompressed: from the first 64 KiB. Compressed:
 * decodes up to 1 MiB from 64 KiB reads and scales by the compressed bytes consumed (exact when the
 * whole file fits).
 */
async function sampleLineDensity(f: InputFile, src: Awaited<ReturnType<InputFile["open"]>>): Promise<number> {
  let consumed = 0;
  const raw = async function* (): AsyncIterable<Uint8Array> {
    if (!f.seekable) {
      // deflated zip entry: slice() would inflate it whole, so stream instead
      for await (const c of readSequential(src)) {
        consumed += c.byteLength;
        yield c;
      }
      return;
    }
    for (let p = 0; p < src.byteLength; p += SAMPLE) {
      const c = new Uint8Array(await src.slice(p, Math.min(src.byteLength, p + SAMPLE)));
      consumed += c.byteLength;
      yield c;
    }
  };
  const limit = f.codec === "none" ? SAMPLE : 16 * SAMPLE;
  let decoded = 0;
  let lines = 0;
  let ended = true;
  try {
    for await (const c of decompress(raw(), f.codec, f.name)) {
      for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
      decoded += c.byteLength;
      if (decoded >= limit) {
        ended = false;
        break;
      }
    }
  } catch {
    return 1 / 1000; // a damaged stream fails later, when read, with a proper error
  }
  if (f.codec === "none") return Math.max(1, lines) / Math.max(1, Math.min(decoded, consumed));
  if (ended) return (lines + 1) / Math.max(1, src.byteLength);
  return Math.max(1, lines) / Math.max(1, consumed);
}

/** Estimated elements of a JSON array: exact when it ends within 64 KiB, else extrapolated. */
async function sampleElements(f: InputFile, src: Awaited<ReturnType<InputFile["open"]>>): Promise<number> {
  const pos: ElementPos = { row: 0, offset: 0 };
  let n = 0;
  try {
    for await (const _ of splitJsonArray(decompress(readSequential(src), f.codec, f.name), f.name, pos)) {
      n++;
      if (pos.offset > SAMPLE) {
        const total = src.byteLength * (f.codec === "none" ? 1 : COMPRESSED_RATIO);
        return Math.max(1, Math.round((n * total) / pos.offset));
      }
    }
  } catch {
    return Math.max(1, n); // a damaged file fails later, when read, with a proper error
  }
  return Math.max(1, n);
}

/** First non-blank byte of the decoded stream (`[` marks a JSON array), or -1 for an empty file. */
async function firstByte(f: InputFile, src: Awaited<ReturnType<InputFile["open"]>>): Promise<number> {
  try {
    for await (const c of decompress(readSequential(src), f.codec, f.name)) {
      for (const b of c) if (b !== 32 && b !== 10 && b !== 13 && b !== 9 && b !== 0xef && b !== 0xbb && b !== 0xbf) return b;
    }
  } catch {
    return -1;
  }
  return -1;
}

/** Builds the plan: opens every file once (size, footer, a 64 KiB sample), then splits. */
export async function makePlan(files: InputFile[], opts: PlanOptions): Promise<Plan> {
  const pieceBytes = opts.pieceBytes ?? 64 * 1024 * 1024;
  const pieces: Omit<Piece, "id">[] = [];
  const footers = new Map<number, FileMetaData>();
  for (let fi = 0; fi < files.length; fi++) {
    const f = files[fi]!;
    const src = await f.open();
    try {
      if (f.format === "parquet") {
        const md = await parquetFooter(src);
        footers.set(fi, md);
        const starts = rowGroupStarts(md);
        for (let g = 0; g + 1 < starts.length; g++) {
          const a = starts[g]!;
          const b = starts[g + 1]!;
          if (b > a) pieces.push({ file: fi, kind: "parquet", start: a, end: b, stride: 1, phase: 0, weight: b - a });
        }
        continue;
      }
      if (src.byteLength === 0) continue;
      const isArray = f.format === "json" && (await firstByte(f, src)) === 91;
      if (isArray) {
        pieces.push({ file: fi, kind: "array", start: 0, end: -1, stride: 1, phase: 0, weight: await sampleElements(f, src) });
        continue;
      }
      const density = await sampleLineDensity(f, src);
      if (f.codec !== "none" || !f.seekable) {
        const w = Math.max(1, Math.round(src.byteLength * density));
        pieces.push({ file: fi, kind: "lines", start: 0, end: -1, stride: 1, phase: 0, weight: w });
        continue;
      }
      const n = Math.max(1, Math.ceil(src.byteLength / pieceBytes));
      for (let k = 0; k < n; k++) {
        const a = Math.floor((src.byteLength * k) / n);
        const b = Math.floor((src.byteLength * (k + 1)) / n);
        pieces.push({ file: fi, kind: "lines", start: a, end: b, stride: 1, phase: 0, weight: Math.max(1, Math.round((b - a) * density)) });
      }
    } finally {
      await src.close?.();
    }
  }
  const all = splitToShare(pieces, opts.slots).map((p, id) => ({ id, ...p }));
  return { files, pieces: all, footers, fingerprint: fingerprint(files, all) };
}

/**
 * Splits every piece heavier than `total / slots` into `ceil(weight / target)` equal parts: byte or
 * row ranges where the piece has them, else record strides. No piece is then heavier than one slot's
 * share, so the greedy deal stays within one piece of balanced, and a single file splits into exactly
 * `slots` equal parts. Pieces at or under the share are left whole (a split parquet row group is
 * decoded once per part, so splitting is only done where balance needs it).
 */
function splitToShare(pieces: Omit<Piece, "id">[], slots: number): Omit<Piece, "id">[] {
  if (slots <= 1) return pieces;
  let total = 0;
  for (const p of pieces) total += p.weight;
  const share = total / slots;
  const out: Omit<Piece, "id">[] = [];
  for (const p of pieces) {
    let m = Math.min(slots, Math.ceil(p.weight / share - 1e-9));
    if (p.end >= 0) m = Math.min(m, p.end - p.start);
    if (m <= 1) {
      out.push(p);
      continue;
    }
    for (let j = 0; j < m; j++) {
      const w = Math.floor((p.weight * (j + 1)) / m) - Math.floor((p.weight * j) / m);
      if (p.end >= 0) {
        const len = p.end - p.start;
        out.push({ ...p, start: p.start + Math.floor((len * j) / m), end: p.start + Math.floor((len * (j + 1)) / m), weight: w });
      } else {
        out.push({ ...p, stride: p.stride * m, phase: p.phase + j * p.stride, weight: w });
      }
    }
  }
  return out;
}

function fingerprint(files: InputFile[], pieces: Piece[]): string {
  let h = hash32(files.length, pieces.length);
  for (const f of files) for (let i = 0; i < f.name.length; i++) h = hash32(h, f.name.charCodeAt(i));
  for (const p of pieces) h = hash32(h, p.file, p.start, p.end, p.stride, p.phase);
  return h.toString(16).padStart(8, "0");
}
