/**
 * `manifest.json`: what a packed output directory holds and how it was made — enough to check a
 * dataset against its inputs and tokenizer, and for `tokpack merge` to join per-rank outputs.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatasetFormatError } from "../errors.js";
import type { Tokenizer } from "../tokenizers/types.js";
import type { TokenDtype } from "./dtype.js";

/** File name of the manifest inside an output directory. */
export const MANIFEST_FILE = "manifest.json";

/** One input of a run. */
export interface ManifestSource {
  /** Path or URL as resolved by the loader. */
  path: string;
  /** Size in bytes (undefined where unknown). */
  bytes?: number;
  /** sha256 of the file's bytes (local files only). */
  sha256?: string;
}

/** Totals of a run (this rank's share for a per-rank run). */
export interface ManifestCounts {
  documents: number;
  tokens: number;
  rows: number;
  batches: number;
  padding: number;
  truncated: number;
  dropped: number;
  skippedNull: number;
}

/** The content of `manifest.json`. */
export interface Manifest {
  format: "tokpack-packed/1";
  tokpackVersion: string;
  tokenizer: { spec: string; vocabSize: number; vocabSha256: string; fileSha256?: string };
  seqLen: number;
  batchSize: number;
  packing: string;
  chat?: string;
  /** Loader options that decide the document order (fields, template, shuffle seed, …). */
  loader: Record<string, unknown>;
  sources: ManifestSource[];
  rank: number;
  worldSize: number;
  /** Megatron indexed dataset: `<prefix>.bin` / `<prefix>.idx` in this directory. */
  indexed: { prefix: string; dtype: TokenDtype; dtypeCode: number };
  /** Packed rows (`.npy`, see `src/megatron/packed.ts`); absent for `tokpack merge` outputs. */
  rows?: { files: Record<string, { dtype: string; shape: number[] }> };
  counts: ManifestCounts;
  /** Per-rank outputs that `tokpack merge` joined, in order. */
  mergedFrom?: string[];
}

/** sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/**
 * sha256 (hex) of a tokenizer's vocabulary: every id's bytes (length-prefixed, in id order) and its
 * special tokens, so two specs that load the same vocabulary hash the same.
 */
export function vocabSha256(tokenizer: Tokenizer): string {
  const h = createHash("sha256");
  const len = new Uint8Array(4);
  const dv = new DataView(len.buffer);
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const b = tokenizer.tokenBytes(id);
    dv.setInt32(0, b === undefined ? -1 : b.length, true);
    h.update(len);
    if (b !== undefined) h.update(b);
  }
  const specials = [...tokenizer.specialTokens].sort((a, b) => a[1] - b[1]);
  h.update(JSON.stringify(specials));
  return h.digest("hex");
}

/** Write `manifest.json` atomically (temporary name, then rename). */
export function writeManifest(dir: string, manifest: Manifest): void {
  stageManifest(dir, manifest);
  placeManifest(dir);
}

/** `writeManifest`'s first half: the manifest under its temporary name. */
export function stageManifest(dir: string, manifest: Manifest): void {
  writeFileSync(join(dir, `${MANIFEST_FILE}.tmp`), JSON.stringify(manifest, null, 2) + "\n");
}

/** `writeManifest`'s second half: the staged manifest renamed into place. */
export function placeManifest(dir: string): void {
  const path = join(dir, MANIFEST_FILE);
  renameSync(`${path}.tmp`, path);
}

/** Read and check the manifest of a complete output directory. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new DatasetFormatError("no manifest.json: not a complete tokpack pack output", { file: dir });
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, "utf8")) as Manifest;
  } catch (e) {
    throw new DatasetFormatError(`manifest is not valid JSON: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  if (m.format !== "tokpack-packed/1") throw new DatasetFormatError(`unknown manifest format ${JSON.stringify(m.format)}`, { file: path, field: "format" });
  return m;
}
