/**
 * `packToDisk`: run a pipeline and write its documents as a Megatron indexed dataset, its batches as
 * `.npy` packed rows, and a `manifest.json` — crash-safe and resumable:
 * - every output is written under a temporary name (`*.tmp`) and renamed when complete; the manifest
 *   is written last, so a directory with a `manifest.json` is complete;
 * - every `checkpointMs` the outputs are fsynced and a checkpoint records their sizes and the
 *   pipeline state; `resume: true` truncates the temporary files back to the checkpoint and continues,
 *   reaching the same final bytes as an uninterrupted run. The first checkpoint waits until the
 *   inputs' sha256 (which it records) are read, alongside the run; a run killed before it starts over.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { resolveSources, type Format } from "../../loaders/index.js";
import { DatasetFormatError } from "../errors.js";
import { createPipeline, type PipelineOptions } from "../pipeline/index.js";
import { loadTokenizer } from "../tokenizers/load.js";
import { readCheckpoint, removeCheckpoint, writeCheckpoint, type PackCheckpoint } from "./checkpoint.js";
import { DTYPE_CODES, dtypeForVocab } from "./dtype.js";
import { completeIndexed, IndexedDatasetWriter } from "./indexed.js";
import { MANIFEST_FILE, placeManifest, sha256File, stageManifest, vocabSha256, writeManifest, type Manifest, type ManifestCounts, type ManifestSource } from "./manifest.js";
import { completeRows, PackedRowsWriter, ROW_FILES } from "./packed.js";

/** Progress numbers passed to {@link PackToDiskOptions.onProgress}. */
export interface PackProgress {
  documents: number;
  tokens: number;
  rows: number;
  /** UTF-16 code units of input text encoded in this process. */
  inputChars: number;
  /** Bytes of all local inputs (0 when unknown). */
  inputBytes: number;
  elapsedMs: number;
  done: boolean;
}

/** Options of {@link packToDisk}. */
export interface PackToDiskOptions extends Omit<PipelineOptions, "tokenizer" | "state" | "onDocument"> {
  /** Tokenizer spec (built-in name or file). */
  tokenizer: string;
  /** Output directory (created). */
  out: string;
  /** File prefix of the indexed dataset inside `out`. @default "data" */
  prefix?: string;
  /** Continue an interrupted run in `out` (a complete `out` is left as it is). @default false */
  resume?: boolean;
  /** Milliseconds between checkpoints. @default 2000 */
  checkpointMs?: number;
  /** The package version recorded in the manifest. @default "unknown" */
  version?: string;
  /** Called about every `progressMs` and once at the end. */
  onProgress?: (p: PackProgress) => void;
  /** @default 500 */
  progressMs?: number;
}

/** What {@link packToDisk} did. */
export interface PackResult {
  manifest: Manifest;
  /** True when `out` was already complete and nothing was written. */
  alreadyComplete: boolean;
  /** True when an interrupted run was continued. */
  resumed: boolean;
}

/**
 * The inputs with their sizes, and a promise of the same with each local file's sha256 (reading it
 * whole: ~0.14 s per 163 MB here, over a minute for 100 GB), so a fresh run need not wait for it.
 */
async function describeSources(sources: string | readonly string[], format: Format | undefined): Promise<{ sized: ManifestSource[]; hashed: Promise<ManifestSource[]> }> {
  const files = await resolveSources(typeof sources === "string" ? [sources] : sources, format !== undefined ? { format } : {});
  const sized: ManifestSource[] = files.map((f) => (existsSync(f.name) && statSync(f.name).isFile() ? { path: f.name, bytes: statSync(f.name).size } : { path: f.name }));
  const hashed = (async () => {
    const out: ManifestSource[] = [];
    for (const s of sized) out.push(s.bytes !== undefined ? { ...s, sha256: await sha256File(s.path) } : s);
    return out;
  })();
  hashed.catch(() => undefined); // awaited later; a failure surfaces there
  return { sized, hashed };
}

