/**
 * `tokpack encode`: documents in, one JSON array of ids per document out, in input order.
 *
 * Documents come from the loaders, with the loader flags `tokpack cat` takes: files, folders, globs,
 * URLs, `zip:` entries, manifests; JSONL (`.gz`/`.zst`), JSON arrays, parquet; `--field`/`--template`.
 * Stdin ("-") is one JSONL stream read by the loaders' own JSONL reader, so its lines, parsing and
 * errors (file:line) are those of a file. `--lines` is the one path outside the loaders, which have no
 * plain-text format: every line, blank ones included, is a document.
 *
 * Ids go into one reused `Uint32Array` (grown only when a document needs more room), and output is
 * written in ~64 KiB chunks with backpressure. No `number[]` is built per document: each line of
 * output is `"[" + ids.join(",") + "]"` over the typed array.
 */
import { once } from "node:events";
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { InputFormatError, MissingFieldError, SourceError, UsageError } from "../errors.js";
import { encodeIntoGrowable } from "../tokenizers/grow.js";
import { loadTokenizer } from "../tokenizers/load.js";
import type { EncodeOptions, Tokenizer } from "../tokenizers/types.js";
import { createLoader, documentMaker } from "../../loaders/index.js";
import type { ByteSource, DocumentSpec, InputFile, LoaderStats } from "../../loaders/index.js";
import type { Piece } from "../../loaders/plan.js";
import { newCursor, readPiece } from "../../loaders/readers.js";
import { boolFlag, parseFlags, stringFlag, type ParsedArgs } from "./args.js";
import { LOADER_FLAGS, LOADER_USAGE, loaderOptionsFrom } from "./loader-flags.js";

/** Help text of `tokpack encode`. */
export const ENCODE_USAGE = `Usage: tokpack encode --tokenizer SPEC [options] [SOURCE...|-]

Prints one JSON array of token ids per document, in input order. SOURCE is read as by tokpack cat:
a file, folder, glob, http(s) URL, zip:archive.zip!/glob or .manifest (.jsonl, .json, .parquet;
.gz/.zst compressed jsonl); the text is the "text" field unless --field or --template says otherwise.
"-" or no SOURCE reads JSONL from stdin. With --lines, every line of each FILE (or of stdin), blank
lines included, is one document.

  --tokenizer, -t SPEC  built-in name (cl100k_base, o200k_base, gpt2, bert-base-uncased, ...),
                        a .tiktoken rank file or a HuggingFace tokenizer.json
  --lines               plain text: one document per line, from FILE... or - (no loader options)
  --no-special          do not add the post-processor's special tokens ([CLS]/[SEP], <s>, ...)
  --allowed-special S   special-token strings in the text that become special tokens: all, none or
                        a comma list such as '<|endoftext|>,<|fim_prefix|>' (default none)
Loader options, as tokpack cat (-f is short for --field; stdin takes only --field, --template, --skip-bad):
${LOADER_USAGE}

Defaults follow the reference libraries' default call: tiktoken encodings encode like
encode_ordinary (special-token strings are plain text; --allowed-special all is tiktoken's
encode(text, allowed_special="all")); tokenizer.json files encode like HF tokenizers' encode(text),
post-processor specials included, and always match their added tokens (--allowed-special is ignored).`;

