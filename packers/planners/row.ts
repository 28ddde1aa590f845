/** The planners' common shape: pieces in, complete rows out. */
import type { Piece } from "../pieces.js";

/** One planned row: its pieces in placement order and how many tokens they use. */
export interface Row {
  pieces: Piece[];
  used: number;
}

/** What a planner holds between calls; enough to continue exactly (see `Packer.snapshot`). */
export interface PlannerState {
  /** Pieces not yet in an emitted row, in order: concat's open row, bfd/ffd's pending window. */
  pieces: Piece[];
  /** Documents the planner split across rows itself (concat). */
  splitDocs: number;
  /** Windows packed so far (bfd/ffd): window w is shuffled with `seed + w`. */
  windows: number;
}

/** Places pieces into rows of `seqLen` tokens. */
export interface RowPlanner {
  /** Accept one piece; push any rows that are now final onto `out`. */
  add(piece: Piece, out: Row[]): void;
  /** End of input: push every remaining row onto `out`. */
  finish(out: Row[]): void;
  /** Documents the planner split across rows itself (concat); 0 for the others. */
  readonly splitDocs: number;
  /** The state to save; the pieces array is a copy, the pieces themselves are shared. */
  save(): PlannerState;
  /** Replace the state with a saved one (a fresh planner with the same options). Throws on a state it cannot hold. */
  load(state: PlannerState): void;
}
