/**
 * `tokpack cat SOURCE... [--field F | --template T] [--rank R --world-size W] [--shuffle-seed S]
 * [--skip-bad]`: prints one JSON value per document in stream order — the selected text (or null),
 * or, without --field/--template, a chat document's messages / a prompt-completion pair. The quickest
 * way to see what the loader will feed.
 */
import { UsageError } from "../errors.js";
import { createLoader } from "../../loaders/index.js";
import type { Document, LoaderOptions } from "../../loaders/index.js";
import { boolFlag, intFlag, parseFlags } from "./args.js";
import { LOADER_FLAGS, LOADER_USAGE, loaderOptionsFrom } from "./loader-flags.js";

const USAGE = `Usage: tokpack cat SOURCE... [options]

SOURCE is a file, folder, glob, http(s) URL, zip:archive.zip!/glob or a .manifest file
(.jsonl, .json, .parquet; .gz/.zst compressed jsonl).

Options:
${LOADER_USAGE}
  --limit N             stop after N documents`;

const FLAGS = {
  ...LOADER_FLAGS,
  limit: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

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
  const loader = loaderOptionsFrom("cat", args);
  const opts: LoaderOptions = { ...loader, sources: args.positionals, document: { ...loader.document, onNull: "keep" } };
  const forceText = loader.document?.field !== undefined || loader.document?.template !== undefined;
  return { opts, limit: intFlag("cat", args, "limit", 0) ?? Infinity, forceText };
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
