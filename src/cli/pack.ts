/**
 * `tokpack pack SOURCE... --tokenizer SPEC --out DIR [...]`: tokenize and pack to disk (Megatron
 * `.bin`/`.idx`, `.npy` packed rows, `manifest.json`) with `packToDisk`. Progress goes to stderr only
 * when stderr is a TTY.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { CHECKPOINT_FILE } from "../megatron/checkpoint.js";
import { packToDisk, type PackProgress } from "../megatron/index.js";
import type { TemplateSpec } from "../pipeline/index.js";
import type { PackAlgorithm } from "../../packers/index.js";
import { boolFlag, intFlag, parseFlags, stringFlag, type ParsedArgs } from "./args.js";
import { LOADER_FLAGS, LOADER_USAGE, loaderOptionsFrom } from "./loader-flags.js";

const USAGE = `Usage: tokpack pack SOURCE... --tokenizer SPEC --out DIR [options]

Writes DIR/data.bin + DIR/data.idx (Megatron-Core indexed dataset), DIR/{input_ids,labels,
position_ids,segment_ids,batches}.npy (packed rows) and DIR/manifest.json. With --world-size W the
output goes to DIR/rank-R-of-W/; join ranks with "tokpack merge DIR --out MERGED".

Options:
  --tokenizer SPEC      built-in name, .tiktoken or tokenizer.json (required)
  --out DIR             output directory (required)
  --seq-len L           row length (default 2048)
  --batch-size B        rows per batch in packed rows (default 8)
  --packing P           bfd | ffd | concat | pad (default bfd)
  --chat                encode chat documents with the ChatML template (assistant-only loss)
  --chat-template T     chatml | llama3 | path/to/tokenizer_config.json (implies --chat)
  --workers N           tokenizer threads (default: available cores; 0 = main thread)
  --rank R --world-size W   this rank's share of the documents
  --resume              continue an interrupted run in DIR
  --prefix NAME         file prefix of the indexed dataset (default data)
Loader options (as tokpack cat):
${LOADER_USAGE}`;

const FLAGS = {
  tokenizer: { type: "string" },
  out: { type: "string" },
  "seq-len": { type: "string" },
  "batch-size": { type: "string" },
  packing: { type: "string" },
  chat: { type: "boolean" },
  "chat-template": { type: "string" },
  workers: { type: "string" },
  resume: { type: "boolean" },
  prefix: { type: "string" },
  "checkpoint-ms": { type: "string" },
  ...LOADER_FLAGS,
  help: { type: "boolean", short: "h" },
} as const;

function templateOf(args: ParsedArgs): TemplateSpec | undefined {
  const t = stringFlag("pack", args, "chat-template");
  if (t === undefined) return boolFlag(args, "chat") ? "chatml" : undefined;
  if (t === "chatml" || t === "llama3") return t;
  return { config: t };
}

/** The tokpack version, from package.json (two levels up from src/cli, three from dist/src/cli). */
export function tokpackVersion(): string {
  for (const rel of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "tokpack" && pkg.version !== undefined) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return "unknown";
}

function human(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/** One status line: documents, tokens, input MB/s and (for known input sizes) a rough ETA. */
function progressLine(p: PackProgress): string {
  const s = p.elapsedMs / 1000;
  const mb = p.inputChars / 1e6;
  const rate = s > 0 ? mb / s : 0;
  let eta = "";
  if (!p.done && p.inputBytes > 0 && rate > 0) {
    const left = Math.max(0, p.inputBytes / 1e6 - mb);
    eta = `  ETA ~${Math.ceil(left / rate)}s`;
  }
  return `\r${human(p.documents)} docs  ${human(p.tokens)} tokens  ${human(p.rows)} rows  ${rate.toFixed(1)} MB/s${eta}${p.done ? "  done\n" : "   "}`;
}

/** Runs `tokpack pack`; returns the exit status. */
export async function runPack(argv: string[]): Promise<number> {
  const args = parseFlags("pack", argv, FLAGS, Infinity);
  if (boolFlag(args, "help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (args.positionals.length === 0) throw new UsageError("pack: give at least one SOURCE");
  const tokenizer = stringFlag("pack", args, "tokenizer", true);
  let out = stringFlag("pack", args, "out", true);
  const packing = stringFlag("pack", args, "packing") ?? "bfd";
  if (!["bfd", "ffd", "concat", "pad"].includes(packing)) throw new UsageError(`pack: --packing must be bfd, ffd, concat or pad, got "${packing}"`);
  const loader = loaderOptionsFrom("pack", args);
  if (loader.worldSize !== undefined && loader.worldSize > 1) out = join(out, `rank-${loader.rank ?? 0}-of-${loader.worldSize}`);
  const template = templateOf(args);
  const workers = intFlag("pack", args, "workers", 0);
  const tty = process.stderr.isTTY === true;
  const result = await packToDisk({
    sources: args.positionals,
    loader,
    tokenizer,
    out,
    seqLen: intFlag("pack", args, "seq-len", 1) ?? 2048,
    batchSize: intFlag("pack", args, "batch-size", 1) ?? 8,
    packing: packing as PackAlgorithm,
    ...(template !== undefined ? { template } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(stringFlag("pack", args, "prefix") !== undefined ? { prefix: stringFlag("pack", args, "prefix") } : {}),
    ...(intFlag("pack", args, "checkpoint-ms", 0) !== undefined ? { checkpointMs: intFlag("pack", args, "checkpoint-ms", 0) } : {}),
    resume: boolFlag(args, "resume"),
    version: tokpackVersion(),
    ...(tty ? { onProgress: (p: PackProgress) => process.stderr.write(progressLine(p)) } : {}),
  }).catch((e: unknown) => {
    // what was written so far stays for --resume: say so, since the corrected command needs to know
    if (existsSync(join(out, CHECKPOINT_FILE))) {
      if (tty) process.stderr.write("\n");
      process.stderr.write(`tokpack pack: the output so far is kept in ${out}; --resume continues it when the inputs and options are unchanged (after a kill or a network error); otherwise remove ${out} first\n`);
    }
    throw e;
  });
  if (result.alreadyComplete) process.stderr.write(`tokpack pack: ${out} is already complete\n`);
  const c = result.manifest.counts;
  process.stdout.write(JSON.stringify({ out, documents: c.documents, tokens: c.tokens, rows: c.rows, padding: c.padding, truncated: c.truncated, resumed: result.resumed }) + "\n");
  return 0;
}
