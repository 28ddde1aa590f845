/**
 * `npm run bench:pipeline [-- --docs N --workers-max N --repeat N --tokenizer SPEC --chat]`: whole-pipeline
 * throughput, loader → tokenizer (cl100k_base unless `--tokenizer`) → bfd packer at L=2048, on the
 * same text as jsonl and as zstd parquet (10k-row groups, written with duckdb). Reports tokens/s for
 * (a) the tokenizer alone on the same texts, (b) the pipeline on the calling thread, (c) the
 * pipeline with 1, 2 and N worker threads, each in a fresh child process whose peak RSS (VmHWM: main
 * thread + workers) is the pipeline's own. Rates are over the whole run, worker start-up (one worker
 * loads the tokenizer and shares its tables) included. Every configuration runs `--repeat` times
 * (default 3), the runs interleaved across configurations, and the fastest run of each is reported:
 * this shared VM moves single runs by ±30%. Issue 6 targets: (b) ≥ 90% of (a); 2 workers ≥ 1.7× one
 * worker on a 2-core machine; peak RSS ≤ 256 MB. Speed is never asserted in tests. Two ceilings for
 * the worker runs are printed: (a) run on both CPUs at the same time (what two threads of pure
 * tokenizing did together, which on this VM can be far below twice one), and the one the 1-worker
 * run's own CPU use leaves for more workers.
 *
 * Text: `../shared/data/text/en.jsonl` cut into 200–3000-character windows (real prose).
 *
 * `--chat` adds the same texts as chats in parquet, the way chat datasets are stored: `messages:
 * list<struct<role, content>>` (a user turn of the text's first 200 characters, an assistant turn
 * of the whole text), written by duckdb with its defaults (snappy, 122,880-row groups: one row group
 * here, so the calling thread reads it), through the chatml template: (b) and (c) with their peak
 * RSS (its token count differs from (a)'s: the template's tokens).
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createPipeline } from "../src/pipeline/index.js";
import { loadTokenizer } from "../src/tokenizers/load.js";
import { peakRssMB } from "./rss.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const DOCS = arg("docs", 100_000);
const CHAT = process.argv.includes("--chat");
const REPEAT = arg("repeat", 3);
const MAX_WORKERS = arg("workers-max", availableParallelism());
const SEQ = 2048;
const TOKENIZER = (() => {
  const i = process.argv.indexOf("--tokenizer");
  return i >= 0 ? process.argv[i + 1]! : "cl100k_base";
})();

interface RunResult {
  tokens: number;
  secs: number;
  /** Time to the first batch, and tokens in it (steady-state rate = the rest over the rest). */
  firstSecs: number;
  firstTokens: number;
  cpuSecs: number;
  peakRssMB: number;
}

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

async function writeInputs(dir: string): Promise<{ jsonl: string; parquet: string; chat: string }> {
  const jsonl = join(dir, `docs-${DOCS}.jsonl`);
  const parquet = join(dir, `docs-${DOCS}.zstd.parquet`);
  const chat = join(dir, `chat-${DOCS}.parquet`);
  if (!existsSync(jsonl)) writeFileSync(jsonl, texts().map((t) => JSON.stringify({ text: t })).join("\n") + "\n");
  for (const [file, query] of [
    [parquet, `COPY (SELECT * FROM read_json_auto('${jsonl}')) TO '${parquet}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 10000)`],
    [chat, `COPY (SELECT [{'role': 'user', 'content': substr(text, 1, 200)}, {'role': 'assistant', 'content': text}] AS messages FROM read_json_auto('${jsonl}')) TO '${chat}' (FORMAT parquet)`],
  ] as const) {
    if (existsSync(file) || (file === chat && !CHAT)) continue;
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const inst = await DuckDBInstance.create(":memory:");
    const db = await inst.connect();
    await db.run(query);
    db.closeSync();
  }
  return { jsonl, parquet, chat };
}

/** Child: (a) the tokenizer alone on the texts of `jsonl` (+ EOS per document, as the pipeline appends). */
async function tokenizerAlone(jsonl: string): Promise<RunResult> {
  const docs = readFileSync(jsonl, "utf8").split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { text: string }).text);
  const tok = await loadTokenizer(TOKENIZER);
  const eos = tok.special.eos;
  const out = new Uint32Array(1 << 16);
  // as the pipeline encodes plain text: no post-processor specials (BOS), EOS appended
  const plain = { addSpecialTokens: false };
  tok.encodeInto(docs[0]!, out, 0, plain);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let tokens = 0;
  for (const t of docs) tokens += tok.encodeInto(t, out, 0, plain) + (eos === undefined ? 0 : 1);
  const c = process.cpuUsage(c0);
  return { tokens, secs: (performance.now() - t0) / 1000, firstSecs: 0, firstTokens: 0, cpuSecs: (c.user + c.system) / 1e6, peakRssMB: peakRssMB() };
}

