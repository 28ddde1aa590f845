/**
 * One place for every error tokpack throws. Each class has a stable `code`, structured context
 * fields, and a message that names the file / line / row / field and says what to do.
 */

/** Where in the input something went wrong. Every field is optional; set what is known. */
export interface ErrorContext {
  /** File path, URL or archive entry. */
  file?: string;
  /** 1-based line number (JSONL, rank files, merges). */
  line?: number;
  /** 0-based row index (parquet, JSON arrays). */
  row?: number;
  /** Field or column name. */
  field?: string;
  /** Byte offset in the file or stream. */
  offset?: number;
  /** URL of a remote source. */
  url?: string;
  /** HTTP status. */
  status?: number;
}

function where(ctx: ErrorContext): string {
  const parts: string[] = [];
  if (ctx.url !== undefined) parts.push(ctx.url);
  else if (ctx.file !== undefined) parts.push(ctx.file);
  if (ctx.line !== undefined) parts.push(`line ${ctx.line}`);
  if (ctx.row !== undefined) parts.push(`row ${ctx.row}`);
  if (ctx.field !== undefined) parts.push(`field "${ctx.field}"`);
  if (ctx.offset !== undefined) parts.push(`byte offset ${ctx.offset}`);
  if (ctx.status !== undefined) parts.push(`HTTP ${ctx.status}`);
  return parts.join(", ");
}

/** Base class: `code` is stable across versions, `context` carries structured location data. */
export class TokpackError extends Error {
  readonly code: string;
  readonly context: ErrorContext;

  constructor(code: string, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    const loc = where(context);
    super(loc ? `${loc}: ${message}` : message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }

  get file(): string | undefined {
    return this.context.file;
  }
}

/** A tokenizer spec could not be resolved (unknown name, missing file, missing package). */
export class TokenizerSpecError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super("ERR_TOKENIZER_SPEC", message, context, options);
  }
}

/** A vocab / rank / tokenizer.json file exists but its content is invalid or unsupported. */
export class VocabFormatError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super("ERR_VOCAB_FORMAT", message, context, options);
  }
}

/** Input data (a document, a record, a file) is malformed. */
export class InputFormatError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super("ERR_INPUT_FORMAT", message, context, options);
  }
}

/** A command-line usage problem; the CLI prints the message and exits with status 2. */
export class UsageError extends TokpackError {
  constructor(message: string) {
    super("ERR_USAGE", message);
  }
}

/**
 * A data source could not be read: missing file, unreadable archive, truncated gzip/zstd/zip stream
 * (the context names the file and the byte offset where the data ended).
 */
export class SourceError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super("ERR_SOURCE", message, context, options);
  }
}

/**
 * An HTTP(S) source failed: 4xx answers fail at once, 5xx / resets / timeouts after `attempts` tries.
 * `context.url` and `context.status` (when an answer came) say where.
 */
export class HttpError extends TokpackError {
  /** How many requests were made before giving up. */
  readonly attempts: number;

  constructor(message: string, context: ErrorContext, attempts: number, options?: { cause?: unknown }) {
    super("ERR_HTTP", message, context, options);
    this.attempts = attempts;
  }
}

/** A record lacks the selected field; `available` lists the fields it does have. */
export class MissingFieldError extends TokpackError {
  /** Field names present in the record, in record order. */
  readonly available: readonly string[];

  constructor(message: string, context: ErrorContext, available: readonly string[]) {
    super("ERR_MISSING_FIELD", message, context);
    this.available = available;
  }
}

/** A loader `state()` snapshot does not fit the loader it was given to (other sources, seed or shape). */
export class LoaderStateError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}) {
    super("ERR_LOADER_STATE", message, context);
  }
}

/** Packer options are invalid (non-positive sizes, unknown algorithm or policy, push after finish). */
export class PackOptionsError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super("ERR_PACK_OPTIONS", message, context, options);
  }
}

/** A chat template is missing, fails to render, or renders message content in a way that cannot be masked. */
export class ChatTemplateError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super("ERR_CHAT_TEMPLATE", message, context, options);
  }
}

/**
 * An output dataset on disk (Megatron `.bin`/`.idx`, packed `.npy` rows, `manifest.json`, a resume
 * checkpoint) is missing, incomplete or does not match what was asked (`context.file` names it).
 */
export class DatasetFormatError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super("ERR_DATASET_FORMAT", message, context, options);
  }
}

/** Pipeline options or a pipeline `state()` snapshot are invalid or do not fit each other. */
export class PipelineError extends TokpackError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super("ERR_PIPELINE", message, context, options);
  }
}
