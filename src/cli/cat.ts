/**
 * `tokpack cat SOURCE... [--field F | --template T] [--rank R --world-size W] [--shuffle-seed S]
 * [--skip-bad]`: prints one JSON value per document in stream order — the selected text (or null),
 * or, without --field/--template, a chat document's messages / a prompt-completion pair. The quickest
 * way to see what the loader will feed.
 */
import { UsageError } from "../errors.js";
import { createLoader } from "../../loaders/index.js";
import type { Document, LoaderOptions } from "../../loaders/index.js";
import { boolFlag, parseFlags, stringFlag } from "./args.js";

const USAGE = `Usage: tokpack cat SOURCE... [options]

SOURCE is a file, folder, glob, http(s) URL, zip:archive.zip!/glob or a .manifest file
(.jsonl, .json, .parquet; .gz/.zst compressed jsonl).

Options:
  --field F             print field F (dotted paths reach into objects); default: text
  --template T          join fields, e.g. '{question}\\n\\n{answer}' (\\n, \\t escapes understood)
  --rank R              this rank (with --world-size)
  --world-size W        number of ranks sharing the data
  --shuffle-seed S      shuffle shard order and documents (buffer of --shuffle-buffer, default 1000)
  --shuffle-buffer N    shuffle buffer size
  --epochs N            passes over the data (default 1)
  --limit N             stop after N documents
  --format F            jsonl | json | parquet (default: from the file name)
  --skip-bad            skip malformed records and report how many at the end`;

const FLAGS = {
  field: { type: "string" },
  template: { type: "string" },
  rank: { type: "string" },
  "world-size": { type: "string" },
  "shuffle-seed": { type: "string" },
  "shuffle-buffer": { type: "string" },
  epochs: { type: "string" },
  limit: { type: "string" },
  format: { type: "string" },
  "skip-bad": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function intFlag(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`cat: --${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** `\n`, `\t`, `\\` in a template typed on a shell command line. */
function unescape(t: string): string {
  return t.replace(/\\([nt\\])/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : "\\"));
}

/** The printed value of a document. */
function valueOf(d: Document, forceText: boolean): unknown {
  if (forceText || d.text !== undefined) return d.text ?? null;
  if (d.messages) return d.messages;
  if (d.prompt !== undefined) return { prompt: d.prompt, completion: d.completion };
  return null;
}

/** Builds loader options from the parsed flags. */
function optionsFrom(argv: string[]): { opts: LoaderOptions; limit: number; forceText: boolean } | "help" {
  const args = parseFlags("cat", argv, FLAGS, Infinity);
  if (boolFlag(args, "help")) return "help";
  if (args.positionals.length === 0) throw new UsageError("cat: give at least one SOURCE");
  const field = stringFlag("cat", args, "field");
  const template = stringFlag("cat", args, "template");
  if (field !== undefined && template !== undefined) throw new UsageError("cat: use --field or --template, not both");
  const rank = intFlag("rank", stringFlag("cat", args, "rank"), 0);
  const worldSize = intFlag("world-size", stringFlag("cat", args, "world-size"), 1);
  if ((rank === undefined) !== (worldSize === undefined)) throw new UsageError("cat: --rank and --world-size go together");
  if (rank !== undefined && worldSize !== undefined && rank >= worldSize) throw new UsageError(`cat: --rank ${rank} must be below --world-size ${worldSize}`);
  const seedText = stringFlag("cat", args, "shuffle-seed");
  const format = stringFlag("cat", args, "format");
  if (format !== undefined && format !== "jsonl" && format !== "json" && format !== "parquet") throw new UsageError(`cat: --format must be jsonl, json or parquet, got "${format}"`);
  const buffer = intFlag("shuffle-buffer", stringFlag("cat", args, "shuffle-buffer"), 0);
  const epochs = intFlag("epochs", stringFlag("cat", args, "epochs"), 1);
  const opts: LoaderOptions = {
    sources: args.positionals,
    document: { ...(field !== undefined ? { field } : {}), ...(template !== undefined ? { template: unescape(template) } : {}), onNull: "keep" },
    skipBad: boolFlag(args, "skip-bad"),
    ...(rank !== undefined && worldSize !== undefined ? { rank, worldSize } : {}),
    ...(seedText !== undefined ? { shuffleSeed: /^-?\d+$/.test(seedText) ? Number(seedText) : seedText } : {}),
    ...(buffer !== undefined ? { shuffleBuffer: buffer } : {}),
    ...(epochs !== undefined ? { epochs } : {}),
    ...(format !== undefined ? { format } : {}),
  };
  return { opts, limit: intFlag("limit", stringFlag("cat", args, "limit"), 0) ?? Infinity, forceText: field !== undefined || template !== undefined };
}

/** Writes to stdout in 64 KiB batches, waiting for the pipe to drain (backpressure). */
async function write(s: string): Promise<void> {
  if (!process.stdout.write(s)) await new Promise<void>((r) => process.stdout.once("drain", r));
}

/** Runs `tokpack cat`; returns the exit status. Loader errors propagate as `TokpackError`s. */
export async function runCat(argv: string[]): Promise<number> {
  const parsed = optionsFrom(argv);
  if (parsed === "help") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const loader = createLoader(parsed.opts);
  let out = "";
  let n = 0;
  try {
    while (n < parsed.limit) {
      const r = await loader.next();
      if (r.done) break;
      n++;
      out += JSON.stringify(valueOf(r.value, parsed.forceText)) + "\n";
      if (out.length >= 65536) {
        await write(out);
        out = "";
      }
    }
    if (out) await write(out);
  } finally {
    await loader.close();
  }
  const skipped = loader.stats().skippedBad;
  if (skipped > 0) process.stderr.write(`tokpack cat: skipped ${skipped} malformed record${skipped === 1 ? "" : "s"}\n`);
  return 0;
}