function zeroCounts(): ManifestCounts {
  return { documents: 0, tokens: 0, rows: 0, batches: 0, padding: 0, truncated: 0, dropped: 0, skippedNull: 0 };
}

/** Pack `sources` into `out` (see the module comment for the layout and crash safety). */
export async function packToDisk(options: PackToDiskOptions): Promise<PackResult> {
  const { out } = options;
  const createdOut = !existsSync(out);
  mkdirSync(out, { recursive: true });
  try {
    return await packInto(options);
  } catch (e) {
    // a run that failed before writing anything (say, a wrong --field) leaves no directory it made
    if (createdOut && existsSync(out) && readdirSync(out).length === 0) rmdirSync(out);
    throw e;
  }
}

async function packInto(options: PackToDiskOptions): Promise<PackResult> {
  const { out, resume = false, checkpointMs = 2000, progressMs = 500, onProgress, version = "unknown", ...rest } = options;
  const prefix = options.prefix ?? "data";
  const existing = readCheckpoint(out);
  if (existsSync(join(out, MANIFEST_FILE)) && existing === undefined) {
    if (resume) {
      const { readManifest } = await import("./manifest.js");
      return { manifest: readManifest(out), alreadyComplete: true, resumed: false };
    }
    throw new DatasetFormatError("already holds a complete tokpack output; choose another --out (or --resume to keep it)", { file: out });
  }
  if (existing !== undefined && !resume) throw new DatasetFormatError("holds an interrupted run; continue it with --resume, or remove the directory", { file: out });

  const runOptions = JSON.stringify({ ...rest, prefix, onProgress: undefined, workers: undefined, prefetch: undefined });
  const { sized, hashed } = await describeSources(options.sources, options.loader?.format);
  // the inputs' checksums, once read (a resumed run waits for them: they must match the checkpoint's)
  let sources: ManifestSource[] | undefined;
  void hashed.then((h) => (sources = h), () => undefined);
  let cp = existing;
  if (cp !== undefined) {
    if (cp.options !== runOptions) throw new DatasetFormatError("cannot resume: this run's options differ from the interrupted run's", { file: join(out, ".tokpack-checkpoint.json") });
    if (JSON.stringify(cp.sources) !== JSON.stringify(await hashed)) throw new DatasetFormatError("cannot resume: the inputs changed since the interrupted run (size or sha256)", { file: out });
    if (cp.finishing !== undefined) {
      completeIndexed(join(out, prefix), cp.finishing.indexed.dtype, cp.indexed);
      completeRows(out, options.seqLen, cp.rows);
      writeManifest(out, cp.finishing);
      removeCheckpoint(out);
      return { manifest: cp.finishing, alreadyComplete: false, resumed: true };
    }
  }

  const tokenizer = await loadTokenizer(options.tokenizer);
  const dtype = dtypeForVocab(tokenizer.vocabSize);
  const indexed = new IndexedDatasetWriter(join(out, prefix), dtype, cp?.indexed);
  const rows = new PackedRowsWriter(out, options.seqLen, cp?.rows);
  const counts = cp?.counts ?? zeroCounts();
  const docsOnDisk = indexed.position.sequences;
  const inputBytes = sized.reduce((s, x) => s + (x.bytes ?? 0), 0);
  const pipeline = createPipeline({
    ...rest,
    tokenizer, // the instance: workers get its tables instead of loading their own
    ...(cp !== undefined ? { state: cp.pipeline } : {}),
    onDocument: (doc, index) => {
      if (index < docsOnDisk) return; // defensive: a resumed pipeline does not replay documents, so this stays false
      indexed.append(doc.ids);
    },
  });
  const started = Date.now();
  let lastCheckpoint = started;
  let lastProgress = started;
  /**
   * Writes a checkpoint, unless the inputs' checksums are not read yet (it records them): a fresh run
   * killed before its first checkpoint starts over, which is all a checkpoint-less directory allows.
   */
  const checkpoint = (): boolean => {
    if (sources === undefined) return false;
    indexed.sync();
    rows.sync();
    const c: PackCheckpoint = { v: 1, options: runOptions, sources, pipeline: pipeline.state(), indexed: indexed.position, rows: rows.position, counts: { ...counts } };
    writeCheckpoint(out, c);
    return true;
  };
  const progress = (done: boolean): void => {
    onProgress?.({ documents: indexed.position.sequences, tokens: indexed.position.tokens, rows: counts.rows, inputChars: pipeline.inputChars, inputBytes, elapsedMs: Date.now() - started, done });
  };
  try {
    for await (const batch of pipeline) {
      rows.append(batch); // copied out to the files: the buffer can be reused
      const s = batch.stats;
      counts.rows += s.rows;
      counts.batches++;
      counts.padding += s.paddingTokens;
      counts.truncated += s.truncatedTokens;
      counts.dropped += s.droppedTokens;
      pipeline.release(batch);
      const now = Date.now();
      if (now - lastCheckpoint >= checkpointMs && checkpoint()) lastCheckpoint = now;
      if (onProgress !== undefined && now - lastProgress >= progressMs) {
        progress(false);
        lastProgress = now;
      }
    }
  } catch (e) {
    if (cp === undefined && indexed.position.sequences === 0 && counts.rows === 0) {
      // nothing reached the files (a wrong field, a bad first record): an interrupted run left here
      // would only make the corrected command refuse to start
      indexed.discard();
      rows.discard();
      removeCheckpoint(out);
    } else {
      indexed.abandon();
      rows.abandon();
    }
    throw e;
  }
  if (sources === undefined) sources = await hashed;
  counts.documents = indexed.position.sequences;
  counts.tokens = indexed.position.tokens;
  counts.skippedNull = pipeline.loaderStats().skippedNull;
  const manifest: Manifest = {
    format: "tokpack-packed/1",
    tokpackVersion: version,
    tokenizer: {
      spec: options.tokenizer,
      vocabSize: tokenizer.vocabSize,
      vocabSha256: vocabSha256(tokenizer),
      ...(existsSync(options.tokenizer) ? { fileSha256: await sha256File(options.tokenizer) } : {}),
    },
    seqLen: options.seqLen,
    batchSize: options.batchSize,
    packing: options.packing ?? "bfd",
    ...(options.template !== undefined ? { chat: typeof options.template === "string" ? options.template : JSON.stringify(options.template) } : {}),
    loader: { ...options.loader, pack: options.pack ?? {}, encode: options.encode ?? {} },
    sources,
    rank: options.loader?.rank ?? 0,
    worldSize: options.loader?.worldSize ?? 1,
    indexed: { prefix, dtype, dtypeCode: DTYPE_CODES[dtype] },
    rows: { files: Object.fromEntries(ROW_FILES.map((f) => [`${f}.npy`, { dtype: "<i4", shape: [counts.rows, options.seqLen] }]).concat([["batches.npy", { dtype: "<i8", shape: [counts.batches, 4] }]])) },
    counts: { ...counts },
  };
  // Every byte is written under a temporary name first (the .idx, the .npy headers, the manifest),
  // so the final names then appear in one run of renames, the manifest's last: the time in which a
  // kill leaves final names without a manifest is that of a few renames. Marked "finishing" before
  // the renames: a kill during them resumes by completing them and placing the manifest only.
  indexed.sync();
  rows.sync();
  indexed.seal();
  rows.seal();
  writeCheckpoint(out, { v: 1, options: runOptions, sources, pipeline: pipeline.state(), indexed: indexed.position, rows: rows.position, counts, finishing: manifest });
  stageManifest(out, manifest);
  indexed.publish();
  rows.publish();
  placeManifest(out);
  removeCheckpoint(out);
  progress(true);
  return { manifest, alreadyComplete: false, resumed: cp !== undefined };
}