const FLAGS = {
  tokenizer: { type: "string", short: "t" },
  ...LOADER_FLAGS,
  field: { type: "string", short: "f" },
  lines: { type: "boolean" },
  "no-special": { type: "boolean" },
  "allowed-special": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Loader flags that make sense on stdin (a single JSONL stream read once, in order). */
const STDIN_LOADER_FLAGS = new Set(["field", "template", "skip-bad"]);

/** Label used for stdin in error messages. */
export const STDIN_LABEL = "<stdin>";

/** Where the documents come from, as the command line says. */
type Input = { kind: "loader"; sources: string[] } | { kind: "stdin" } | { kind: "lines"; files: string[] };

/** Validates the source arguments against --lines and the loader flags. */
function inputOf(args: ParsedArgs): Input {
  const given = Object.keys(LOADER_FLAGS).filter((k) => args.flags[k] !== undefined);
  const positionals = args.positionals.length > 0 ? args.positionals : ["-"];
  if (positionals.length > 1 && positionals.includes("-")) throw new UsageError('encode: "-" (stdin) cannot be combined with other sources');
  if (boolFlag(args, "lines")) {
    if (given.length > 0) throw new UsageError(`encode: --lines and --${given[0]} exclude each other (--lines reads plain text, not records)`);
    return { kind: "lines", files: positionals };
  }
  if (positionals[0] !== "-") return { kind: "loader", sources: positionals };
  const bad = given.find((k) => !STDIN_LOADER_FLAGS.has(k));
  if (bad !== undefined) throw new UsageError(`encode: --${bad} needs file sources; stdin is one JSONL stream, read once, in order`);
  return { kind: "stdin" };
}

/** `--allowed-special all|none|a,b,c`; list entries must be special tokens of `tok`. */
function allowedSpecialOf(args: ParsedArgs, tok: Tokenizer): EncodeOptions["allowedSpecial"] {
  const v = stringFlag("encode", args, "allowed-special");
  if (v === undefined || v === "none") return undefined;
  if (v === "all") return "all";
  const list = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = list.find((s) => !tok.specialTokens.has(s));
  if (unknown !== undefined) {
    const known = [...tok.specialTokens.keys()].slice(0, 12).map((s) => JSON.stringify(s)).join(", ");
    throw new UsageError(`encode: --allowed-special: ${JSON.stringify(unknown)} is not a special token of ${tok.name} (it has: ${known || "none"}); use all, none or a comma list`);
  }
  return list.length > 0 ? list : undefined;
}

/** The text of every document the loader yields (the spec makes every document a string text). */
async function* loaderTexts(sources: string[], args: ParsedArgs, document: DocumentSpec, stats: LoaderStats): AsyncGenerator<string> {
  const opts = loaderOptionsFrom("encode", args);
  const loader = createLoader({ ...opts, sources, document: { ...document, ...opts.document } });
  try {
    for await (const d of loader) yield d.text as string;
  } finally {
    Object.assign(stats, loader.stats());
  }
}

/**
 * The texts of a JSONL stream on stdin, through the loaders' JSONL piece reader (a stream-only byte
 * source as one whole-stream piece) and document maker; `skipBad` counts records as the loader does.
 */
async function* stdinTexts(stdin: Readable, document: DocumentSpec, skipBad: boolean, stats: LoaderStats): AsyncGenerator<string> {
  const src: ByteSource = {
    name: STDIN_LABEL,
    byteLength: Infinity,
    slice: () => Promise.reject(new SourceError("stdin cannot be read at an offset", { file: STDIN_LABEL })),
    stream: () => stdin as AsyncIterable<Uint8Array>,
  };
  const file: InputFile = { name: STDIN_LABEL, format: "jsonl", codec: "none", seekable: false, open: () => Promise.resolve(src) };
  const piece: Piece = { id: 0, file: 0, kind: "lines", start: 0, end: -1, stride: 1, phase: 0, weight: 1 };
  const cur = newCursor();
  const make = documentMaker(document);
  for await (const rec of readPiece(piece, undefined, { file, src, footer: undefined, columns: undefined, skipBad, stats }, cur)) {
    let text: string;
    try {
      text = make(rec, { file: STDIN_LABEL, shard: 0, line: cur.line })!.text as string;
    } catch (err) {
      if (!skipBad || !(err instanceof InputFormatError || err instanceof MissingFieldError)) throw err;
      stats.skippedBad++;
      continue;
    }
    yield text;
  }
}

/** Every line of each file (or stdin for "-"), blank lines included; a UTF-8 BOM opening a file is dropped. */
async function* plainLines(files: string[], stdin: Readable): AsyncGenerator<string> {
  for (const f of files) {
    const stream = f === "-" ? stdin : openFile(f);
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    let first = true;
    try {
      for await (const raw of rl) {
        yield first && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
        first = false;
      }
    } finally {
      rl.close();
      if (f !== "-") stream.destroy();
    }
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
  if (isDir) throw new SourceError("is a directory; --lines reads text files (or - for stdin)", { file: path });
  return createReadStream(path, { highWaterMark: 1 << 16 });
}

/**
 * Encodes into one reused `Uint32Array`. It starts at `text.length + 16` (enough for nearly every
 * text: a token covers at least one UTF-16 unit on real data) and grows when the tokenizer says it
 * needs more room (`encodeIntoGrowable`).
 */
export class IdScratch {
  private buf = new Uint32Array(1024);

  /** Ids of `text`; a view into the scratch buffer, valid until the next call. */
  encode(tok: Tokenizer, text: string, options?: EncodeOptions): Uint32Array {
    const want = text.length + 16;
    if (this.buf.length < want) this.buf = new Uint32Array(Math.max(want, this.buf.length * 2));
    const r = encodeIntoGrowable(tok, text, this.buf, 0, options);
    this.buf = r.buf;
    return r.buf.subarray(0, r.count);
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
export async function runEncode(argv: string[], out: Writable = process.stdout, stdin: Readable = process.stdin): Promise<number> {
  const args = parseFlags("encode", argv, FLAGS, Infinity);
  if (boolFlag(args, "help")) {
    out.write(ENCODE_USAGE + "\n");
    return 0;
  }
  const spec = stringFlag("encode", args, "tokenizer", true);
  const input = inputOf(args);
  const tok = await loadTokenizer(spec);
  const allowedSpecial = allowedSpecialOf(args, tok);
  const options: EncodeOptions = {
    ...(boolFlag(args, "no-special") ? { addSpecialTokens: false } : {}),
    ...(allowedSpecial !== undefined ? { allowedSpecial } : {}),
  };
  // Every document is one text from one field or template; a null value is an error (or, with
  // --skip-bad, a skipped record), never a silently missing output line.
  const document: DocumentSpec = { kind: "text", onNull: "error" };
  const stats: LoaderStats = { docs: 0, skippedBad: 0, skippedNull: 0 };
  const texts =
    input.kind === "lines"
      ? plainLines(input.files, stdin)
      : input.kind === "stdin"
        ? stdinTexts(stdin, { ...document, ...loaderOptionsFrom("encode", args).document }, boolFlag(args, "skip-bad"), stats)
        : loaderTexts(input.sources, args, document, stats);
  const scratch = new IdScratch();
  const writer = new ChunkWriter(out);
  try {
    for await (const text of texts) await writer.line(idsToJson(scratch.encode(tok, text, options)));
  } finally {
    // On a bad record, the documents before it are still printed: the error then names its line.
    await writer.flush();
  }
  const skipped = stats.skippedBad;
  if (skipped > 0) process.stderr.write(`tokpack encode: skipped ${skipped} malformed record${skipped === 1 ? "" : "s"}\n`);
  return 0;
}
