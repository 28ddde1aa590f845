/**
 * Step 1 of packing: turn a document into the pieces the planners place, applying the overlong policy.
 * Every token that does not reach a piece is counted here (truncated or dropped), never silently lost.
 */
import { InputFormatError } from "../src/errors.js";
import type { OverlongPolicy, TokenizedDoc } from "./types.js";

/** A contiguous run `[start, start + len)` of one document's tokens; becomes one segment of a row. */
export interface Piece {
  doc: TokenizedDoc;
  start: number;
  len: number;
}

/** Counters the cutting step updates. */
export interface CutCounters {
  docs: number;
  inputTokens: number;
  truncatedTokens: number;
  droppedTokens: number;
  droppedDocs: number;
  overlongDocs: number;
  splitDocs: number;
}

/** Fresh zeroed counters. */
export function newCutCounters(): CutCounters {
  return { docs: 0, inputTokens: 0, truncatedTokens: 0, droppedTokens: 0, droppedDocs: 0, overlongDocs: 0, splitDocs: 0 };
}

/** Throws when a document's loss mask does not line up with its ids. */
export function checkDoc(doc: TokenizedDoc, index: number): void {
  if (!(doc.ids instanceof Uint32Array)) {
    throw new InputFormatError(`document ${index}: ids must be a Uint32Array, got ${Object.prototype.toString.call(doc.ids)}`, { row: index });
  }
  if (doc.lossMask !== undefined && doc.lossMask.length !== doc.ids.length) {
    throw new InputFormatError(
      `document ${index}: lossMask has ${doc.lossMask.length} entries but ids has ${doc.ids.length}; they must be the same length`,
      { row: index, field: "lossMask" },
    );
  }
}

/**
 * Cut `doc` into pieces of at most `seqLen` tokens (`chunk` = true) or keep it whole (`chunk` = false,
 * for concat, which splits at row boundaries itself). Empty documents are dropped and counted.
 */
export function cutDocument(
  doc: TokenizedDoc,
  seqLen: number,
  policy: OverlongPolicy,
  chunk: boolean,
  counters: CutCounters,
  out: Piece[],
): void {
  const n = doc.ids.length;
  counters.docs++;
  counters.inputTokens += n;
  if (n === 0) {
    counters.droppedDocs++;
    return;
  }
  if (n <= seqLen) {
    out.push({ doc, start: 0, len: n });
    return;
  }
  counters.overlongDocs++;
  if (policy === "drop") {
    counters.droppedDocs++;
    counters.droppedTokens += n;
    return;
  }
  if (policy === "truncate") {
    counters.truncatedTokens += n - seqLen;
    out.push({ doc, start: 0, len: seqLen });
    return;
  }
  if (!chunk) {
    out.push({ doc, start: 0, len: n });
    return;
  }
  counters.splitDocs++;
  for (let start = 0; start < n; start += seqLen) out.push({ doc, start, len: Math.min(seqLen, n - start) });
}
