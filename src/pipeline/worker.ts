/**
 * Worker-thread entry of the tokenize pool (tinypool loads the compiled `dist/src/pipeline/worker.js`).
 * One task = one chunk of documents; the reply is the chunk's single buffer, moved, not copied.
 */
import Tinypool from "tinypool";
import type { SftDocument } from "../sft/index.js";
import type { EncodeSpec } from "./chunk.js";
import { encoderFor } from "./encoder.js";

/** A chunk of documents to encode. */
export interface EncodeTask {
  spec: EncodeSpec;
  docs: SftDocument[];
}

/** Encode one chunk; the buffer is transferred back to the caller. */
export default async function encodeTask(task: EncodeTask): Promise<unknown> {
  const encode = await encoderFor(task.spec);
  return Tinypool.move(encode(task.docs));
}
