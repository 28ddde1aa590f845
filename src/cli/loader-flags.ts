/**
 * The loader options every command that reads data takes (`tokpack cat`, `tokpack pack`): one
 * declaration, one parser, one help text.
 */
import { UsageError } from "../errors.js";
import type { LoaderOptions } from "../../loaders/index.js";
import { boolFlag, intFlag, stringFlag, type ParsedArgs } from "./args.js";

/** Flag declarations for `parseFlags`. */
export const LOADER_FLAGS = {
  field: { type: "string" },
  template: { type: "string" },
  rank: { type: "string" },
  "world-size": { type: "string" },
  "shuffle-seed": { type: "string" },
  "shuffle-buffer": { type: "string" },
  epochs: { type: "string" },
  format: { type: "string" },
  "skip-bad": { type: "boolean" },
} as const;

/** Help lines for the flags above. */
export const LOADER_USAGE = `  --field F             text from field F (dotted paths reach into objects). Default: a record with
                        messages / conversations is a chat, one with prompt and completion (and no
                        text) a pair, any other its text field
  --template T          join fields, e.g. '{question}\\n\\n{answer}' (\\n, \\t escapes understood)
  --rank R              this rank (with --world-size)
  --world-size W        number of ranks sharing the data
  --shuffle-seed S      shuffle shard order and documents (buffer of --shuffle-buffer, default 1000)
  --shuffle-buffer N    shuffle buffer size
  --epochs N            passes over the data (default 1)
  --format F            jsonl | json | parquet (default: from the file name)
  --skip-bad            skip malformed records and report how many at the end`;

/** `\n`, `\t`, `\\` in a template typed on a shell command line. */
function unescape(t: string): string {
  return t.replace(/\\([nt\\])/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : "\\"));
}

/** Loader options (all but `sources`) from the parsed flags; errors name `command`. */
export function loaderOptionsFrom(command: string, args: ParsedArgs): Omit<LoaderOptions, "sources"> {
  const field = stringFlag(command, args, "field");
  const template = stringFlag(command, args, "template");
  if (field !== undefined && template !== undefined) throw new UsageError(`${command}: use --field or --template, not both`);
  const rank = intFlag(command, args, "rank", 0);
  const worldSize = intFlag(command, args, "world-size", 1);
  if ((rank === undefined) !== (worldSize === undefined)) throw new UsageError(`${command}: --rank and --world-size go together`);
  if (rank !== undefined && worldSize !== undefined && rank >= worldSize) {
    throw new UsageError(`${command}: --rank ${rank} must be below --world-size ${worldSize}`);
  }
  const seed = stringFlag(command, args, "shuffle-seed");
  const format = stringFlag(command, args, "format");
  if (format !== undefined && format !== "jsonl" && format !== "json" && format !== "parquet") {
    throw new UsageError(`${command}: --format must be jsonl, json or parquet, got "${format}"`);
  }
  const buffer = intFlag(command, args, "shuffle-buffer", 0);
  const epochs = intFlag(command, args, "epochs", 1);
  return {
    document: { ...(field !== undefined ? { field } : {}), ...(template !== undefined ? { template: unescape(template) } : {}) },
    ...(boolFlag(args, "skip-bad") ? { skipBad: true } : {}),
    ...(rank !== undefined && worldSize !== undefined ? { rank, worldSize } : {}),
    ...(seed !== undefined ? { shuffleSeed: /^-?\d+$/.test(seed) ? Number(seed) : seed } : {}),
    ...(buffer !== undefined ? { shuffleBuffer: buffer } : {}),
    ...(epochs !== undefined ? { epochs } : {}),
    ...(format !== undefined ? { format } : {}),
  };
}