/**
 * Child: the whole pipeline, from creating it to its last batch. The calling thread's tokenizer is
 * loaded first (as in (a), loading is not timed); workers load their own inside the timed run.
 */
async function pipeline(source: string, workers: number, template: "chatml" | undefined): Promise<RunResult> {
  if (workers === 0) await loadTokenizer(TOKENIZER);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let tokens = 0;
  let firstSecs = 0;
  let firstTokens = 0;
  const p = createPipeline({ sources: source, tokenizer: TOKENIZER, seqLen: SEQ, batchSize: 8, packing: "bfd", workers, ...(template !== undefined ? { template } : {}) });
  for await (const b of p) {
    if (firstSecs === 0) {
      firstSecs = (performance.now() - t0) / 1000;
      firstTokens = b.stats.tokens;
    }
    tokens += b.stats.tokens;
    p.release(b); // as tokpack pack does after writing a batch
  }
  const c = process.cpuUsage(c0);
  return { tokens, secs: (performance.now() - t0) / 1000, firstSecs, firstTokens, cpuSecs: (c.user + c.system) / 1e6, peakRssMB: peakRssMB() };
}

/** `taskset` when this Linux machine has it (to pin single-threaded runs to one CPU). */
const TASKSET = (() => {
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return "taskset";
  } catch {
    return undefined;
  }
})();

function childCommand(cpu: number | undefined, args: string[]): [string, string[]] {
  const node = [process.execPath, fileURLToPath(import.meta.url), "--tokenizer", TOKENIZER, "--child", ...args];
  const [cmd, ...rest] = cpu !== undefined && TASKSET ? [TASKSET, "-c", String(cpu), ...node] : node;
  return [cmd!, rest];
}

const lastJson = (out: string): RunResult => JSON.parse(out.trim().split("\n").pop()!) as RunResult;

function inChild(cpu: number | undefined, ...args: string[]): RunResult {
  const [cmd, rest] = childCommand(cpu, args);
  return lastJson(execFileSync(cmd, rest, { encoding: "utf8", maxBuffer: 1 << 20 }));
}

/**
 * (a) on CPU 0 and CPU 1 at the same time, in two processes: tokens/s of both together. On this VM
 * a vCPU can run at half speed while the other is busy (host contention), so this, not twice (a), is
 * what two threads of pure tokenizing could do at that moment: the ceiling for "2 workers".
 */
async function tokenizerPair(jsonl: string): Promise<number> {
  const run = async (cpu: number): Promise<RunResult> => {
    const [cmd, rest] = childCommand(cpu, ["tokenizer", jsonl]);
    return lastJson((await promisify(execFile)(cmd, rest, { encoding: "utf8", maxBuffer: 1 << 20 })).stdout);
  };
  const [r0, r1] = await Promise.all([run(0), run(1)]);
  // the faster one finishes first and the other then runs alone for a while: this slightly
  // overstates the pair, so the ceiling it gives is generous
  return r0.tokens / r0.secs + r1.tokens / r1.secs;
}

