/**
 * `npm run bench:tokenize-hf [-- --tokenizers llama-2,bert-base-uncased --corpus en,code,multi --reps N]`:
 * tokpack against HF `tokenizers` (the napi Rust bindings, npm 0.13.x) in ONE process, on the
 * tokenizer.json families `bench:tokenize` (tiktoken encodings) does not cover: SentencePiece-style
 * BPE (Llama-2) and WordPiece (bert-base-uncased). MB/s of UTF-8 input, best of `--reps` (default
 * 3) after one untimed pass that also checks every document's ids against HF's.
 *
 * HF runs `encodeBatch` in batches of 256 (it spreads a batch over all cores) and copies the ids out
 * with `getIds()`, as a JS user gets them; tokpack runs `encodeInto` into one reused array, on one
 * core. Both add the post-processor's special tokens (HF's default).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bertBaseUncasedJson } from "../src/tokenizers/builtin-bert.js";
import { encodeIntoGrowable } from "../src/tokenizers/grow.js";
import { loadTokenizer } from "../src/tokenizers/load.js";

const require = createRequire(import.meta.url);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."); // dist/perf → repo root

interface HfEncoding {
  getIds(): number[];
}
interface HfTokenizer {
  encodeBatch(texts: string[], options?: { addSpecialTokens?: boolean }): Promise<HfEncoding[]>;
}
interface HfStatic {
  fromFile(path: string): HfTokenizer;
  fromString(json: string): HfTokenizer;
}

/** The HF reference for a built-in name: the same tokenizer.json tokpack loads. */
function hfTokenizer(name: string): HfTokenizer {
  const { Tokenizer } = require("tokenizers-linux-x64-gnu") as { Tokenizer: HfStatic };
  if (name === "bert-base-uncased") return Tokenizer.fromString(JSON.stringify(bertBaseUncasedJson()));
  const pkg = name === "llama-2" ? "tokenizer-llama2" : name === "llama-3" ? "tokenizer-llama3" : undefined;
  if (pkg === undefined) throw new Error(`no HF reference for "${name}" here (llama-2, llama-3, bert-base-uncased)`);
  return Tokenizer.fromFile(join(repo, "node_modules", "@lenml", pkg, "models", "tokenizer.json"));
}

async function hfIds(tok: HfTokenizer, docs: string[]): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < docs.length; i += 256) for (const e of await tok.encodeBatch(docs.slice(i, i + 256))) out.push(e.getIds());
  return out;
}

/** Seconds of the fastest of `reps` runs. */
async function bestOf(reps: number, run: () => void | Promise<void>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await run();
    best = Math.min(best, performance.now() - t0);
  }
  return best / 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tokenizers: { type: "string" }, corpus: { type: "string" }, reps: { type: "string" } } });
  const names = (values.tokenizers ?? "llama-2,bert-base-uncased").split(",");
  const corpora = (values.corpus ?? "en,code,multi").split(",");
  const reps = Number(values.reps ?? 3);
  const shared = resolve(process.env["TOKPACK_SHARED"] ?? join(repo, "..", "shared"));
  console.log(`tokpack vs HF tokenizers (napi, encodeBatch on ${cpus().length} cores; tokpack on one), node ${process.version}, best of ${reps}`);
  console.log("tokenizer            corpus      MB   tokpack MB/s   HF MB/s   tokpack ÷ HF   ids equal");
  for (const name of names) {
    const ours = await loadTokenizer(name);
    const hf = hfTokenizer(name);
    let out = new Uint32Array(1 << 16);
    for (const c of corpora) {
      const docs = readFileSync(join(shared, "data", "text", `${c}.jsonl`), "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => (JSON.parse(l) as { text: string }).text);
      const mb = docs.reduce((a, d) => a + Buffer.byteLength(d), 0) / 1e6;
      // untimed pass: the ids must be HF's
      const expected = await hfIds(hf, docs);
      let equal = 0;
      docs.forEach((d, i) => {
        const r = encodeIntoGrowable(ours, d, out, 0);
        out = r.buf;
        const e = expected[i]!;
        let same = r.count === e.length;
        for (let k = 0; same && k < e.length; k++) same = out[k] === e[k];
        if (same) equal++;
      });
      const ourSecs = await bestOf(reps, () => {
        for (const d of docs) out = encodeIntoGrowable(ours, d, out, 0).buf;
      });
      const hfSecs = await bestOf(reps, async () => {
        await hfIds(hf, docs);
      });
      console.log(
        `${name.padEnd(20)} ${c.padEnd(7)} ${mb.toFixed(1).padStart(6)} ${(mb / ourSecs).toFixed(1).padStart(14)} ${(mb / hfSecs).toFixed(1).padStart(9)} ${(hfSecs / ourSecs).toFixed(2).padStart(13)}×   ${equal}/${docs.length}`,
      );
    }
  }
}

await main();
