/**
 * The JSON form of a packer's pending state (`Packer.snapshot` / `Packer.restore`): the options it was
 * taken under, counters, and every piece not yet written into a taken batch, with the tokens those pieces
 * need. Documents are stored once each, trimmed to the range the pieces use plus the one token after it
 * (the label of a piece's last token is the document's next token), so a snapshot grows with the pending
 * tokens, not with the documents pushed.
 */
import { PackOptionsError } from "../src/errors.js";
import type { CutCounters, Piece } from "./pieces.js";
import type { OverlongPolicy, PackAlgorithm, TokenizedDoc } from "./types.js";

/** Format version written into every snapshot; `Packer.restore` refuses others. */
export const SNAPSHOT_VERSION = 1;

/** The resolved options a snapshot was taken under; restoring requires the same values. */
export interface SnapshotOptions {
  seqLen: number;
  batchSize: number;
  algorithm: PackAlgorithm;
  overlong: OverlongPolicy;
  /** 0 for concat and pad. */
  windowSize: number;
  padId: number;
  dropLast: boolean;
  carryOver: boolean;
  /** `null` when unset (JSON has no `undefined`). */
  seed: number | null;
}

/** A stored document: a run of its tokens (not necessarily from its start), enough for the pieces that use it. */
export interface SnapshotDoc {
  /** Tokens stored. */
  length: number;
  /** Bytes per token id in `ids`: the fewest that hold the largest stored id (gpt2: 2, cl100k_base: 3). */
  idBytes: 2 | 3 | 4;
  /** Base64 of the ids, `idBytes` little-endian bytes each. */
  ids: string;
  /**
   * Base64 of the loss mask, one bit per token (least significant bit first, 1 = nonzero in the
   * original mask: the packer only tests for zero); absent when the document had no mask.
   */
  lossMask?: string;
}

/** A piece: `len` tokens from position `start` of stored document `doc` (positions count from the stored run). */
export interface SnapshotPiece {
  doc: number;
  start: number;
  len: number;
}

/** Plain-JSON state of a `Packer`; see `Packer.snapshot` for what it covers. */
export interface PackerSnapshot {
  version: typeof SNAPSHOT_VERSION;
  options: SnapshotOptions;
  /** `finish()` was called. */
  finished: boolean;
  /** Batches taken so far (the next batch's `index`). */
  batches: number;
  /** Document counters of the cutting step (docs, tokens, truncated, dropped, ...). */
  counters: CutCounters;
  /** Losses already attributed to taken batches (the next batch reports what came after). */
  reported: { truncatedTokens: number; droppedTokens: number; droppedDocs: number };
  /** Sums over taken batches. */
  totals: { tokens: number; paddingTokens: number; segments: number; labeledTokens: number; rows: number };
  /** Documents referenced by `ready` and `planner.pieces`, each once. */
  docs: SnapshotDoc[];
  /** Rows planned but not yet taken, in order, as their pieces. */
  ready: SnapshotPiece[][];
  /** The planner's pending pieces (concat's open row, bfd/ffd's window, in arrival order) and counters. */
  planner: { pieces: SnapshotPiece[]; splitDocs: number; windows: number };
}

function bad(message: string, field: string): PackOptionsError {
  return new PackOptionsError(`snapshot: ${message}`, { field });
}

/** A non-negative safe integer at `obj[key]`, else a PackOptionsError naming `field`. */
export function count(obj: unknown, key: string, field: string): number {
  const v = typeof obj === "object" && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw bad(`${field} must be a non-negative integer, got ${String(v)}`, field);
  return v;
}

/** A copy of `template`'s keys read from `obj` as counts (see {@link count}); `field` prefixes error names. */
export function counts<T extends object>(obj: unknown, template: T, field: string): T {
  if (typeof obj !== "object" || obj === null) throw bad(`${field} missing`, field);
  const out = { ...template };
  for (const key of Object.keys(template)) (out as Record<string, number>)[key] = count(obj, key, `${field}.${key}`);
  return out;
}

/** Throws a PackOptionsError naming the first field where the snapshot's options differ from `current`. */
export function checkOptions(saved: unknown, current: SnapshotOptions): void {
  if (typeof saved !== "object" || saved === null) throw bad("options missing", "options");
  const s = saved as Record<string, unknown>;
  for (const key of Object.keys(current) as (keyof SnapshotOptions)[]) {
    if (s[key] !== current[key]) {
      throw new PackOptionsError(
        `snapshot was taken with ${key} = ${JSON.stringify(s[key])}, these options have ${JSON.stringify(current[key])}; restore with the options the snapshot was taken under`,
        { field: key },
      );
    }
  }
}

/**
 * Collects the documents of pieces (by object identity) and the token range each needs, then encodes
 * them. Call `add` for every piece first, then `encode`, then `piece` for each.
 */
