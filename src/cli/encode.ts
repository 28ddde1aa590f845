/**
 * `tokpack encode`: JSONL (or plain lines) in, one JSON array of ids per document out, in input order.
 *
 * Streaming end to end: `node:readline` over a file or stdin stream (lines of any length), one
 * reused `Uint32Array` for the ids (grown only when a document needs more room), and output written
 * in ~64 KiB chunks with backpressure. No `number[]` is built per document: each line of output is
 * `"[" + ids.join(",") + "]"` over the typed array.
 */
import { once } from "node:events";
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { InputFormatError, MissingFieldError, SourceError, UsageError } from "../errors.js";
import { loadTokenizer } from "../tokenizers/load.js";
import type { EncodeOptions, Tokenizer } from "../tokenizers/types.js";
import { boolFlag, parseFlags, stringFlag } from "./args.js";

/** Help text of `tokpack encode`. */
export const ENCODE_USAGE = `Usage: tokpack encode --tokenizer SPEC [--field NAME] [--lines] [--no-special] [FILE|-]

Reads JSONL (one object per line; the text is in --field, default "text") or, with --lines, plain
text lines, from FILE or stdin ("-" or no FILE), and prints one JSON array of token ids per document,
in input order.

  --tokenizer, -t SPEC  built-in name (cl100k_base, o200k_base, gpt2, bert-base-uncased, ...),
                        a .tiktoken rank file or a HuggingFace tokenizer.json
  --field, -f NAME      JSONL field holding the text (default "text")
  --lines               every input line is one document (no JSON parsing)
  --no-special          do not add the post-processor's special tokens ([CLS]/[SEP], <s>, ...)

Defaults follow the reference libraries' default call: tiktoken encodings encode like
encode_ordinary (special-token strings are plain text); tokenizer.json files encode like HF
tokenizers' encode(text), post-processor specials included.`;

/** Where documents come from and how a line becomes one. */
export interface DocumentSourceOptions {
  /** A file path, or "-" for `stdin`. */
  input: string;
  /** JSONL field holding the text. @default "text" */
  field?: string;
  /** Each line is a document, not JSON. @default false */
  lines?: boolean;
  /** Stream read for "-". @default process.stdin */
  stdin?: Readable;
}

/** One document and where it came from (1-based line). */
export interface SourceDocument {
  text: string;
  file: string;
  line: number;
}

/** Label used for stdin in error messages. */
export const STDIN_LABEL = "<stdin>";

/**
 * Stream the documents of a JSONL or plain-text file. JSONL blank lines are skipped; in `lines` mode
 * every line (blank ones included) is a document. Errors name the file and 1-based line.
 */
export async function* readDocuments(opts: DocumentSourceOptions): AsyncGenerator<SourceDocument> {
  const field = opts.field ?? "text";
  const fromStdin = opts.input === "-";
  const file = fromStdin ? STDIN_LABEL : opts.input;
  const stream = fromStdin ? (opts.stdin ?? process.stdin) : openFile(opts.input);
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (let raw of rl) {
      line++;
      if (line === 1 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
      if (opts.lines === true) {
        yield { text: raw, file, line };
        continue;
      }
      if (isBlank(raw)) continue;
      yield { text: textOf(raw, field, file, line), file, line };
    }
  } finally {
    rl.close();
    if (!fromStdin) stream.destroy();
  }
}

function openFile(path: string): Readable {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SourceError(code === "ENOENT" ? "no such file" : `cannot read (${code ?? String(err)})`, { file: path }, { cause: err });
  }
  if (isDir) throw new SourceError("is a directory; pass a JSONL file (or - for stdin)", { file: path });
  return createReadStream(path, { highWaterMark: 1 << 16 });
}

function isBlank(s: string): boolean {
  if (s.length === 0) return true;
  const c = s.charCodeAt(0);
  // Only lines that start with whitespace can be blank: skip the regex for the common case.
  return (c === 0x20 || c === 0x09 || c === 0x0d) && /^\s*$/.test(s);
}

