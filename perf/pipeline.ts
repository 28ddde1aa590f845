/**
 * `npm run bench:pipeline [-- --docs N --workers-max N]`: whole-pipeline throughput, loader →
 * tokenizer → bfd packer at L=2048, on the same text as jsonl and as zstd parquet (written with duckdb).
 * Reports tokens/s for (a) the tokenizer alone on the same texts, (b) the pipeline on the calling
 * thread, (c) the pipeline with 1, 2 and N worker threads, plus peak RSS. Issue 6 targets: (b) ≥ 90% of
 * (a); 2 workers ≥ 1.7× one worker on a 2-core machine; peak RSS ≤ 256 MB. Speed is never asserted in tests.
 *
 * Text: `../shared/data/text/en.jsonl` cut into 200–3000-character windows (real prose).
 * Peak RSS is the process's maxRSS after each run (monotonic: it includes every earlier run).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createPipeline } from "../src/pipeline/index.js";
import { loadTokenizer } from "../src/tokenizers/load.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const DOCS = arg("docs", 20000);
const MAX_WORKERS = arg("workers-max", availableParallelism());
const SEQ = 2048;
const TOKENIZER = "cl100k_base";

function texts(): string[] {
  const shared = resolve(process.env["TOKPACK_SHARED"] ?? join(import.meta.dirname, "..", "..", "..", "shared"));
  const src = readFileSync(join(shared, "data", "text", "en.jsonl"), "utf8").split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { text: string }).text).join("\n");
  const out: string[] = [];
  let seed = 42;
  let pos = 0;
  while (out.length < DOCS) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const len = 200 + (seed % 2800);
    if (pos + len > src.length) pos = 0;
    out.push(src.slice(pos, pos + len));
    pos += len;
  }
  return out;
}

async function writeInputs(dir: string, docs: string[]): Promise<{ jsonl: string; parquet: string }> {
  const jsonl = join(dir, `docs-${DOCS}.jsonl`);
  const parquet = join(dir, `docs-${DOCS}.zstd.parquet`);
  if (!existsSync(jsonl)) writeFileSync(jsonl, docs.map((t) => JSON.stringify({ text: t })).join("\n") + "\n");
  if (!existsSync(parquet)) {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const inst = await DuckDBInstance.create(":memory:");
    const db = await inst.connect();
    await db.run(`COPY (SELECT * FROM read_json_auto('${jsonl}')) TO '${parquet}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 10000)`);
    db.closeSync();
  }
  return { jsonl, parquet };
}

function rssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function runPipeline(source: string, workers: number): Promise<{ tokens: number; secs: number }> {
  const t0 = performance.now();
  let tokens = 0;
  const p = createPipeline({ sources: source, tokenizer: TOKENIZER, seqLen: SEQ, batchSize: 8, packing: "bfd", workers });
  for await (const b of p) tokens += b.stats.tokens;
  return { tokens, secs: (performance.now() - t0) / 1000 };
}

async function main(): Promise<void> {
  const dir = join(tmpdir(), "tokpack-bench-pipeline");
  mkdirSync(dir, { recursive: true });
  const docs = texts();
  const { jsonl, parquet } = await writeInputs(dir, docs);
  const tok = await loadTokenizer(TOKENIZER);
  const eos = tok.special.eos;
  // (a) tokenizer alone on the same texts (+ EOS per document, as the pipeline appends)
  tok.encode(docs[0]!);
  const ta = performance.now();
  let aTokens = 0;
  for (const t of docs) aTokens += tok.encode(t).length + (eos === undefined ? 0 : 1);
  const aSecs = (performance.now() - ta) / 1000;
  const aRate = aTokens / aSecs;
  console.log(`tokpack pipeline benchmark: ${DOCS} docs, ${TOKENIZER}, bfd L=${SEQ}, ${availableParallelism()} cores, node ${process.version}`);
  console.log(`(a) tokenizer alone            ${(aRate / 1e6).toFixed(2)} M tokens/s   (${aTokens} tokens)   peak RSS ${rssMB().toFixed(0)} MB`);
  const counts = [...new Set([1, 2, MAX_WORKERS])].filter((n) => n >= 1);
  for (const [name, source] of [["jsonl", jsonl], ["parquet zstd", parquet]] as const) {
    let one = 0;
    for (const w of [0, ...counts]) {
      const r = await runPipeline(source, w);
      if (r.tokens !== aTokens) throw new Error(`${name}: pipeline packed ${r.tokens} tokens, tokenizer alone made ${aTokens}`);
      const rate = r.tokens / r.secs;
      if (w === 1) one = rate;
      const label = w === 0 ? "(b) single-threaded" : `(c) ${w} worker${w === 1 ? "" : "s"}`;
      const extra = w === 0 ? `  ${(100 * rate / aRate).toFixed(0)}% of (a)` : w > 1 && one > 0 ? `  ${(rate / one).toFixed(2)}× 1 worker` : "";
      console.log(`${name.padEnd(13)} ${label.padEnd(22)} ${(rate / 1e6).toFixed(2)} M tokens/s${extra}   peak RSS ${rssMB().toFixed(0)} MB`);
    }
  }
}

await main();
