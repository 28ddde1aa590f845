/**
 * `bfd` / `ffd`: collect a window of pieces, sort them longest first, place each into a row chosen by a
 * {@link FitIndex} (best fit or first fit), and emit the rows. With `carryOver`, the pieces of the
 * least-filled rows (at most a quarter of a window) go back into the next window instead of being
 * emitted half empty (on a copy of their tokens: see `ownedPiece`); only the final window pads freely.
 */
import { PackOptionsError } from "../../src/errors.js";
import type { Piece } from "../pieces.js";
import type { TokenizedDoc } from "../types.js";
import { BestFitIndex, FirstFitIndex, type FitIndex } from "./fit.js";
import type { PlannerState, Row, RowPlanner } from "./row.js";
import { shuffleInPlace } from "./shuffle.js";

/** Options of {@link WindowPlanner}. */
export interface WindowPlannerOptions {
  seqLen: number;
  windowSize: number;
  fit: "best" | "first";
  carryOver: boolean;
  seed: number | undefined;
}

export class WindowPlanner implements RowPlanner {
  readonly splitDocs = 0;
  private pending: Piece[] = [];
  private readonly index: FitIndex;
  private windowNo = 0;

  constructor(private readonly opts: WindowPlannerOptions) {
    this.index = opts.fit === "best" ? new BestFitIndex(opts.seqLen) : new FirstFitIndex();
  }

  add(piece: Piece, out: Row[]): void {
    this.pending.push(piece);
    if (this.pending.length >= this.opts.windowSize) this.packWindow(out, false);
  }

  finish(out: Row[]): void {
    if (this.pending.length > 0) this.packWindow(out, true);
  }

  save(): PlannerState {
    // The shuffle PRNG is reseeded per window (seed + window number), so the count is its whole state.
    return { pieces: this.pending.slice(), splitDocs: 0, windows: this.windowNo };
  }

  load(state: PlannerState): void {
    // A full window would already have been packed; the arrival order matters (stable sort).
    if (state.pieces.length >= this.opts.windowSize) {
      throw new PackOptionsError(
        `snapshot: the pending window holds ${state.pieces.length} pieces, must be under windowSize ${this.opts.windowSize}`,
        { field: "planner.pieces" },
      );
    }
    this.pending = state.pieces.slice();
    this.windowNo = state.windows;
  }

  private packWindow(out: Row[], final: boolean): void {
    const L = this.opts.seqLen;
    const pieces = this.pending;
    this.pending = [];
    // Array.prototype.sort is stable, so equal lengths keep arrival order: deterministic.
    pieces.sort((a, b) => b.len - a.len);
    this.index.reset(pieces.length);
    const rows: Row[] = [];
    for (const p of pieces) {
      let r = this.index.find(p.len);
      let previous = 0;
      if (r < 0) {
        r = rows.length;
        rows.push({ pieces: [], used: 0 });
      } else {
        previous = L - rows[r]!.used;
      }
      const row = rows[r]!;
      row.pieces.push(p);
      row.used += p.len;
      this.index.update(r, previous, L - row.used);
    }
    const keep = final || !this.opts.carryOver ? rows : this.carry(rows);
    if (this.opts.seed !== undefined) shuffleInPlace(keep, this.opts.seed + this.windowNo);
    this.windowNo++;
    for (const row of keep) out.push(row);
  }

  /** Move the pieces of the least-filled rows back to pending; returns the rows to emit, in order. */
  private carry(rows: Row[]): Row[] {
    const L = this.opts.seqLen;
    const budget = Math.floor(this.opts.windowSize / 4);
    const order = rows.map((_, i) => i).filter((i) => rows[i]!.used < L);
    order.sort((a, b) => rows[a]!.used - rows[b]!.used || a - b);
    const carried = new Uint8Array(rows.length);
    let n = 0;
    for (const i of order) {
      const row = rows[i]!;
      if (n + row.pieces.length > budget) break;
      n += row.pieces.length;
      carried[i] = 1;
      for (const p of row.pieces) this.pending.push(ownedPiece(p));
    }
    return rows.filter((_, i) => carried[i] === 0);
  }
}

/** Documents the planner copied: their pieces are carried again as they are. */
const copies = new WeakSet<TokenizedDoc>();

/**
 * A carried piece on its own copy of its tokens (plus the next one: the label of its last token), so
 * a short leftover that waits several windows does not keep the caller's whole array alive: the
 * pipeline hands documents over as views into one buffer per chunk of hundreds of documents.
 * Positions count from the piece's start, so re-basing it changes no batch.
 */
function ownedPiece(p: Piece): Piece {
  if (copies.has(p.doc)) return p;
  const end = Math.min(p.start + p.len + 1, p.doc.ids.length);
  const ids = p.doc.ids.slice(p.start, end);
  const mask = p.doc.lossMask;
  const doc: TokenizedDoc = mask === undefined ? { ids } : { ids, lossMask: mask.slice(p.start, end) };
  copies.add(doc);
  return { doc, start: 0, len: p.len };
}
