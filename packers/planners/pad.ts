/** `pad`: one piece per row, the rest of the row is padding. The baseline every packer is compared to. */
import type { Piece } from "../pieces.js";
import type { Row, RowPlanner } from "./row.js";

export class PadPlanner implements RowPlanner {
  readonly splitDocs = 0;

  add(piece: Piece, out: Row[]): void {
    out.push({ pieces: [piece], used: piece.len });
  }

  finish(_out: Row[]): void {}
}