/** The text field of one JSONL line, or an error naming file, line and what is wrong. */
function textOf(raw: string, field: string, file: string, line: number): string {
  let record: unknown;
  try {
    record = JSON.parse(raw);
  } catch (err) {
    throw new InputFormatError(`not valid JSON (${(err as Error).message}); use --lines for plain text input`, {
      file,
      line,
    });
  }
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    const kind = record === null ? "null" : Array.isArray(record) ? "an array" : `a ${typeof record}`;
    throw new InputFormatError(`expected a JSON object per line, got ${kind}`, { file, line });
  }
  const obj = record as Record<string, unknown>;
  if (!Object.hasOwn(obj, field)) {
    const keys = Object.keys(obj);
    const list = keys.length > 0 ? keys.map((k) => JSON.stringify(k)).join(", ") : "(none)";
    throw new MissingFieldError(`no field "${field}"; the record has fields: ${list} (choose one with --field)`, {
      file,
      line,
    }, keys);
  }
  const value = obj[field];
  if (typeof value !== "string") {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    throw new InputFormatError(`is ${kind}, expected a string`, { file, line, field });
  }
  return value;
}

/**
 * Encodes into one reused `Uint32Array`. It starts at `text.length + 16` (enough for nearly every
 * text: a token covers at least one UTF-16 unit on real data) and grows to what the tokenizer's
 * `RangeError` asks for, at most `3 * text.length + 16` (every UTF-8 byte a token, plus specials).
 */
export class IdScratch {
  private buf = new Uint32Array(1024);

  /** Ids of `text`; a view into the scratch buffer, valid until the next call. */
  encode(tok: Tokenizer, text: string, options?: EncodeOptions): Uint32Array {
    const want = text.length + 16;
    if (this.buf.length < want) this.buf = new Uint32Array(Math.max(want, this.buf.length * 2));
    for (;;) {
      try {
        return this.buf.subarray(0, tok.encodeInto(text, this.buf, 0, options));
      } catch (err) {
        const next = this.neededSize(err, text);
        if (next === undefined) throw err;
        this.buf = new Uint32Array(next);
      }
    }
  }

  /** The size to retry with after `err`, or undefined when `err` is not an out-of-room RangeError. */
  private neededSize(err: unknown, text: string): number | undefined {
    if (!(err instanceof RangeError)) return undefined;
    const m = /at least (\d+)/.exec(err.message);
    if (m?.[1] !== undefined) {
      const n = Number(m[1]);
      return n > this.buf.length ? n : undefined;
    }
    const bound = 3 * text.length + 16;
    return this.buf.length < bound ? bound : undefined;
  }
}

/** Buffers output lines and writes them in ~64 KiB chunks, waiting for `drain` when asked to. */
export class ChunkWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly out: Writable) {}

  /** Queue one line (a newline is appended); flushes when the buffer is full. */
  async line(s: string): Promise<void> {
    this.parts.push(s);
    this.size += s.length + 1;
    if (this.size >= 1 << 16) await this.flush();
  }

  /** Write everything queued. */
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join("\n") + "\n";
    this.parts = [];
    this.size = 0;
    if (!this.out.write(chunk)) await once(this.out, "drain");
  }
}

/** Format ids as a JSON array without an intermediate `number[]`. */
export function idsToJson(ids: Uint32Array): string {
  return `[${ids.join(",")}]`;
}

/** `tokpack encode ARGS`: returns the exit status. */
export async function runEncode(argv: string[], out: Writable = process.stdout): Promise<number> {
  const args = parseFlags(
    "encode",
    argv,
    {
      tokenizer: { type: "string", short: "t" },
      field: { type: "string", short: "f" },
      lines: { type: "boolean" },
      "no-special": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    1,
  );
  if (boolFlag(args, "help")) {
    out.write(ENCODE_USAGE + "\n");
    return 0;
  }
  const spec = stringFlag("encode", args, "tokenizer", true);
  const field = stringFlag("encode", args, "field");
  const lines = boolFlag(args, "lines");
  if (lines && field !== undefined) throw new UsageError("encode: --field and --lines exclude each other");
  const options: EncodeOptions | undefined = boolFlag(args, "no-special") ? { addSpecialTokens: false } : undefined;

  const tok = await loadTokenizer(spec);
  const scratch = new IdScratch();
  const writer = new ChunkWriter(out);
  const input = args.positionals[0] ?? "-";
  const docs = readDocuments(field === undefined ? { input, lines } : { input, field, lines });
  try {
    for await (const doc of docs) {
      await writer.line(idsToJson(scratch.encode(tok, doc.text, options)));
    }
  } finally {
    // On a bad line, the documents before it are still printed: the error then names the line.
    await writer.flush();
  }
  return 0;
}
