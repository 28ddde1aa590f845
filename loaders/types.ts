/**
 * The shapes every loader module shares: the {@link Document} a loader yields, where it came from
 * ({@link SourceRef}), and the one byte-source interface ({@link ByteSource}) that files, HTTP ranges
 * and zip entries all implement, so every format reader works on every transport.
 */

/** One chat turn. `role` is normalized: ShareGPT `human` → `user`, `gpt` → `assistant`. */
export interface Message {
  role: string;
  content: string;
}

/** Where a document came from; travels with the document so later errors and stats can point at it. */
export interface SourceRef {
  /** File path, URL, or `zip:archive.zip!/entry` of the record. */
  file: string;
  /** Index of the shard (piece of the plan) the record was read from; stable for a given source list. */
  shard: number;
  /** 0-based row (parquet, JSON array element). */
  row?: number;
  /** 1-based line (JSONL). */
  line?: number;
}

/**
 * One document. Exactly one shape is filled, depending on the record and the {@link DocumentSpec}:
 * - `text` (default field `text`, `field`, or `template`),
 * - `messages` (from `messages: [{role, content}]` or ShareGPT `conversations: [{from, value}]`),
 * - `prompt` + `completion`.
 * `text` is `null` only when {@link DocumentSpec.onNull} is `"keep"` and the field was null.
 */
export interface Document {
  text?: string | null;
  messages?: Message[];
  prompt?: string;
  completion?: string;
  source: SourceRef;
}

/** How records become documents. */
export interface DocumentSpec {
  /**
   * `auto` picks per record: `messages`/`conversations` → chat, `prompt`+`completion` → pair,
   * else the `text` field. `field` or `template` force text.
   * @default "auto"
   */
  kind?: "auto" | "text" | "chat" | "prompt_completion";
  /** Field holding the text (dotted paths such as `meta.body` reach into objects). @default "text" */
  field?: string;
  /** Template joining fields, e.g. `"{question}\n\n{answer}"`; `{{` and `}}` are literal braces. */
  template?: string;
  /**
   * What a null/absent-by-null text field does: skip the record (counted in stats), keep it as
   * `text: null`, or throw.
   * @default "skip"
   */
  onNull?: "skip" | "keep" | "error";
}

/**
 * Random-access bytes: hyparquet's `AsyncBuffer` shape plus a name for errors and an optional
 * sequential reader. Files, HTTP(S) range requests and zip entries implement it.
 */
export interface ByteSource {
  /** Path, URL or `zip:archive!/entry`, used in every error about this source. */
  readonly name: string;
  /** Total size in bytes. */
  readonly byteLength: number;
  /** Bytes `[start, end)`; `end` defaults to `byteLength`. */
  slice(start: number, end?: number): Promise<ArrayBuffer>;
  /**
   * Sequential chunks of `[start, end)`. Implementations stream (one HTTP GET resumed by range on a
   * cut, a file read stream); see `readSequential` for the generic fallback over `slice`.
   */
  stream?(start: number, end?: number, options?: StreamOptions): AsyncIterable<Uint8Array>;
  /** Release file handles / archives. Idempotent. */
  close?(): Promise<void>;
}

/** Options of {@link ByteSource.stream}. */
export interface StreamOptions {
  /**
   * The consumer is done with a chunk once it asks for the next one (it copies anything it keeps),
   * so the source may read later chunks into the same memory. Sources that cannot reuse ignore it.
   */
  reuseChunks?: boolean;
}

/** A raw record as read from a file, before it becomes a {@link Document}. */
export type RawRecord = Record<string, unknown>;

/** Counters a loader keeps; part of its state so they survive a resume. */
export interface LoaderStats {
  /** Documents yielded. */
  docs: number;
  /** Records skipped because they were malformed (`skipBad`). */
  skippedBad: number;
  /** Records skipped because the text field was null (`onNull: "skip"`). */
  skippedNull: number;
}
