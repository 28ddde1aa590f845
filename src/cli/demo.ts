/**
 * `tokpack demo` (what `npm start` runs): the main job on the bundled `examples/data`, end to end —
 * 1. the loaders stream `examples/data/*.jsonl` and the tokenizer encodes each document into one
 *    reused `Uint32Array` (documents, tokens, MB/s per file);
 * 2. the finetune example packs the word problems (question + answer) with best-fit-decreasing and
 *    trains a small causal transformer on TensorFlow.js for a few steps, printing loss and tokens/s.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLoader } from "../../loaders/index.js";
import { loadTokenizer } from "../tokenizers/load.js";
import { parseFlags, stringFlag, boolFlag } from "./args.js";
import { IdScratch } from "./encode.js";
import { tokenLabel } from "./inspect.js";

/** The bundled example data: `<package root>/examples/data` (this file is `dist/src/cli/demo.js`). */
export const EXAMPLE_DATA_DIR: string = fileURLToPath(new URL("../../../examples/data/", import.meta.url));

/** `tokpack demo [--tokenizer SPEC] [--steps N] [--no-train] [FILE.jsonl ...]`: returns the exit status. */
export async function runDemo(argv: string[]): Promise<number> {
  const args = parseFlags(
    "demo",
    argv,
    { tokenizer: { type: "string", short: "t" }, steps: { type: "string" }, "no-train": { type: "boolean" } },
    Infinity,
  );
  const spec = stringFlag("demo", args, "tokenizer") ?? "gpt2";
  const steps = Number(stringFlag("demo", args, "steps") ?? "25");
  const files =
    args.positionals.length > 0
      ? args.positionals
      : readdirSync(EXAMPLE_DATA_DIR)
          .filter((f) => f.endsWith(".jsonl"))
          .sort()
          .map((f) => join(EXAMPLE_DATA_DIR, f));
  const log = (s: string): boolean => process.stdout.write(s + "\n");

  const t0 = performance.now();
  const tok = await loadTokenizer(spec);
  log(`tokpack demo: tokenizer ${tok.name} (vocab ${tok.vocabSize}) loaded in ${(performance.now() - t0).toFixed(0)} ms`);

  const scratch = new IdScratch();
  for (const file of files) {
    let docs = 0;
    let tokens = 0;
    let bytes = 0;
    let first: string | undefined;
    const start = performance.now();
    // `auto` documents: text, chat or prompt/completion; question/answer files via a template.
    const loader = createLoader({
      sources: [file],
      document: file.includes("word-problems") ? { template: "{question}\n{answer}" } : {},
    });
    for await (const doc of loader) {
      const text = doc.text ?? "";
      const ids = scratch.encode(tok, text);
      if (first === undefined) first = Array.from(ids.subarray(0, 24), (id) => `[${tokenLabel(tok, id)}]`).join("");
      docs++;
      tokens += ids.length;
      bytes += Buffer.byteLength(text, "utf8");
    }
    const ms = performance.now() - start;
    log(`${file}`);
    log(`  ${docs} documents, ${tokens} tokens, ${bytes} UTF-8 bytes (${(bytes / Math.max(tokens, 1)).toFixed(2)} bytes/token), ${ms.toFixed(1)} ms`);
    if (first !== undefined) log(`  first document: ${first}${tokens > 24 ? "…" : ""}`);
  }

  if (boolFlag(args, "no-train") || steps <= 0) return 0;
  // Loaded only here: tfjs is heavy and the rest of the CLI never needs it.
  const { runFinetune } = await import("../../examples/finetune.js");
  log("");
  log(`training a small causal transformer on packed batches (${steps} steps; tokpack demo --steps N to change)`);
  await runFinetune({ tokenizer: spec, data: join(EXAMPLE_DATA_DIR, "word-problems.jsonl"), steps, seqLen: 128, batchSize: 8, log });
  log(`next: tokpack encode --tokenizer ${spec} ${files[0] ?? "FILE.jsonl"} | head -3`);
  return 0;
}
