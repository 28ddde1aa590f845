/**
 * A chunk of encoded documents in ONE `ArrayBuffer`, so a worker hands it back with a single transfer
 * (no structured clone of number arrays) and the packer reads ids as views into it (no copy):
 *
 * | u32 × 4 | u32 × (n + 1) | u32 × T | u8 × n | u8 × T (when masked) |
 * |---|---|---|---|---|
 * | n, T, flags (bit 0: masks present), UTF-16 chars of input | offsets into ids | ids | present (0: document encoded to nothing, e.g. `text: null`) | loss masks |
 */
import type { TokenizedDoc } from "../../packers/index.js";
import { encodeDocument, type ChatTemplate, type EncodeDocumentOptions, type SftDocument } from "../sft/index.js";
import type { Tokenizer } from "../tokenizers/types.js";

const HEADER_WORDS = 4;

/** Decoded view of an encoded chunk. */
export interface EncodedChunk {
  /** Number of input documents. */
  count: number;
  /** UTF-16 code units of input text (for throughput reporting). */
  chars: number;
  /** `docs[i]` is undefined where document i encoded to nothing. Ids/masks view `buffer`. */
  docs: (TokenizedDoc | undefined)[];
  buffer: ArrayBuffer;
}

function docChars(d: SftDocument): number {
  let n = (d.text?.length ?? 0) + (d.prompt?.length ?? 0) + (d.completion?.length ?? 0);
  if (d.messages) for (const m of d.messages) n += m.content.length;
  return n;
}

/**
 * Encode `docs` with {@link encodeDocument} and pack the results into one buffer. The same function
 * runs on worker threads and on the calling thread, so both produce identical bytes.
 */
export function encodeChunk(tokenizer: Tokenizer, docs: readonly SftDocument[], options: EncodeDocumentOptions): ArrayBuffer {
  const n = docs.length;
  const encoded: (TokenizedDoc | undefined)[] = new Array(n);
  let total = 0;
  let masked = false;
  let chars = 0;
  for (let i = 0; i < n; i++) {
    const d = docs[i]!;
    chars += docChars(d);
    const e = encodeDocument(tokenizer, d, options);
    encoded[i] = e;
    if (e !== undefined) {
      total += e.ids.length;
      if (e.lossMask !== undefined) masked = true;
    }
  }
  const idsStart = 4 * (HEADER_WORDS + n + 1);
  const presentStart = idsStart + 4 * total;
  const masksStart = presentStart + n;
  const buffer = new ArrayBuffer(masksStart + (masked ? total : 0));
  const head = new Uint32Array(buffer, 0, HEADER_WORDS + n + 1);
  head[0] = n;
  head[1] = total;
  head[2] = masked ? 1 : 0;
  head[3] = chars;
  const ids = new Uint32Array(buffer, idsStart, total);
  const present = new Uint8Array(buffer, presentStart, n);
  const masks = masked ? new Uint8Array(buffer, masksStart, total) : undefined;
  let off = 0;
  for (let i = 0; i < n; i++) {
    head[HEADER_WORDS + i] = off;
    const e = encoded[i];
    if (e === undefined) continue;
    present[i] = 1;
    ids.set(e.ids, off);
    if (masks !== undefined) {
      if (e.lossMask !== undefined) masks.set(e.lossMask, off);
      else masks.fill(1, off, off + e.ids.length);
    }
    off += e.ids.length;
  }
  head[HEADER_WORDS + n] = off;
  return buffer;
}

/** Views over a buffer from {@link encodeChunk}. */
export function decodeChunk(buffer: ArrayBuffer): EncodedChunk {
  const top = new Uint32Array(buffer, 0, HEADER_WORDS);
  const n = top[0]!;
  const total = top[1]!;
  const masked = (top[2]! & 1) === 1;
  const offsets = new Uint32Array(buffer, 4 * HEADER_WORDS, n + 1);
  const idsStart = 4 * (HEADER_WORDS + n + 1);
  const ids = new Uint32Array(buffer, idsStart, total);
  const present = new Uint8Array(buffer, idsStart + 4 * total, n);
  const masks = masked ? new Uint8Array(buffer, idsStart + 4 * total + n, total) : undefined;
  const docs: (TokenizedDoc | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (present[i] === 0) continue;
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    docs[i] = masks === undefined ? { ids: ids.subarray(a, b) } : { ids: ids.subarray(a, b), lossMask: masks.subarray(a, b) };
  }
  return { count: n, chars: top[3]!, docs, buffer };
}

/**
 * A chat template that can cross a thread boundary: a built-in name, Jinja source, or a
 * `tokenizer_config.json` path. Each worker compiles it once.
 */
export type TemplateSpec =
  | "chatml"
  | "llama3"
  | { name?: string; source: string; bosToken?: string; eosToken?: string; endOfTurn?: string }
  | { config: string; name?: string };

/** Everything a worker needs to encode documents: plain data only. */
export interface EncodeSpec {
  /** Tokenizer spec for `loadTokenizer`. */
  tokenizer: string;
  /** Chat template for `messages` documents. */
  template?: TemplateSpec;
  /** Options of `encodeDocument` other than the template. */
  encode?: Omit<EncodeDocumentOptions, "template">;
}

/** Resolve a template spec (lazily imported by callers that have one). */
export async function resolveTemplate(spec: TemplateSpec): Promise<ChatTemplate> {
  const sft = await import("../sft/index.js");
  if (spec === "chatml" || spec === "llama3") return sft.builtinTemplate(spec);
  if ("config" in spec) return sft.templateFromConfig(spec.config, spec.name ?? "default");
  return sft.chatTemplate(spec.name ?? "custom", spec.source, spec);
}
