/** The reference tokenizers, loaded from devDependencies inside the tests. */
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../src/tokenizers/builtins.js";
import { unicodeToByte } from "../../src/tokenizers/hf/byte-level.js";

const require = createRequire(import.meta.url);

interface HfEncoding {
  getIds(): number[];
}
export interface HfReference {
  encode(text: string, pair?: null, options?: { addSpecialTokens?: boolean }): Promise<HfEncoding>;
  encodeBatch(texts: string[], options?: { addSpecialTokens?: boolean }): Promise<HfEncoding[]>;
  decode(ids: number[], skipSpecialTokens?: boolean): Promise<string>;
  /** The id of a vocabulary string, or null. */
  tokenToId(token: string): number | null;
}

/** HF `tokenizers` (the official Rust bindings) on a tokenizer.json file or object. */
export function hfReference(fileOrJson: string | object): HfReference {
  const { Tokenizer } = require("tokenizers-linux-x64-gnu") as { Tokenizer: { fromFile(path: string): HfReference } };
  let file = fileOrJson;
  if (typeof file !== "string") {
    const dir = mkdtempSync(join(tmpdir(), "tokpack-ref-"));
    file = join(dir, "tokenizer.json");
    writeFileSync(file, JSON.stringify(fileOrJson));
  }
  return Tokenizer.fromFile(file);
}

/** Ids for every text, in order, from the reference's batch call. */
export async function hfIds(ref: HfReference, texts: string[], addSpecialTokens = true): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += 256) {
    const batch = await ref.encodeBatch(texts.slice(i, i + 256), { addSpecialTokens });
    for (const e of batch) out.push(e.getIds());
  }
  return out;
}

/** Path of a file inside an installed package. */
export function packageFile(pkg: string, ...parts: string[]): string {
  const root = packageRoot(pkg);
  if (root === undefined) throw new Error(`devDependency ${pkg} is not installed (run npm ci)`);
  return join(root, ...parts);
}

/**
 * OpenAI's tiktoken core (WASM) running a byte-level tokenizer.json's vocab as a tiktoken encoding:
 * rank = id, split pattern = the Split pre-tokenizer's regex. For Llama-3, whose tokenizer *is*
 * tiktoken with these ranks, this is the authoritative reference for `ignore_merges`.
 */
export function tiktokenFromTokenizerJson(file: string): { encode(text: string): Uint32Array; free(): void } {
  const { Tiktoken } = require("tiktoken/lite") as {
    Tiktoken: new (ranks: string, specials: Record<string, number>, pattern: string) => {
      encode(text: string, allowed?: "all" | string[], disallowed?: "all" | string[]): Uint32Array;
      free(): void;
    };
  };
  const json = JSON.parse(readFileSync(file, "utf8")) as {
    model: { vocab: Record<string, number> };
    added_tokens: Array<{ id: number; content: string }>;
    pre_tokenizer: { pretokenizers: Array<{ type: string; pattern?: { Regex: string } }> };
  };
  const byId: string[] = [];
  for (const [tok, id] of Object.entries(json.model.vocab)) {
    const bytes = unicodeToByte(tok);
    if (!bytes) throw new Error(`token ${tok} is not byte-level`);
    byId[id] = Buffer.from(bytes).toString("base64");
  }
  const lines: string[] = [];
  for (let id = 0; id < byId.length; ) {
    const start = id;
    const run: string[] = [];
    while (id < byId.length && byId[id] !== undefined) run.push(byId[id++]!);
    if (run.length > 0) lines.push(`! ${start} ${run.join(" ")}`);
    else id++;
  }
  const specials = Object.fromEntries(json.added_tokens.map((t) => [t.content, t.id]));
  const pattern = json.pre_tokenizer.pretokenizers.find((p) => p.type === "Split")!.pattern!.Regex;
  const enc = new Tiktoken(lines.join("\n"), specials, pattern);
  return { encode: (text) => enc.encode(text, "all", []), free: () => enc.free() };
}
