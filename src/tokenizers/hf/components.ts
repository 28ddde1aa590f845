/**
 * The stages of a HuggingFace `tokenizer.json` pipeline, each a one-method interface, in the order
 * `tokenizers` runs them: added-token split → normalizer → pre-tokenizer → model → post-processor;
 * and decoder on the way back. Offsets are not tracked: tokpack only needs ids.
 */
import type { SharedBpe } from "./bpe-model.js";
import type { SharedWordPiece } from "./wordpiece.js";

/** Maps (a segment of) the input to its normalized form. */
export interface Normalizer {
  normalize(text: string): string;
}

/**
 * Splits normalized text into pieces. `split` reads `pieces[0..count)` and returns the new list
 * (it may reuse the array). Each stage of a `Sequence` refines every piece of the previous stage.
 */
export interface PreTokenizer {
  split(pieces: string[]): string[];
}

/** Turns one pre-tokenized piece into ids, written to `out` from `pos`; returns the new position. */
export interface Model {
  readonly vocabSize: number;
  /** Writes the ids of `piece`; throws RangeError("out of space") when `out` is full. */
  encodePiece(piece: string, out: Uint32Array, pos: number): number;
  /**
   * Byte-level BPE: the length of a vocab token's bytes, -1 for ids it has no bytes for; and
   * `copyTokenBytes` writes them to `out` at `at`, returning the end (decoding with no view per token).
   */
  tokenByteLength?(id: number): number;
  copyTokenBytes?(id: number, out: Uint8Array, at: number): number;
  /**
   * `encodePiece(text.slice(start, end), …)` without the slice, for models that can (byte-level
   * BPE); `units` is `text`'s UTF-16 units (`TextUnits.of(text)`).
   */
  encodeSpan?(text: string, units: Uint16Array, start: number, end: number, out: Uint32Array, pos: number): number;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** The unknown token's id, if the model has one. */
  readonly unkId: number | undefined;
  /** Its tables for other threads (BPE and WordPiece models); the model moves onto the shared copies. */
  shareTables?(): SharedModel;
}

/** A model's tables as `Model.shareTables` hands them to other threads. */
export type SharedModel = SharedBpe | SharedWordPiece;

/** Token string → id, from the token strings by id (null: an id the vocab skips). */
export function idsOfTokens(tokens: readonly (string | null)[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (let id = 0; id < tokens.length; id++) {
    const s = tokens[id];
    if (s !== null && s !== undefined) ids.set(s, id);
  }
  return ids;
}

/**
 * Token strings by id as UTF-16 units on SharedArrayBuffers. A worker task carries its tokenizer's
 * shared tables with it; as 32k JS strings they were structured-cloned with every task (milliseconds
 * each, many times per second), as these arrays the clone is a handle.
 */
export interface PackedTokens {
  /** Every token's UTF-16 units, back to back. */
  units: Uint16Array;
  /** Token id → its units `[offsets[id], offsets[id + 1])`. */
  offsets: Int32Array;
  /** 1 where the id has no token (null). */
  missing: Uint8Array;
}

export function packTokens(tokens: readonly (string | null)[]): PackedTokens {
  let total = 0;
  for (const t of tokens) total += t?.length ?? 0;
  const units = new Uint16Array(new SharedArrayBuffer(2 * total));
  const offsets = new Int32Array(new SharedArrayBuffer(4 * (tokens.length + 1)));
  const missing = new Uint8Array(new SharedArrayBuffer(tokens.length));
  let at = 0;
  tokens.forEach((t, id) => {
    offsets[id] = at;
    if (t === null) missing[id] = 1;
    else for (let i = 0; i < t.length; i++) units[at++] = t.charCodeAt(i);
  });
  offsets[tokens.length] = at;
  return { units, offsets, missing };
}

export function unpackTokens(p: PackedTokens): (string | null)[] {
  const n = p.missing.length;
  const out: (string | null)[] = new Array<string | null>(n);
  for (let id = 0; id < n; id++) out[id] = p.missing[id] === 1 ? null : unitsToString(p.units, p.offsets[id]!, p.offsets[id + 1]!);
  return out;
}

/** `units[start, end)` as a string, in slices small enough to pass as arguments. */
function unitsToString(units: Uint16Array, start: number, end: number): string {
  if (end - start <= 4096) return String.fromCharCode(...units.subarray(start, end));
  let s = "";
  for (let at = start; at < end; at += 4096) s += String.fromCharCode(...units.subarray(at, Math.min(end, at + 4096)));
  return s;
}

/** The token strings by id of a vocab map, null where an id has no token. */
export function tokensById(idToToken: readonly (string | undefined)[]): (string | null)[] {
  return Array.from({ length: idToToken.length }, (_, id) => idToToken[id] ?? null);
}

/** Turns the list of token strings back into string chunks (HF `decode_chain`). */
export interface Decoder {
  decodeChain(tokens: string[]): string[];
}

/** Signals that the caller's buffer is full; the tokenizer turns it into a RangeError with sizes. */
export class OutOfSpace extends RangeError {
  constructor() {
    super("out of space");
  }
}

/** Shared check used by every writer of ids: throws OutOfSpace when `pos` is past the buffer. */
export function ensureSpace(out: Uint32Array, pos: number, n: number): void {
  if (pos + n > out.length) throw new OutOfSpace();
}
