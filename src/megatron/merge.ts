/**
 * `mergeDatasets`: join per-rank `tokpack pack` outputs into one Megatron indexed dataset, in the
 * order given (ranks in rank order when a directory holds `rank-R-of-W/` folders). The result holds
 * the same bytes as one run that read the documents in that order. Packed rows are not merged: each
 * rank's rows were packed from its own documents.
 */
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatasetFormatError } from "../errors.js";
import { AppendFile } from "./append-file.js";
import { openIndexedDataset, writeIdx } from "./indexed.js";
import { MANIFEST_FILE, readManifest, writeManifest, type Manifest, type ManifestCounts } from "./manifest.js";

/** The complete pack outputs `dir` stands for: itself, or its `rank-*` folders in rank order. */
export function expandOutputs(dir: string): string[] {
  if (existsSync(join(dir, MANIFEST_FILE))) return [dir];
  const ranks = existsSync(dir) && statSync(dir).isDirectory()
    ? readdirSync(dir).filter((n) => /^rank-\d+-of-\d+$/.test(n)).map((n) => ({ n, r: Number(/^rank-(\d+)/.exec(n)![1]) })).sort((a, b) => a.r - b.r).map((x) => join(dir, x.n))
    : [];
  if (ranks.length === 0) throw new DatasetFormatError("not a complete tokpack pack output (no manifest.json and no rank-R-of-W folders)", { file: dir });
  return ranks;
}

/** Options of {@link mergeDatasets}. */
export interface MergeOptions {
  /** Output directory. */
  out: string;
  /** File prefix of the merged dataset. @default "data" */
  prefix?: string;
  /** Version recorded in the manifest. @default "unknown" */
  version?: string;
}

/** Merge the outputs in `inputs` (see {@link expandOutputs}) into `options.out`. */
export async function mergeDatasets(inputs: readonly string[], options: MergeOptions): Promise<Manifest> {
  const dirs = inputs.flatMap(expandOutputs);
  const manifests = dirs.map(readManifest);
  const first = manifests[0];
  if (first === undefined) throw new DatasetFormatError("nothing to merge");
  manifests.forEach((m, i) => {
    if (m.tokenizer.vocabSha256 !== first.tokenizer.vocabSha256) throw new DatasetFormatError(`tokenizer differs from ${dirs[0]}'s (${m.tokenizer.spec} vs ${first.tokenizer.spec})`, { file: dirs[i] });
    if (m.indexed.dtype !== first.indexed.dtype) throw new DatasetFormatError(`dtype ${m.indexed.dtype} differs from ${first.indexed.dtype}`, { file: dirs[i] });
  });
  const out = options.out;
  const prefix = join(out, options.prefix ?? "data");
  mkdirSync(out, { recursive: true });
  if (existsSync(join(out, MANIFEST_FILE))) throw new DatasetFormatError("already holds a complete output; choose another --out", { file: out });
  const bin = new AppendFile(`${prefix}.bin.tmp`);
  const lens = new AppendFile(`${prefix}.lens.tmp`);
  let sequences = 0;
  for (let i = 0; i < dirs.length; i++) {
    const p = join(dirs[i]!, manifests[i]!.indexed.prefix);
    const ds = openIndexedDataset(p);
    ds.close();
    lens.write(new Uint8Array(ds.lengths.buffer, ds.lengths.byteOffset, ds.lengths.byteLength));
    sequences += ds.length;
    for await (const chunk of createReadStream(`${p}.bin`, { highWaterMark: 1 << 20 })) bin.write(chunk as Buffer);
  }
  bin.close();
  lens.close();
  writeIdx(`${prefix}.idx.tmp`, `${prefix}.lens.tmp`, sequences, first.indexed.dtype);
  renameSync(`${prefix}.bin.tmp`, `${prefix}.bin`);
  renameSync(`${prefix}.idx.tmp`, `${prefix}.idx`);
  rmSync(`${prefix}.lens.tmp`, { force: true });
  const counts: ManifestCounts = { documents: 0, tokens: 0, rows: 0, batches: 0, padding: 0, truncated: 0, dropped: 0, skippedNull: 0 };
  for (const m of manifests) for (const k of Object.keys(counts) as (keyof ManifestCounts)[]) counts[k] += m.counts[k];
  const { rows: _rows, ...base } = first;
  const manifest: Manifest = {
    ...base,
    tokpackVersion: options.version ?? first.tokpackVersion,
    rank: 0,
    worldSize: 1,
    indexed: { ...first.indexed, prefix: options.prefix ?? "data" },
    counts,
    mergedFrom: dirs,
  };
  writeManifest(out, manifest);
  return manifest;
}
