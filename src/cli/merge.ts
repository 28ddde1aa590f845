/**
 * `tokpack merge DIR... --out DIR`: join per-rank `tokpack pack` outputs into one Megatron indexed
 * dataset with `mergeDatasets` (a DIR holding rank-R-of-W folders stands for all of them, in rank order).
 */
import { UsageError } from "../errors.js";
import { mergeDatasets } from "../megatron/index.js";
import { boolFlag, parseFlags, stringFlag } from "./args.js";
import { tokpackVersion } from "./pack.js";

const USAGE = `Usage: tokpack merge DIR... --out DIR [--prefix NAME]

Joins the indexed datasets (data.bin/data.idx) of tokpack pack outputs, in the order given; a DIR
with rank-R-of-W/ folders stands for its ranks in rank order. Packed rows are not merged.`;

const FLAGS = { out: { type: "string" }, prefix: { type: "string" }, help: { type: "boolean", short: "h" } } as const;

/** Runs `tokpack merge`; returns the exit status. */
export async function runMerge(argv: string[]): Promise<number> {
  const args = parseFlags("merge", argv, FLAGS, Infinity);
  if (boolFlag(args, "help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (args.positionals.length === 0) throw new UsageError("merge: give at least one DIR");
  const out = stringFlag("merge", args, "out", true);
  const prefix = stringFlag("merge", args, "prefix");
  const m = await mergeDatasets(args.positionals, { out, ...(prefix !== undefined ? { prefix } : {}), version: tokpackVersion() });
  process.stdout.write(JSON.stringify({ out, documents: m.counts.documents, tokens: m.counts.tokens, mergedFrom: m.mergedFrom }) + "\n");
  return 0;
}