export class DocTable {
  private readonly index = new Map<TokenizedDoc, number>();
  private readonly list: { doc: TokenizedDoc; from: number; to: number }[] = [];

  /** Note that `p` will be stored. */
  add(p: Piece): void {
    const i = this.index.get(p.doc);
    if (i === undefined) {
      this.index.set(p.doc, this.list.length);
      this.list.push({ doc: p.doc, from: p.start, to: p.start + p.len });
      return;
    }
    const e = this.list[i]!;
    if (p.start < e.from) e.from = p.start;
    if (p.start + p.len > e.to) e.to = p.start + p.len;
  }

  /** The stored documents, in first-seen order. */
  encode(): SnapshotDoc[] {
    return this.list.map(({ doc, from, to }) => {
      // One token past the last piece: it is the label of that piece's last token.
      const end = Math.min(to + 1, doc.ids.length);
      return encodeDoc(doc, from, end);
    });
  }

  /** A piece in snapshot form (its start relative to the stored run). */
  piece(p: Piece): SnapshotPiece {
    const i = this.index.get(p.doc)!;
    return { doc: i, start: p.start - this.list[i]!.from, len: p.len };
  }
}

function encodeDoc(doc: TokenizedDoc, from: number, end: number): SnapshotDoc {
  const ids = doc.ids.subarray(from, end);
  const n = ids.length;
  let max = 0;
  for (let i = 0; i < n; i++) if (ids[i]! > max) max = ids[i]!;
  const idBytes = max < 0x10000 ? 2 : max < 0x1000000 ? 3 : 4;
  // Explicit little-endian bytes: the same snapshot on every platform.
  const bytes = new Uint8Array(n * idBytes);
  for (let i = 0, k = 0; i < n; i++) {
    const v = ids[i]!;
    for (let b = 0; b < idBytes; b++) bytes[k++] = (v >>> (8 * b)) & 255;
  }
  const out: SnapshotDoc = { length: n, idBytes, ids: base64(bytes) };
  if (doc.lossMask !== undefined) {
    const mask = doc.lossMask.subarray(from, end);
    const bits = new Uint8Array((n + 7) >>> 3);
    for (let i = 0; i < n; i++) if (mask[i] !== 0) bits[i >>> 3]! |= 1 << (i & 7);
    out.lossMask = base64(bits);
  }
  return out;
}

const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");

function unbase64(s: unknown, bytes: number, field: string): Uint8Array {
  if (typeof s !== "string") throw bad(`${field} must be a base64 string`, field);
  const b = Buffer.from(s, "base64");
  if (b.length !== bytes) throw bad(`${field} decodes to ${b.length} bytes, expected ${bytes}`, field);
  return b;
}

/** Rebuild the stored documents (fresh typed arrays; loss masks as 0/1). */
export function decodeDocs(docs: unknown): TokenizedDoc[] {
  if (!Array.isArray(docs)) throw bad("docs must be an array", "docs");
  return docs.map((d: unknown, i) => {
    const field = `docs[${i}]`;
    const n = count(d, "length", `${field}.length`);
    const e = d as SnapshotDoc;
    const w = e.idBytes;
    if (w !== 2 && w !== 3 && w !== 4) throw bad(`${field}.idBytes must be 2, 3 or 4, got ${String(w)}`, `${field}.idBytes`);
    const bytes = unbase64(e.ids, n * w, `${field}.ids`);
    const ids = new Uint32Array(n);
    for (let t = 0, k = 0; t < n; t++) {
      let v = 0;
      for (let b = 0; b < w; b++) v += bytes[k++]! * 2 ** (8 * b);
      ids[t] = v;
    }
    if (e.lossMask === undefined) return { ids };
    const bits = unbase64(e.lossMask, (n + 7) >>> 3, `${field}.lossMask`);
    const lossMask = new Uint8Array(n);
    for (let t = 0; t < n; t++) lossMask[t] = (bits[t >>> 3]! >>> (t & 7)) & 1;
    return { ids, lossMask };
  });
}

/** Pieces back from snapshot form, checked against their documents and `seqLen`. */
export function decodePieces(list: unknown, docs: readonly TokenizedDoc[], seqLen: number, field: string): Piece[] {
  if (!Array.isArray(list)) throw bad(`${field} must be an array`, field);
  return list.map((p: unknown, i) => {
    const f = `${field}[${i}]`;
    const d = count(p, "doc", `${f}.doc`);
    const start = count(p, "start", `${f}.start`);
    const len = count(p, "len", `${f}.len`);
    const doc = docs[d];
    if (doc === undefined) throw bad(`${f}.doc ${d} is not one of the ${docs.length} stored documents`, `${f}.doc`);
    if (len < 1 || len > seqLen || start + len > doc.ids.length) {
      throw bad(`${f} [${start}, ${start + len}) does not fit document ${d} (${doc.ids.length} tokens) and seqLen ${seqLen}`, f);
    }
    return { doc, start, len };
  });
}
