/**
 * `tokpack cache`: where the tokenizer table cache is, what it holds, and `--clear` to empty it
 * (entries are never evicted; see `src/tokenizers/table-cache.ts`).
 */
import { clearTableCache, tableCacheEntries } from "../tokenizers/table-cache.js";
import { boolFlag, parseFlags } from "./args.js";

/** Help text of `tokpack cache`. */
export const CACHE_USAGE = `Usage: tokpack cache [--clear]

Prints where tokpack keeps built tokenizer tables, how many entries there are and their size.
Loads of tiktoken encodings and tokenizer.json files (BPE or WordPiece) read an entry instead of
building the tables (~2-10x faster); an entry is keyed by the source files' bytes.

  --clear   delete every entry

Environment: TOKPACK_CACHE_DIR (the directory), TOKPACK_NO_CACHE=1 (no cache).`;

export async function runCache(argv: string[]): Promise<number> {
  const args = parseFlags("cache", argv, { clear: { type: "boolean" }, help: { type: "boolean", short: "h" } }, 0);
  if (boolFlag(args, "help")) {
    process.stdout.write(CACHE_USAGE + "\n");
    return 0;
  }
  const { dir, files, bytes } = tableCacheEntries();
  if (dir === undefined) {
    process.stdout.write("table cache: off (TOKPACK_NO_CACHE is set, or there is no home directory)\n");
    return 0;
  }
  if (boolFlag(args, "clear")) {
    const n = clearTableCache();
    process.stdout.write(`table cache: ${dir}: deleted ${n} file${n === 1 ? "" : "s"} (${(bytes / 1e6).toFixed(1)} MB)\n`);
    return 0;
  }
  process.stdout.write(`table cache: ${dir}: ${files.length} entr${files.length === 1 ? "y" : "ies"}, ${(bytes / 1e6).toFixed(1)} MB\n`);
  return 0;
}
