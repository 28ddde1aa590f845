/**
 * The tokenize pool: tinypool worker threads running `worker.ts`, one chunk of documents per task.
 * Workers load the compiled module: beside this file when it runs from `dist/`, else (when this file
 * is imported as TypeScript, e.g. under vitest) from `dist/src/pipeline/worker.js` in the package root —
 * so `npm run build` must have run.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import Tinypool from "tinypool";
import { PipelineError } from "../errors.js";
import type { SharedTokenizer } from "../tokenizers/types.js";
import type { EncodeSpec } from "./chunk.js";
import { fromRemoteError } from "./remote-error.js";
import type { PieceResult } from "./parts.js";
import type { EncodeTask, PieceTask, ShareResult, ShareTask, TaskFailure } from "./worker.js";

function unwrap<T>(r: T | TaskFailure): T {
  if (r !== null && typeof r === "object" && "error" in r) throw fromRemoteError(r.error);
  return r as T;
}

/** The compiled worker module, or a `PipelineError` saying to build first. */
export function workerFile(): string {
  const candidates = [new URL("./worker.js", import.meta.url), new URL("../../dist/src/pipeline/worker.js", import.meta.url)];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(p)) return p;
  }
  throw new PipelineError(`worker module not found (looked for ${candidates.map((c) => fileURLToPath(c)).join(", ")}); run "npm run build" first`);
}

/**
 * Young-generation cap per worker. A worker's garbage is short-lived (each document's text dies once
 * encoded), so V8's default young generation (up to ~48 MB per isolate) only adds RSS: with 8 MB,
 * peak RSS of 2 workers on 100k documents went 432–459 → 343–372 MB at the same speed (bench:pipeline).
 */
const WORKER_YOUNG_GENERATION_MB = 8;

/** Default worker count: the cores this process may use. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/** A pool of tokenizer threads. Results come back as single transferred buffers (see `chunk.ts`). */
export class TokenizePool {
  readonly threads: number;
  private readonly pool: Tinypool;
  private shared: { tokenizer?: SharedTokenizer } = {};

  /** @param threads worker threads @default os.availableParallelism() */
  constructor(threads: number = defaultWorkers()) {
    if (!Number.isInteger(threads) || threads < 1) throw new PipelineError(`workers must be a positive integer, got ${String(threads)}`, { field: "workers" });
    this.threads = threads;
    this.pool = new Tinypool({ filename: workerFile(), minThreads: threads, maxThreads: threads, isolateWorkers: false, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  }

  /**
   * Tables every later task's tokenizer is built on (see `Tokenizer.shareTables`); without them each
   * worker loads the spec's tokenizer itself.
   */
  shareTokenizer(tokenizer: SharedTokenizer | undefined): void {
    this.shared = tokenizer === undefined ? {} : { tokenizer };
  }

  /**
   * Has one worker load `spec` and share its tables with the others (they then build nothing).
   * Loading there rather than here keeps the load's garbage (a tokenizer.json's parsed JSON) out of
   * this thread's heap. Families that do not share are left for each worker to load.
   */
  async shareTokenizerLoadedBy(spec: string): Promise<void> {
    const task: ShareTask = { kind: "share", tokenizer: spec };
    this.shareTokenizer(unwrap((await this.pool.run(task)) as ShareResult | TaskFailure).shared);
  }

  /**
   * Encode one chunk of documents (a `DocWriter` buffer, moved) on some worker; `spare` chunk buffers
   * are moved there for its next chunks.
   */
  async encode(spec: EncodeSpec, docs: ArrayBuffer, spare: ArrayBuffer[] = []): Promise<ArrayBuffer> {
    const task: EncodeTask = { spec, docs, ...this.shared, spare };
    return unwrap((await this.pool.run(task, { transferList: [docs, ...spare] })) as ArrayBuffer | TaskFailure);
  }

  /** Read and encode one loader piece on some worker; `task.spare` buffers and the parts port are moved there. */
  async encodePiece(task: PieceTask): Promise<PieceResult> {
    const transferList = [...(task.spare ?? []), ...(task.parts !== undefined ? [task.parts.port] : [])];
    return unwrap((await this.pool.run({ ...task, ...this.shared }, { transferList })) as PieceResult | TaskFailure);
  }

  /** Stop the threads. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
