#!/usr/bin/env node
/**
 * The `tokpack` command: dispatches to one subcommand module, loaded on demand so `tokpack encode`
 * never pays for what `tokpack demo` imports. Exit status: 0 ok, 1 a `TokpackError` (its message on
 * stderr; the stack only with TOKPACK_DEBUG=1), 2 a usage error.
 */
import { readFileSync } from "node:fs";
import { TokpackError, UsageError } from "../errors.js";

/** Top-level help text. */
const USAGE = `Usage: tokpack <command> [options]

Commands:
  encode   SOURCE...|- --tokenizer SPEC [--field F | --template T] [--lines] [--no-special]
           [--allowed-special all|none|LIST] ...
           print one JSON array of token ids per document (or text line; tokpack encode --help)
  inspect  --tokenizer SPEC [--no-special] [--table] TEXT|-
           show token boundaries, ids, count and the decode round-trip check
  cat      SOURCE... [--field F | --template T] [--limit N] ...
           print the documents a loader reads (tokpack cat --help for all options)
  pack     SOURCE... --tokenizer SPEC --out DIR [--seq-len L --packing P --workers N ...]
           tokenize and pack to disk: Megatron .bin/.idx, .npy rows, manifest.json
  merge    DIR... --out DIR
           join per-rank pack outputs into one indexed dataset
  cache    [--clear]
           show (or empty) the on-disk cache of built tokenizer tables
  demo     [FILE.jsonl ...]
           encode the bundled examples/data/*.jsonl with cl100k_base and print a summary

Options:
  -h, --help     show help (also: tokpack <command> --help)
  -v, --version  print the version

SPEC is a built-in name (cl100k_base, o200k_base, p50k_base, r50k_base, gpt2, bert-base-uncased,
llama-2, llama-3, ... when their @lenml/tokenizer-* package is installed), a .tiktoken rank file
or a HuggingFace tokenizer.json. Set TOKPACK_DEBUG=1 to see stack traces.`;

type Command = (argv: string[]) => Promise<number>;

/** Subcommands, each imported only when it runs. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  encode: async () => (await import("./encode.js")).runEncode,
  inspect: async () => (await import("./inspect.js")).runInspect,
  cat: async () => (await import("./cat.js")).runCat,
  demo: async () => (await import("./demo.js")).runDemo,
  pack: async () => (await import("./pack.js")).runPack,
  merge: async () => (await import("./merge.js")).runMerge,
  cache: async () => (await import("./cache.js")).runCache,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Run the CLI on `argv` (without `node` and the script); returns the exit status. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    (command === undefined ? process.stderr : process.stdout).write(USAGE + "\n");
    return command === undefined ? 2 : 0;
  }
  if (command === "-v" || command === "--version") {
    process.stdout.write(version() + "\n");
    return 0;
  }
  const load = COMMANDS[command];
  if (load === undefined) throw new UsageError(`unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(", ")})`);
  return (await load())(rest);
}

/** Print an error the way users should see it, and return the exit status it maps to. */
function report(err: unknown): number {
  const debug = process.env["TOKPACK_DEBUG"] === "1";
  if ((err as NodeJS.ErrnoException | undefined)?.code === "EPIPE") return 0; // `tokpack encode ... | head`
  if (err instanceof UsageError) {
    process.stderr.write(`tokpack: ${err.message}\nRun "tokpack --help" for usage.\n`);
    return 2;
  }
  if (err instanceof TokpackError) {
    process.stderr.write(`tokpack: ${debug && err.stack !== undefined ? err.stack : err.message}\n`);
    return 1;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`tokpack: ${debug && e.stack !== undefined ? e.stack : `${e.name}: ${e.message}`}\n`);
  return 1;
}

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
