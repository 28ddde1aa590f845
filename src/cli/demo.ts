/**
 * `tokpack demo` (what `npm start` runs): encodes the bundled `examples/data/*.jsonl` (or the JSONL
 * files given) with `cl100k_base` and prints a short summary per file — documents, tokens, bytes,
 * throughput — and the first document's tokens.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { loadTokenizer } from "../tokenizers/load.js";
import { parseFlags, stringFlag } from "./args.js";
import { IdScratch, readDocuments } from "./encode.js";
import { tokenLabel } from "./inspect.js";

/** The bundled example data: `<package root>/examples/data` (this file is `dist/src/cli/demo.js`). */
export const EXAMPLE_DATA_DIR: string = fileURLToPath(new URL("../../../examples/data/", import.meta.url));

/** `tokpack demo [--tokenizer SPEC] [FILE.jsonl ...]`: returns the exit status. */
export async function runDemo(argv: string[]): Promise<number> {
  const args = parseFlags("demo", argv, { tokenizer: { type: "string", short: "t" } }, Infinity);
  const spec = stringFlag("demo", args, "tokenizer") ?? "cl100k_base";
  const files =
    args.positionals.length > 0
      ? args.positionals
      : readdirSync(EXAMPLE_DATA_DIR)
          .filter((f) => f.endsWith(".jsonl"))
          .sort()
          .map((f) => join(EXAMPLE_DATA_DIR, f));

  const t0 = performance.now();
  const tok = await loadTokenizer(spec);
  const log = (s: string): boolean => process.stdout.write(s + "\n");
  log(`tokpack demo: ${tok.name} (vocab ${tok.vocabSize}) loaded in ${(performance.now() - t0).toFixed(0)} ms`);

  const scratch = new IdScratch();
  for (const file of files) {
    let docs = 0;
    let tokens = 0;
    let bytes = 0;
    let first: string | undefined;
    const start = performance.now();
    for await (const doc of readDocuments({ input: file })) {
      const ids = scratch.encode(tok, doc.text);
      if (first === undefined) first = Array.from(ids, (id) => `[${tokenLabel(tok, id)}]`).join("");
      docs++;
      tokens += ids.length;
      bytes += Buffer.byteLength(doc.text, "utf8");
    }
    const ms = performance.now() - start;
    log(`${file}`);
    log(`  ${docs} documents, ${tokens} tokens, ${bytes} UTF-8 bytes (${(bytes / Math.max(tokens, 1)).toFixed(2)} bytes/token)`);
    log(`  ${ms.toFixed(1)} ms (${(bytes / 1e6 / (ms / 1e3)).toFixed(2)} MB/s, reading and encoding)`);
    if (first !== undefined) log(`  first document: ${first}`);
  }
  log(`try: tokpack encode --tokenizer ${spec} ${files[0] ?? "FILE.jsonl"}`);
  return 0;
}
