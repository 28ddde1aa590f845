/**
 * The resume checkpoint of `tokpack pack`: where each output stood the last time everything was
 * durable. Written atomically (temporary name, fsync, rename), so a kill leaves the previous one.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DatasetFormatError } from "../errors.js";
import type { PipelineState } from "../pipeline/index.js";
import type { IndexedWriterPosition } from "./indexed.js";
import type { Manifest, ManifestCounts, ManifestSource } from "./manifest.js";
import type { PackedWriterPosition } from "./packed.js";

/** File name of the checkpoint inside an output directory. */
export const CHECKPOINT_FILE = ".tokpack-checkpoint.json";

/** What a checkpoint records. */
export interface PackCheckpoint {
  v: 1;
  /** The options of the run; a resume with other options is refused. */
  options: string;
  /** Inputs as they were when the run started; a resume over changed inputs is refused. */
  sources: ManifestSource[];
  pipeline: PipelineState;
  indexed: IndexedWriterPosition;
  rows: PackedWriterPosition;
  counts: ManifestCounts;
  /** Set once every output is complete and being renamed: a resume only writes this manifest. */
  finishing?: Manifest;
}

/** Atomically replace the checkpoint in `dir`. */
export function writeCheckpoint(dir: string, cp: PackCheckpoint): void {
  const path = join(dir, CHECKPOINT_FILE);
  const fd = openSync(`${path}.tmp`, "w");
  try {
    const data = Buffer.from(JSON.stringify(cp));
    writeSync(fd, data, 0, data.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.tmp`, path);
}

/** The checkpoint in `dir`, or undefined when there is none. */
export function readCheckpoint(dir: string): PackCheckpoint | undefined {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const cp = JSON.parse(readFileSync(path, "utf8")) as PackCheckpoint;
    if (cp.v !== 1) throw new Error(`version ${String(cp.v)}`);
    return cp;
  } catch (e) {
    throw new DatasetFormatError(`unreadable checkpoint (${(e as Error).message}); remove the output directory and start again`, { file: path }, { cause: e });
  }
}

/** Remove the checkpoint (the run is complete). */
export function removeCheckpoint(dir: string): void {
  rmSync(join(dir, CHECKPOINT_FILE), { force: true });
}
