/** The planners' common shape: pieces in, complete rows out. */
import type { Piece } from "../pieces.js";

/** One planned row: its pieces in placement order and how many tokens they use. */
export interface Row {
  pieces: Piece[];
  used: number;
}

/** Places pieces into rows of `seqLen` tokens. */
export interface RowPlanner {
  /** Accept one piece; push any rows that are now final onto `out`. */
  add(piece: Piece, out: Row[]): void;
  /** End of input: push every remaining row onto `out`. */
  finish(out: Row[]): void;
  /** Documents the planner split across rows itself (concat); 0 for the others. */
  readonly splitDocs: number;
}
