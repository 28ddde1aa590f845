/**
 * End-to-end example: JSONL documents → tokenizer → packer (bfd) → tfjs tensors (one batch prefetched)
 * → a small causal transformer ({@link TinyLM}) trained with Adam, printing loss and tokens/s.
 *
 * Run after `npm run build`: `node dist/examples/finetune.js [steps]`, or call {@link runFinetune}
 * (the CLI's demo does). Data defaults to `../shared/data/jsonl/gsm8k/train.jsonl`, else the bundled
 * `examples/data/*.jsonl`.
 */
import { createReadStream, existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { packDocumentsSync, type PackAlgorithm, type PackedBatch, type PackStats, type TokenizedDoc } from "../packers/index.js";
import { initBackend, type BackendChoice } from "../src/tfjs/index.js";
import { loadTokenizer } from "../src/tokenizers/load.js";
import { buildVocabMap, TinyLM, trainSteps } from "./tiny-lm.js";

/** Options of {@link runFinetune}. */
export interface FinetuneOptions {
  /** Tokenizer spec for `loadTokenizer`. @default "gpt2" */
  tokenizer?: string;
  /** JSONL file with `text`, `question`/`answer` or `prompt`/`completion` fields. @default gsm8k train from ../shared */
  data?: string;
  /** Documents read from `data`. @default 1500 */
  maxDocs?: number;
  /** Training steps (batches). @default 30 */
  steps?: number;
  /** Row length. @default 128 */
  seqLen?: number;
  /** Rows per batch. @default 4 */
  batchSize?: number;
  /** Packing algorithm. @default "bfd" */
  algorithm?: PackAlgorithm;
  /** Adam learning rate. @default 0.003 */
  learningRate?: number;
  /** Compact vocabulary size of the model (see tiny-lm.ts). @default 1024 */
  maxVocab?: number;
  /** Model width / blocks. @default 64 / 2 */
  dim?: number;
  layers?: number;
  /** Backend preference passed to `initBackend`. @default its default */
  backend?: readonly BackendChoice[];
  /** Progress lines. @default console.log */
  log?: (line: string) => void;
}

/** What a run measured. */
export interface FinetuneResult {
  losses: number[];
  /** Real (non-padding) tokens per second over the timed steps (all but the first). */
  tokensPerSecond: number;
  backend: string;
  tokenizer: string;
  pack: PackStats;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The default data file: gsm8k under $TOKPACK_SHARED or ../shared, else the first bundled examples/data/*.jsonl. */
export function defaultDataPath(): string {
  const roots = [process.env["TOKPACK_SHARED"], resolve(here, "..", "..", "shared"), resolve(here, "..", "..", "..", "shared")];
  const candidates = roots.filter((p): p is string => p !== undefined).map((root) => join(root, "data", "jsonl", "gsm8k", "train.jsonl"));
  for (const p of candidates) if (existsSync(p)) return p;
  // bundled data: examples/data beside this file (ts) or two levels up from dist/examples (js)
  for (const dir of [join(here, "data"), resolve(here, "..", "..", "examples", "data")]) {
    if (!existsSync(dir)) continue;
    const first = readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort()[0];
    if (first !== undefined) return join(dir, first);
  }
  throw new Error(`finetune example: no data file given, none of ${candidates.join(", ")} exists and examples/data has no .jsonl; pass { data: "file.jsonl" }`);
}

/** First `max` documents of a JSONL file as plain text. */
export async function readTexts(file: string, max: number): Promise<string[]> {
  const out: string[] = [];
  const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    const r = JSON.parse(line) as Record<string, unknown>;
    const parts = ["text", "question", "answer", "prompt", "completion"].map((k) => r[k]).filter((v): v is string => typeof v === "string");
    out.push(parts.join("\n"));
    if (out.length >= max) break;
  }
  lines.close();
  return out;
}

/** Tokenize, pack and train a short run; prints one line per step and a summary. */
export async function runFinetune(options: FinetuneOptions = {}): Promise<FinetuneResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const seqLen = options.seqLen ?? 128;
  const batchSize = options.batchSize ?? 4;
  const steps = options.steps ?? 30;
  const { backend } = await initBackend(options.backend ? { prefer: options.backend } : {});
  const spec = options.tokenizer ?? "gpt2";
  const tokenizer = await loadTokenizer(spec);
  const file = options.data ?? defaultDataPath();
  const texts = await readTexts(file, options.maxDocs ?? 1500);
  const eos = tokenizer.special.eos;
  const docs: TokenizedDoc[] = texts.map((t) => {
    const ids = tokenizer.encode(t);
    if (eos === undefined) return { ids };
    const withEos = new Uint32Array(ids.length + 1);
    withEos.set(ids);
    withEos[ids.length] = eos;
    return { ids: withEos };
  });
  log(`finetune: ${docs.length} documents from ${file}, tokenizer ${tokenizer.name}, backend ${backend}`);
  const map = buildVocabMap(docs.map((d) => d.ids), tokenizer.vocabSize, options.maxVocab ?? 1024);
  const model = new TinyLM({ vocab: map.vocab, maxLen: seqLen, dim: options.dim ?? 64, layers: options.layers ?? 2 });
  model.setVocabTable(map.table);
  const packed = packDocumentsSync(docs, { seqLen, batchSize, algorithm: options.algorithm ?? "bfd", windowSize: 512 });
  const batches: PackedBatch[] = [];
  let r = packed.next();
  for (; !r.done; r = packed.next()) if (batches.length < steps) batches.push(r.value);
  const pack = r.value;
  // Fewer batches than steps: go over them again (epochs), so a small data set still trains `steps` steps.
  const schedule = Array.from({ length: Math.min(steps, batches.length * Math.ceil(steps / Math.max(batches.length, 1))) }, (_, i) => batches[i % batches.length]!);
  log(`packed ${pack.docs} docs into ${pack.rows} rows of ${seqLen} (${(pack.fillRatio * 100).toFixed(2)}% fill, ${pack.docsPerRow.toFixed(2)} docs/row, window ${pack.windowSize})`);
  const { losses, tokensPerSecond } = await trainSteps(model, schedule, { steps, learningRate: options.learningRate ?? 3e-3, log });
  model.dispose();
  log(`loss ${losses[0]?.toFixed(4)} → ${losses[losses.length - 1]?.toFixed(4)} over ${losses.length} steps, ${Math.round(tokensPerSecond)} tokens/s (${backend})`);
  return { losses, tokensPerSecond, backend, tokenizer: tokenizer.name, pack };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const steps = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  runFinetune(steps === undefined ? {} : { steps }).catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
