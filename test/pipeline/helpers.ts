/** Shared helpers of the pipeline tests: small real inputs and batch fingerprints. */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PackedBatch } from "../../packers/index.js";
import type { PipelineOptions } from "../../src/pipeline/index.js";
import { sharedPath } from "../shared.js";

/** A temp dir for one test. */
export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `tokpack-${tag}-`));
}

/** The first `n` lines of a shared jsonl file, written to `dir/name`. */
export function subset(dir: string, name: string, rel: string[], n: number): string {
  const lines = readFileSync(sharedPath(...rel), "utf8").split("\n").filter((l) => l !== "").slice(0, n);
  const out = join(dir, name);
  writeFileSync(out, lines.join("\n") + "\n");
  return out;
}

/** Everything a batch carries, as one comparable string. */
export function fingerprint(b: PackedBatch): string {
  const h = createHash("sha256");
  for (const a of [b.inputIds, b.labels, b.positionIds, b.segmentIds, b.attentionMask, b.seqLens, b.cuSeqlens, b.rowSegments]) {
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    h.update("|");
  }
  const { fillRatio, docsPerRow, ...counts } = b.stats;
  return `${b.index}:${b.rows}:${b.seqLen}:${b.maxSeqlen}:${JSON.stringify(counts)}:${fillRatio.toFixed(9)}:${docsPerRow.toFixed(9)}:${h.digest("hex")}`;
}

/** Collect fingerprints of an async iterable of batches. */
export async function collect(it: AsyncIterable<PackedBatch>, limit = Infinity): Promise<string[]> {
  const out: string[] = [];
  for await (const b of it) {
    out.push(fingerprint(b));
    if (out.length >= limit) break;
  }
  return out;
}

/** Iterate `pipeline` until `cut` batches were delivered; their fingerprints and the JSON round-tripped state then. */
export async function cutAt<S>(pipeline: AsyncIterable<PackedBatch> & { state(): S }, cut: number): Promise<{ head: string[]; state: S }> {
  const head: string[] = [];
  if (cut > 0) {
    for await (const b of pipeline) {
      head.push(fingerprint(b));
      if (head.length === cut) break;
    }
  }
  return { head, state: JSON.parse(JSON.stringify(pipeline.state())) as S };
}

/**
 * The pipeline tests' common input: the first 600 gsm8k problems (written to `dir/gsm.jsonl`) as
 * "question, blank line, answer" documents, gpt2, 4 rows of 256 per batch, 32-document chunks.
 */
export function gsmPipeline(dir: string): PipelineOptions & { sources: [string] } {
  const gsm = subset(dir, "gsm.jsonl", ["data", "jsonl", "gsm8k", "train.jsonl"], 600);
  return { sources: [gsm], loader: { document: { template: "{question}\n\n{answer}" } }, tokenizer: "gpt2", seqLen: 256, batchSize: 4, chunkDocs: 32 };
}
