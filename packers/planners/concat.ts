/**
 * `concat`: documents end to end, each row filled to exactly `seqLen` tokens; a document that reaches
 * the end of a row continues at the start of the next one (as in pretraining). Only the last row pads.
 */
import { PackOptionsError } from "../../src/errors.js";
import type { Piece } from "../pieces.js";
import type { PlannerState, Row, RowPlanner } from "./row.js";

export class ConcatPlanner implements RowPlanner {
  splitDocs = 0;
  private row: Row = { pieces: [], used: 0 };

  constructor(private readonly seqLen: number) {}

  add(piece: Piece, out: Row[]): void {
    let start = piece.start;
    const end = piece.start + piece.len;
    if (piece.len > this.seqLen - this.row.used) this.splitDocs++;
    while (start < end) {
      const take = Math.min(end - start, this.seqLen - this.row.used);
      this.row.pieces.push({ doc: piece.doc, start, len: take });
      this.row.used += take;
      start += take;
      if (this.row.used === this.seqLen) {
        out.push(this.row);
        this.row = { pieces: [], used: 0 };
      }
    }
  }

  finish(out: Row[]): void {
    if (this.row.used > 0) out.push(this.row);
    this.row = { pieces: [], used: 0 };
  }

  save(): PlannerState {
    return { pieces: this.row.pieces.slice(), splitDocs: this.splitDocs, windows: 0 };
  }

  load(state: PlannerState): void {
    let used = 0;
    for (const p of state.pieces) used += p.len;
    // A row that reached seqLen would already have been emitted.
    if (used >= this.seqLen) {
      throw new PackOptionsError(`snapshot: concat's open row holds ${used} tokens, must be under seqLen ${this.seqLen}`, { field: "planner.pieces" });
    }
    this.row = { pieces: state.pieces.slice(), used };
    this.splitDocs = state.splitDocs;
  }
}
