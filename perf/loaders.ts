/**
 * Loader throughput benchmark (`npm run bench:loaders [-- --rows N --repeat N --keep DIR]`).
 *
 * Writes the inputs with duckdb: N rows (default 200k) of 200–3000-character text windows (cut from
 * ../shared/data/text/en.jsonl when present, else hex noise), as parquet with snappy / zstd / gzip /
 * uncompressed codecs at 10k-row and duckdb-default row groups, and as .jsonl / .jsonl.gz /
 * .jsonl.zst. Each file is then read
 *   - by tokpack's loader in a fresh child process (so its peak RSS is the loader's own): every
 *     document's text as a JS string;
 *   - by duckdb in this process, twice (all cores):
 *       "duckdb → JS": `SELECT text FROM …` streamed chunk by chunk into JS strings — the same output
 *       a loader delivers, so the like-for-like comparison and the one the target is read against;
 *       "in-engine": `SELECT sum(length(text))`, which decodes the pages but never materialises a
 *       string outside duckdb's C++ (an upper bound no JS reader can reach; shown for scale);
 * and one line per file reports documents/s, text MB/s (characters, every side counted the same way),
 * the ratios, and the child's peak RSS. Two more columns compare the readers in the same state: the
 * loader's child starts cold while duckdb above runs late in this long-lived process, where it reads
 * up to ~2.5× faster than in a fresh one (uncompressed default groups: 128 → 326 MB/s over five reads
 * in one process). "Both cold": duckdb → JS in a fresh process against the loader's fresh child;
 * "both warm": the loader's third read of the file in one process against the in-process duckdb. Each reader runs `--repeat` times (default 3), interleaved
 * with the others, and its fastest run is reported (single runs on this VM move by ±30%); the peak
 * RSS is the largest of tokpack's runs. Targets (issue 4): ≥ 80% of duckdb's MB/s, and peak RSS
 * ≤ 256 MB for 10k-row-group parquet and for jsonl. Speed is never asserted in tests.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLoader } from "../loaders/index.js";
import { peakRssMB } from "./rss.js";

interface ChildResult {
  docs: number;
  chars: number;
  secs: number;
  maxRssMB: number;
}

/** Child mode: read one file with the loader `reads` times in this process, print a ChildResult per read as JSON. */
async function child(path: string, reads: number): Promise<void> {
  for (let k = 0; k < reads; k++) {
    const t0 = performance.now();
    let docs = 0;
    let chars = 0;
    for await (const d of createLoader({ sources: path, document: { field: "text" } })) {
      docs++;
      chars += d.text!.length;
    }
    const secs = (performance.now() - t0) / 1000;
    const r: ChildResult = { docs, chars, secs, maxRssMB: peakRssMB() };
    process.stdout.write(JSON.stringify(r) + "\n");
  }
}

/** Child mode: duckdb → JS strings once, in a fresh process (a cold duckdb, as the loader's child is). */
async function duckChild(path: string): Promise<void> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await (await DuckDBInstance.create(":memory:")).connect();
  const reader = path.endsWith(".parquet") ? "read_parquet" : "read_json";
  const t0 = performance.now();
  const r = await duckdbToJs(db, `SELECT text FROM ${reader}(${q(path)})`);
  process.stdout.write(JSON.stringify({ ...r, secs: (performance.now() - t0) / 1000 }) + "\n");
}

