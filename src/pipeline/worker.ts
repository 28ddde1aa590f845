/**
 * Worker-thread entry of the tokenize pool (tinypool loads the compiled `dist/src/pipeline/worker.js`).
 * Three kinds of task:
 * - `docs`: a chunk of documents the main thread read; the reply is the chunk's single buffer.
 * - `piece`: one loader piece (a parquet row group, a byte range of JSONL) that the worker reads
 *   itself, so reading and parsing also run in parallel; it comes back in parts (`parts.ts`), each a
 *   chunk buffer with its documents' locations, the reply being the last part plus the piece's
 *   loader counters.
 * - `share`: load a tokenizer and reply with its tables on SharedArrayBuffers, which the pool then
 *   sends with every task, so the other workers build nothing.
 * Tasks may carry spare chunk buffers the consumer is done with; chunks are written into them.
 * Buffers are moved, not copied. Errors come back as data (see `remote-error.ts`) so their class
 * and context survive.
 */
import type { MessagePort } from "node:worker_threads";
import Tinypool from "tinypool";
import { createLoader, type LoaderOptions, type LoaderState, type LoaderStats } from "../../loaders/index.js";
import { adoptSharedTokenizer, loadTokenizer } from "../tokenizers/load.js";
import type { SharedTokenizer } from "../tokenizers/types.js";
import { recycleChunkBuffer, type EncodeSpec } from "./chunk.js";
import { PartSender, type PiecePart, type PieceResult } from "./parts.js";
import { readDocs } from "./doc-bytes.js";
import { encoderFor } from "./encoder.js";
import { toRemoteError, type RemoteError } from "./remote-error.js";

/** A chunk of documents to encode. */
export interface EncodeTask {
  kind?: "docs";
  spec: EncodeSpec;
  /** The documents, written by a `DocWriter` (see `doc-bytes.ts`). */
  docs: ArrayBuffer;
  /** The main thread's tables for `spec.tokenizer`, when they can be shared (else the worker loads it). */
  tokenizer?: SharedTokenizer;
  /** Consumed chunk buffers (transferred) for this thread's next chunks: see `recycleChunkBuffer`. */
  spare?: ArrayBuffer[];
}

/** One loader piece to read and encode. */
export interface PieceTask {
  kind: "piece";
  spec: EncodeSpec;
  /** Loader options of the pipeline (cloneable ones only). */
  loader: Omit<LoaderOptions, "state" | "stopAtPiece">;
  /** Loader state at (or inside, after a resume) the piece. */
  state: LoaderState;
  /** The piece's index + 1. */
  stopAtPiece: number;
  /** As in {@link EncodeTask}. */
  tokenizer?: SharedTokenizer;
  /** As in {@link EncodeTask}. */
  spare?: ArrayBuffer[];
  /** Where parts of the piece go before the reply, and how many may be sent ahead (see `parts.ts`). */
  parts?: { port: MessagePort; credits: number; tokens: number };
}

/** Load a tokenizer here and hand its tables back for the other workers (see `Tokenizer.shareTables`). */
export interface ShareTask {
  kind: "share";
  tokenizer: string;
}

/** Reply to a {@link ShareTask}: undefined when the tokenizer's family does not share. */
export interface ShareResult {
  shared: SharedTokenizer | undefined;
}

/** A failed task's reply. */
export interface TaskFailure {
  error: RemoteError;
}

async function encodePiece(task: PieceTask): Promise<PieceResult> {
  const encode = await encoderFor(task.spec);
  // the plan of the first piece this thread read serves the rest (planning opens every file)
  const loader = createLoader({ ...task.loader, state: task.state, stopAtPiece: task.stopAtPiece, reusePlan: true });
  const sender = task.parts === undefined ? undefined : new PartSender(task.parts.port, task.parts.credits, recycleChunkBuffer);
  const partTokens = task.parts?.tokens ?? Infinity;
  // each document is encoded as it is read, so its text dies young (see ChunkBuilder)
  let chunk = encode.builder();
  let at: number[] = [];
  let file = "";
  let shard = -1;
  let atKind: PiecePart["atKind"] = "none";
  const part = (): PiecePart => ({ buffer: chunk.finish(), file, shard, at: Float64Array.from(at), atKind });
  try {
    for await (const { source, ...doc } of loader) {
      chunk.add(doc);
      file = source.file;
      shard = source.shard;
      if (source.line !== undefined) {
        atKind = "line";
        at.push(source.line);
      } else if (source.row !== undefined) {
        atKind = "row";
        at.push(source.row);
      } else at.push(-1);
      if (sender !== undefined && chunk.tokens >= partTokens) {
        const p = part();
        chunk = encode.builder();
        at = [];
        await sender.send(p);
      }
    }
    return { ...part(), stats: loader.stats(), parts: sender?.sent ?? 0 };
  } finally {
    chunk.abandon();
    sender?.close();
  }
}

/** Encode one chunk or piece; buffers are transferred back to the caller. */
export default async function runTask(task: EncodeTask | PieceTask | ShareTask): Promise<unknown> {
  try {
    if (task.kind === "share") {
      const result: ShareResult = { shared: (await loadTokenizer(task.tokenizer)).shareTables?.() };
      return result;
    }
    for (const b of task.spare ?? []) recycleChunkBuffer(b);
    if (task.tokenizer !== undefined) adoptSharedTokenizer(task.spec.tokenizer, task.tokenizer);
    if (task.kind === "piece") {
      const r = await encodePiece(task);
      // a result object whose two buffers are moved: tinypool's transferable wrapper
      return Tinypool.move({ [Tinypool.transferableSymbol]: [r.buffer, r.at.buffer], [Tinypool.valueSymbol]: r } as unknown as Parameters<typeof Tinypool.move>[0]);
    }
    // each document is read from the buffer as it is encoded, so its text dies young
    return Tinypool.move((await encoderFor(task.spec))(readDocs(task.docs)));
  } catch (err) {
    const failure: TaskFailure = { error: toRemoteError(err) };
    return failure;
  }
}
