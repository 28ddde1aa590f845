/**
 * Errors crossing the worker boundary. Structured clone keeps only `Error`'s message, so a worker
 * would turn an `InputFormatError` naming file:line into a plain Error; instead the worker sends the
 * fields and the main thread rebuilds an instance of the same class (same `code`, `context`, extras).
 */
import * as errors from "../errors.js";

/** A cloneable description of an error thrown in a worker. */
export interface RemoteError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  context?: errors.ErrorContext;
  /** Class-specific fields (`available`, `attempts`). */
  extra?: Record<string, unknown>;
}

const EXTRA_FIELDS = ["available", "attempts"] as const;

/** Describe `err` for the trip back to the main thread. */
export function toRemoteError(err: unknown): RemoteError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const r: RemoteError = { name: err.name, message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) };
  if (err instanceof errors.TokpackError) {
    r.code = err.code;
    r.context = err.context;
    const extra: Record<string, unknown> = {};
    for (const k of EXTRA_FIELDS) if (k in err) extra[k] = (err as unknown as Record<string, unknown>)[k];
    r.extra = extra;
  }
  return r;
}

/** The error again, as an instance of its tokpack class when it had one. */
export function fromRemoteError(r: RemoteError): Error {
  const ctor = (errors as Record<string, unknown>)[r.name];
  const proto = typeof ctor === "function" && ctor.prototype instanceof errors.TokpackError ? (ctor.prototype as object) : r.code !== undefined ? errors.TokpackError.prototype : Error.prototype;
  const e = Object.create(proto) as Error & Record<string, unknown>;
  Object.defineProperties(e, {
    message: { value: r.message, writable: true, configurable: true },
    name: { value: r.name, writable: true, configurable: true },
    stack: { value: `${r.stack ?? `${r.name}: ${r.message}`}\n    (thrown in a tokenizer worker thread)`, writable: true, configurable: true },
  });
  if (r.code !== undefined) e["code"] = r.code;
  if (r.context !== undefined) e["context"] = r.context;
  if (r.extra) for (const [k, v] of Object.entries(r.extra)) e[k] = v;
  return e;
}