/** duckdb's read into JS: stream the result chunk by chunk and take every value as a JS string. */
async function duckdbToJs(db: import("@duckdb/node-api").DuckDBConnection, sql: string): Promise<{ docs: number; chars: number }> {
  const result = await db.stream(sql);
  let docs = 0;
  let chars = 0;
  for (let c = await result.fetchChunk(); c !== null && c.rowCount > 0; c = await result.fetchChunk()) {
    const v = c.getColumnVector(0);
    for (let i = 0; i < c.rowCount; i++) {
      chars += (v.getItem(i) as string).length;
      docs++;
    }
  }
  return { docs, chars };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function main(): Promise<void> {
  const only = arg("child");
  if (only) return child(only, Number(arg("reads") ?? 1));
  const duck = arg("duck-child");
  if (duck) return duckChild(duck);
  const rows = Number(arg("rows") ?? 200_000);
  const keep = arg("keep");
  const repeat = Number(arg("repeat") ?? 3);
  const dir = keep ?? mkdtempSync(join(tmpdir(), "tokpack-bench-loaders-"));
  mkdirSync(dir, { recursive: true });
  // imported here, not at the top: the child processes that measure RSS must not load duckdb
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const inst = await DuckDBInstance.create(":memory:");
  const db = await inst.connect();
  const threads = (await db.runAndReadAll("SELECT current_setting('threads') AS t")).getRowObjectsJS()[0]!["t"];
  const candidates = [
    process.env["TOKPACK_SHARED"] ? join(process.env["TOKPACK_SHARED"], "data/text/en.jsonl") : "",
    join(process.cwd(), "..", "shared", "data/text/en.jsonl"),
    fileURLToPath(new URL("../../../shared/data/text/en.jsonl", import.meta.url)),
  ];
  const corpus = candidates.find((c) => c !== "" && existsSync(c)) ?? "";
  // Real text: en.jsonl cut into 3000-character chunks per document (substr offsets stay small),
  // then each row takes a 200–3000-character prefix of a hashed chunk.
  const real = existsSync(corpus);
  if (real) {
    await db.run(`CREATE TABLE chunks AS SELECT row_number() OVER () - 1 AS k, substr(text, 1 + j * 3000, 3000) AS c
      FROM read_json(${q(corpus)}), range(0, CAST(ceil(length(text) / 3000) AS BIGINT)) r(j)`);
  }
  const nChunks = real ? Number((await db.runAndReadAll("SELECT count(*) AS n FROM chunks")).getRowObjectsJS()[0]!["n"]) : 0;
  const source = real
    ? `SELECT substr(chunks.c, 1, 200 + CAST(hash(i * 31 + 7) % 2801 AS BIGINT)) AS text
       FROM range(${rows}) r(i) JOIN chunks ON chunks.k = CAST(hash(i) % ${nChunks} AS BIGINT)
       ORDER BY i`
    : `SELECT substr(repeat(md5(i::VARCHAR) || md5((i * 7)::VARCHAR) || ' ', 100), 1, 200 + CAST(hash(i) % 2801 AS BIGINT)) AS text FROM range(${rows}) r(i)`;
  console.log(`tokpack loader benchmark: ${rows} rows, text from ${real ? "en.jsonl windows" : "hex noise"}, duckdb threads=${String(threads)}, node ${process.version}; best of ${repeat} per reader (peak RSS: the largest)`);
  await db.run(`CREATE TABLE docs AS ${source}`);
  const files: string[] = [];
  for (const codec of ["snappy", "zstd", "gzip", "uncompressed"]) {
    for (const [label, rg] of [["10k", "ROW_GROUP_SIZE 10000, "], ["default", ""]] as const) {
      const f = join(dir, `docs-${codec}-${label}.parquet`);
      if (!existsSync(f)) await db.run(`COPY docs TO ${q(f)} (FORMAT parquet, ${rg}COMPRESSION ${codec})`);
      files.push(f);
    }
  }
  for (const [ext, comp] of [["jsonl", "none"], ["jsonl.gz", "gzip"], ["jsonl.zst", "zstd"]] as const) {
    const f = join(dir, `docs.${ext}`);
    if (!existsSync(f)) await db.run(`COPY docs TO ${q(f)} (FORMAT json, COMPRESSION ${comp})`);
    files.push(f);
  }
  const self = fileURLToPath(import.meta.url);
  console.log("file                              size MB   docs/s   tokpack MB/s   duckdb→JS MB/s   ratio   in-engine MB/s   ratio   peak RSS MB   both cold: tokpack / duckdb→JS MB/s  ratio   both warm: tokpack MB/s  ratio");
  const slow: string[] = [];
  const coldRatios: number[] = [];
  const warmRatios: number[] = [];
  const heavy: string[] = [];
  for (const f of files) {
    const reader = f.endsWith(".parquet") ? "read_parquet" : "read_json";
    // best of `repeat` for each reader, the readers interleaved: this VM moves single runs by ±30%
    let dSecs = Infinity;
    let jSecs = Infinity;
    let best: ChildResult | undefined;
    let coldDuck = Infinity;
    let warm = Infinity;
    let ref: Record<string, unknown> = {};
    for (let i = 0; i < repeat; i++) {
      const d0 = performance.now();
      ref = (await db.runAndReadAll(`SELECT count(*) AS n, sum(length(text)) AS c FROM ${reader}(${q(f)})`)).getRowObjectsJS()[0]!;
      dSecs = Math.min(dSecs, (performance.now() - d0) / 1000);
      const j0 = performance.now();
      const toJs = await duckdbToJs(db, `SELECT text FROM ${reader}(${q(f)})`);
      jSecs = Math.min(jSecs, (performance.now() - j0) / 1000);
      if (toJs.docs !== Number(ref["n"]) || toJs.chars !== Number(ref["c"])) throw new Error(`${f}: duckdb's two reads disagree`);
      const out = execFileSync(process.execPath, [self, "--child", f], { encoding: "utf8", maxBuffer: 1 << 20 });
      const r = JSON.parse(out.trim().split("\n").pop()!) as ChildResult;
      if (r.docs !== Number(ref["n"]) || r.chars !== Number(ref["c"])) {
        throw new Error(`${f}: tokpack read ${r.docs} docs / ${r.chars} chars, duckdb ${String(ref["n"])} / ${String(ref["c"])}`);
      }
      if (best === undefined || r.secs < best.secs) best = { ...r, maxRssMB: Math.max(r.maxRssMB, best?.maxRssMB ?? 0) };
      else best.maxRssMB = Math.max(best.maxRssMB, r.maxRssMB);
      // the same two readers in the other states: duckdb in a fresh process, tokpack after reading
      // the file twice in its process (duckdb above runs in this long-lived one)
      const dc = JSON.parse(execFileSync(process.execPath, [self, "--duck-child", f], { encoding: "utf8", maxBuffer: 1 << 20 }).trim()) as { docs: number; chars: number; secs: number };
      if (dc.chars !== Number(ref["c"])) throw new Error(`${f}: duckdb in a child read ${dc.chars} chars`);
      coldDuck = Math.min(coldDuck, dc.secs);
      const reads = execFileSync(process.execPath, [self, "--child", f, "--reads", "3"], { encoding: "utf8", maxBuffer: 1 << 20 }).trim().split("\n");
      warm = Math.min(warm, (JSON.parse(reads[reads.length - 1]!) as ChildResult).secs);
    }
    const r = best!;
    const ours = r.chars / 1e6 / r.secs;
    const engine = Number(ref["c"]) / 1e6 / dSecs;
    const js = r.chars / 1e6 / jSecs;
    const name = f.slice(dir.length + 1).padEnd(32);
    if (ours / js < 0.8) slow.push(`${name.trim()} ${(ours / js).toFixed(2)}`);
    if (!f.includes("-default.") && r.maxRssMB > 256) heavy.push(`${name.trim()} ${r.maxRssMB.toFixed(0)} MB`);
    const jsCold = r.chars / 1e6 / coldDuck;
    const ourWarm = r.chars / 1e6 / warm;
    coldRatios.push(ours / jsCold);
    warmRatios.push(ourWarm / js);
    console.log(
      `${name}  ${(statSync(f).size / 1e6).toFixed(1).padStart(7)}  ${Math.round(r.docs / r.secs).toString().padStart(7)}  ${ours.toFixed(1).padStart(13)}  ${js.toFixed(1).padStart(15)}  ${(ours / js).toFixed(2).padStart(6)}  ${engine.toFixed(1).padStart(15)}  ${(ours / engine).toFixed(2).padStart(6)}  ${r.maxRssMB.toFixed(0).padStart(12)}  ${`${ours.toFixed(1)} / ${jsCold.toFixed(1)}`.padStart(35)}  ${(ours / jsCold).toFixed(2).padStart(6)}  ${ourWarm.toFixed(1).padStart(23)}  ${(ourWarm / js).toFixed(2).padStart(6)}`,
    );
  }
  // issue 4's targets, as this run measured them
  console.log(`≥ 0.80 × duckdb → JS: ${slow.length === 0 ? `every file` : `${files.length - slow.length} of ${files.length} files; below: ${slow.join(", ")}`}`);
  console.log(`peak RSS ≤ 256 MB (10k-row groups, jsonl): ${heavy.length === 0 ? "every file" : `over: ${heavy.join(", ")}`}`);
  // duckdb → JS runs several times faster late in a long-lived process than in a fresh one, and the
  // loader's child is always fresh: the same comparison with both readers in the same state
  console.log(`both cold (fresh processes): lowest ratio ${Math.min(...coldRatios).toFixed(2)}; both warm (third read in a process): lowest ratio ${Math.min(...warmRatios).toFixed(2)}`);
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

await main();
