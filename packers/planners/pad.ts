/** `pad`: one piece per row, the rest of the row is padding. The baseline every packer is compared to. */
import { PackOptionsError } from "../../src/errors.js";
import type { Piece } from "../pieces.js";
import type { PlannerState, Row, RowPlanner } from "./row.js";

export class PadPlanner implements RowPlanner {
  readonly splitDocs = 0;

  add(piece: Piece, out: Row[]): void {
    out.push({ pieces: [piece], used: piece.len });
  }

  finish(_out: Row[]): void {}

  save(): PlannerState {
    return { pieces: [], splitDocs: 0, windows: 0 };
  }

  load(state: PlannerState): void {
    if (state.pieces.length > 0) {
      throw new PackOptionsError(`snapshot: pad holds no pieces between calls, this snapshot has ${state.pieces.length}`, { field: "planner.pieces" });
    }
  }
}