async function main(): Promise<void> {
  const child = process.argv.indexOf("--child");
  if (child >= 0) {
    const [what, source, workers, template] = process.argv.slice(child + 1);
    const r = what === "tokenizer" ? await tokenizerAlone(source!) : await pipeline(source!, Number(workers), template as "chatml" | undefined);
    process.stdout.write(JSON.stringify(r) + "\n");
    return;
  }
  const dir = join(tmpdir(), "tokpack-bench-pipeline");
  mkdirSync(dir, { recursive: true });
  const { jsonl, parquet, chat } = await writeInputs(dir);
  // Single-threaded runs are pinned to CPU 0 (when taskset exists) so (a) and (b) run on the same
  // core: the two vCPUs of this VM differ ~1.8× in tokenizer speed (equal on ALU-only loops).
  const pin = TASKSET && availableParallelism() > 1 ? 0 : undefined;
  const configs: { name: string; args: string[]; workers: number; cpu: number | undefined; chat?: true }[] = [{ name: "tokenizer", args: ["tokenizer", jsonl], workers: -1, cpu: pin }];
  if (pin !== undefined) configs.push({ name: "tokenizer cpu 1", args: ["tokenizer", jsonl], workers: -1, cpu: 1 });
  const counts = [...new Set([1, 2, MAX_WORKERS])].filter((n) => n >= 1);
  for (const [name, source] of [["jsonl", jsonl], ["parquet zstd", parquet]] as const) {
    for (const w of [0, ...counts]) configs.push({ name, args: ["pipeline", source, String(w)], workers: w, cpu: w === 0 ? pin : undefined });
  }
  if (CHAT) for (const w of [0, ...counts]) configs.push({ name: "chat parquet", args: ["pipeline", chat, String(w), "chatml"], workers: w, cpu: w === 0 ? pin : undefined, chat: true });
  const best = new Map<number, RunResult>();
  let pair = 0;
  for (let r = 0; r < REPEAT; r++) {
    configs.forEach((c, i) => {
      const res = inChild(c.cpu, ...c.args);
      const prev = best.get(i);
      if (prev === undefined || res.secs < prev.secs) best.set(i, res);
    });
    if (pin !== undefined) pair = Math.max(pair, await tokenizerPair(jsonl));
  }
  const a = best.get(0)!;
  const aRate = a.tokens / a.secs;
  console.log(`tokpack pipeline benchmark: ${DOCS} docs, ${TOKENIZER}, bfd L=${SEQ}, ${availableParallelism()} cores, node ${process.version}; each run a fresh process, best of ${REPEAT}`);
  console.log(`(a) tokenizer alone (encodeInto)${pin !== undefined ? ", CPU 0" : ""}  ${(aRate / 1e6).toFixed(2)} M tokens/s   ${a.secs.toFixed(2)} s (${a.tokens} tokens)`);
  if (pin !== undefined) {
    const a1 = best.get(1)!;
    const r1 = a1.tokens / a1.secs;
    console.log(`    the same on CPU 1               ${(r1 / 1e6).toFixed(2)} M tokens/s: two threads can do at most ${((aRate + r1) / Math.max(aRate, r1)).toFixed(2)}× one thread here`);
    console.log(`    CPUs 0 and 1 at the same time   ${(pair / 1e6).toFixed(2)} M tokens/s together = ${(pair / Math.max(aRate, r1)).toFixed(2)}× the faster CPU alone (best of ${REPEAT})`);
  }
  console.log("               run                    whole run (start-up incl.)      steady (after 1st batch)   wall  1st batch   CPU     peak RSS");
  let one = 0;
  let oneSteady = 0;
  configs.forEach((c, i) => {
    if (c.workers < 0) return;
    const r = best.get(i)!;
    if (r.tokens !== a.tokens && c.chat !== true) throw new Error(`${c.name}: pipeline packed ${r.tokens} tokens, tokenizer alone made ${a.tokens}`);
    const rate = r.tokens / r.secs;
    const steady = (r.tokens - r.firstTokens) / (r.secs - r.firstSecs);
    if (c.workers === 1) {
      one = rate;
      oneSteady = steady;
    }
    const label = c.workers === 0 ? `(b) single-threaded${pin !== undefined ? "*" : ""}` : `(c) ${c.workers} worker${c.workers === 1 ? "" : "s"}`;
    const vs = (x: number, base: number) => (c.workers === 0 ? (c.chat === true ? "" : `${((100 * x) / aRate).toFixed(0)}% of (a)`) : c.workers > 1 && base > 0 ? `${(x / base).toFixed(2)}× 1 worker` : "").padEnd(15);
    console.log(
      `${c.name.padEnd(13)} ${label.padEnd(22)} ${(rate / 1e6).toFixed(2).padStart(5)} M/s ${vs(rate, one)}   ${(steady / 1e6).toFixed(2).padStart(5)} M/s ${vs(steady, oneSteady)} ${r.secs.toFixed(2).padStart(5)} s ${r.firstSecs.toFixed(2).padStart(5)} s ${r.cpuSecs.toFixed(1).padStart(5)} s ${r.peakRssMB.toFixed(0).padStart(6)} MB`,
    );
  });
  if (pin !== undefined) console.log("* pinned to CPU 0 with taskset, like (a)");
  // The 1-worker run already uses more than one core (the main thread packs while the worker
  // tokenizes), which bounds what more workers can add on a small machine.
  const cores = availableParallelism();
  configs.forEach((c, i) => {
    if (c.workers !== 1) return;
    const r = best.get(i)!;
    const busy = r.cpuSecs / r.secs;
    console.log(`${c.name}: 1 worker kept ${busy.toFixed(2)} cores busy (CPU ÷ wall), so ${cores} cores allow at most ${(cores / busy).toFixed(2)}× its rate with more workers`);
  });
}

await main();
