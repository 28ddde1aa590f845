/**
 * Copies of typed arrays on a SharedArrayBuffer: how a tokenizer's read-only tables are handed to
 * worker threads once, instead of every worker rebuilding them (see `Tokenizer.shareTables`).
 */
type IntArray = Uint8Array | Uint16Array | Int32Array | Uint32Array;

/** A copy of `a` backed by a SharedArrayBuffer (`a` itself when it already is). */
export function sharedCopy<T extends IntArray>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const ctor = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const copy = new ctor(new SharedArrayBuffer(a.byteLength));
  copy.set(a as never);
  return copy;
}
