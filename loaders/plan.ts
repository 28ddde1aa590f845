/**
 * Input files → pieces: the units sharding hands out. A piece is a byte range of an uncompressed
 * JSONL file (Hadoop line convention), a row range of a parquet file (never crossing a row group), or
 * a whole unsplittable stream (gz/zst, JSON array, deflated zip entry) read with a record stride.
 * Pieces are split, largest first, until there are at least as many as consumer slots, so a single
 * big file still spreads over all ranks. Every piece carries an estimated record count (`weight`) that
 * the shard assignment balances.
 */
import type { FileMetaData } from "hyparquet";
import { readSequential } from "./bytes.js";
import { decompress } from "./codec.js";
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

/** Average bytes per line in the first 64 KiB of decoded text (≥ 1). */
async function sampleLineBytes(f: InputFile, src: Awaited<ReturnType<InputFile["open"]>>): Promise<number> {
  let seen = 0;
  let lines = 0;
  const it = decompress(readSequential(src, 0, Math.min(src.byteLength, f.codec === "none" ? SAMPLE : src.byteLength)), f.codec, f.name);
  try {
    for await (const c of it) {
      for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
      seen += c.byteLength;
      if (seen >= SAMPLE) break;
    }
  } catch {
    return 1000; // a damaged stream fails later, when read, with a proper error
  }
  return Math.max(1, Math.round(seen / Math.max(1, lines)));
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
        pieces.push({ file: fi, kind: "array", start: 0, end: -1, stride: 1, phase: 0, weight: Math.max(1, Math.round(src.byteLength / 1000)) });
        continue;
      }
      const perLine = await sampleLineBytes(f, src);
      if (f.codec !== "none" || !f.seekable) {
        const w = Math.max(1, Math.round((src.byteLength * (f.codec === "none" ? 1 : COMPRESSED_RATIO)) / perLine));
        pieces.push({ file: fi, kind: "lines", start: 0, end: -1, stride: 1, phase: 0, weight: w });
        continue;
      }
      const n = Math.max(1, Math.ceil(src.byteLength / pieceBytes));
      for (let k = 0; k < n; k++) {
        const a = Math.floor((src.byteLength * k) / n);
        const b = Math.floor((src.byteLength * (k + 1)) / n);
        pieces.push({ file: fi, kind: "lines", start: a, end: b, stride: 1, phase: 0, weight: Math.max(1, Math.round((b - a) / perLine)) });
      }
    } finally {
      await src.close?.();
    }
  }
  splitUntil(pieces, opts.slots);
  const all = pieces.map((p, id) => ({ id, ...p }));
  return { files, pieces: all, footers, fingerprint: fingerprint(files, all) };
}

/** Splits the heaviest splittable piece in two until `pieces.length >= slots`. */
function splitUntil(pieces: Omit<Piece, "id">[], slots: number): void {
  while (pieces.length < slots) {
    let best = -1;
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (p.weight >= 2 && (best < 0 || p.weight > pieces[best]!.weight)) best = i;
    }
    if (best < 0) return; // nothing left to split: some slots stay idle
    const p = pieces[best]!;
    const halfW = Math.floor(p.weight / 2);
    let a: Omit<Piece, "id">;
    let b: Omit<Piece, "id">;
    if (p.end >= 0 && (p.kind === "parquet" ? p.end - p.start >= 2 : p.end - p.start >= 2)) {
      const mid = p.start + Math.floor((p.end - p.start) / 2);
      a = { ...p, end: mid, weight: halfW };
      b = { ...p, start: mid, weight: p.weight - halfW };
    } else {
      a = { ...p, stride: p.stride * 2, weight: halfW };
      b = { ...p, stride: p.stride * 2, phase: p.phase + p.stride, weight: p.weight - halfW };
    }
    pieces.splice(best, 1, a, b);
  }
}

function fingerprint(files: InputFile[], pieces: Piece[]): string {
  let h = hash32(files.length, pieces.length);
  for (const f of files) for (let i = 0; i < f.name.length; i++) h = hash32(h, f.name.charCodeAt(i));
  for (const p of pieces) h = hash32(h, p.file, p.start, p.end, p.stride, p.phase);
  return h.toString(16).padStart(8, "0");
}
